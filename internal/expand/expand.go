// Package expand is the reference syntax of secrets that opt in to it
// (issue 21): ${NAME} is replaced by the value of the secret NAME as the
// job resolves it.
//
// The syntax, all of it: ${NAME}, where NAME follows the variable-name
// rule [A-Za-z_][A-Za-z0-9_]*, is a reference; $${ is a literal ${;
// anything else is literal, byte for byte: $NAME, a lone $, ${ without
// its }, ${1X} (not a name), ${NAME:-default}. There are no defaults and
// no shell features, so a value that merely contains $ means what it
// says, and a reference that cannot be resolved is an error, never an
// empty string.
//
// Names are compared exactly (case-sensitively), as a job's environment
// compares them.
//
// It is written by hand because it is the product: no library implements
// exactly this syntax with its errors and bounds.
package expand

import (
	"fmt"
	"slices"
	"strings"
)

// MaxDepth bounds how deep references may nest: a value that references
// one that references another, and so on.
const MaxDepth = 8

// Refs returns the names that value references, each once, in the order
// of their first reference.
func Refs(value string) []string {
	var out []string
	seen := map[string]bool{}
	scan(value, func(lit string) {}, func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	})
	return out
}

// scan splits value into literal pieces and references, in order.
func scan(value string, lit func(string), ref func(string)) {
	start := 0
	for i := 0; i < len(value); {
		if value[i] != '$' {
			i++
			continue
		}
		switch {
		case strings.HasPrefix(value[i:], "$${"):
			lit(value[start:i])
			lit("${")
			i += 3
			start = i
		case strings.HasPrefix(value[i:], "${"):
			end := strings.IndexByte(value[i+2:], '}')
			if end < 0 || !validName(value[i+2:i+2+end]) {
				i++ // literal
				continue
			}
			lit(value[start:i])
			ref(value[i+2 : i+2+end])
			i += 2 + end + 1
			start = i
		default:
			i++
		}
	}
	lit(value[start:])
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// A Secret is what the expander needs of one secret of the job.
type Secret struct {
	Value  string
	Expand bool // the secret opted in: its references are expanded
}

// An UnknownError is a reference to a name the job does not get.
type UnknownError struct{ Name, Ref string }

func (e *UnknownError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("the job does not get %s", e.Ref)
	}
	return fmt.Sprintf("%s references ${%s}, which the job does not get", e.Name, e.Ref)
}

// A CycleError is a chain of references that comes back to its start.
type CycleError struct{ Chain []string }

func (e *CycleError) Error() string {
	return "references form a cycle: " + strings.Join(e.Chain, " → ")
}

// A DepthError is a chain of references deeper than MaxDepth.
type DepthError struct{ Chain []string }

func (e *DepthError) Error() string {
	return fmt.Sprintf("references nest deeper than %d: %s", MaxDepth, strings.Join(e.Chain, " → "))
}

// A SizeError is an expanded value over the limit.
type SizeError struct {
	Name  string
	Limit int
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s would expand to more than %d bytes", e.Name, e.Limit)
}

// An Expander expands the secrets of one job, each at most once.
type Expander struct {
	secrets map[string]Secret
	limit   int
	done    map[string]string
	// deepest is, for each name in done, its longest chain of expanded
	// secrets, itself first: a reference to it from deeper down must
	// still count that chain against MaxDepth.
	deepest map[string][]string
	used    map[string]bool
}

// New returns an Expander over a job's secrets, by name. limit bounds
// every expanded value, in bytes.
func New(secrets map[string]Secret, limit int) *Expander {
	return &Expander{secrets: secrets, limit: limit, done: map[string]string{}, deepest: map[string][]string{}, used: map[string]bool{}}
}

// Value returns the value the job gets for name: its raw value, or, if it
// opted in, its expansion. Errors name secrets, never values.
func (x *Expander) Value(name string) (string, error) {
	return x.value(name, nil)
}

// Ingredients returns the names whose values went into expansions so far,
// sorted, without the expanded secrets themselves unless they were also
// referenced.
func (x *Expander) Ingredients() []string {
	var out []string
	for n := range x.used {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (x *Expander) value(name string, chain []string) (string, error) {
	s, ok := x.secrets[name]
	if !ok {
		e := &UnknownError{Ref: name}
		if len(chain) > 0 {
			e.Name = chain[len(chain)-1]
		}
		return "", e
	}
	if !s.Expand {
		return s.Value, nil
	}
	if v, ok := x.done[name]; ok {
		if d := x.deepest[name]; len(chain)+len(d) > MaxDepth {
			return "", &DepthError{Chain: append(append([]string{}, chain...), d...)}
		}
		return v, nil
	}
	for i, c := range chain {
		if c == name {
			return "", &CycleError{Chain: append(append([]string{}, chain[i:]...), name)}
		}
	}
	chain = append(chain, name)
	if len(chain) > MaxDepth {
		return "", &DepthError{Chain: append([]string{}, chain...)}
	}
	var b strings.Builder
	var err error
	var below []string // the deepest chain under name
	scan(s.Value, func(lit string) {
		if err == nil {
			if b.Len()+len(lit) > x.limit {
				err = &SizeError{Name: name, Limit: x.limit}
				return
			}
			b.WriteString(lit)
		}
	}, func(ref string) {
		if err != nil {
			return
		}
		var v string
		if v, err = x.value(ref, chain); err != nil {
			return
		}
		x.used[ref] = true
		if d := x.deepest[ref]; len(d) > len(below) {
			below = d
		}
		if b.Len()+len(v) > x.limit {
			err = &SizeError{Name: name, Limit: x.limit}
			return
		}
		b.WriteString(v)
	})
	if err != nil {
		return "", err
	}
	x.done[name] = b.String()
	x.deepest[name] = append([]string{name}, below...)
	return x.done[name], nil
}
