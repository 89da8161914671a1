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
	for i := 0; i < len(value); {
		l, r, next, _ := token(value, i)
		if r != "" {
			ref(r)
		} else {
			lit(l)
		}
		i = next
	}
}

// token returns the piece of value that starts at i, a literal or a
// reference (ref not ""), and where the next one starts. An escape ($${)
// is the literal "${", cut from the escape itself.
//
// It looks at each byte once (work counts them, for the tests): values
// are an editor's input, so a value full of "${" without its "}" must
// cost no more than its length. After "${" it reads name characters
// only, none of which is a '$', so a reference that turns out not to be
// one is skipped whole.
func token(value string, i int) (lit, ref string, next, work int) {
	for j := i; j < len(value); j++ {
		work++
		if value[j] != '$' {
			continue
		}
		switch {
		case strings.HasPrefix(value[j:], "$${"):
			if j > i {
				return value[i:j], "", j, work
			}
			return value[j+1 : j+3], "", j + 3, work
		case strings.HasPrefix(value[j:], "${"):
			end := j + 2
			for end < len(value) && nameByte(value[end]) {
				end++
			}
			work += end - j - 1
			// A name: at least one name byte, the first not a digit.
			if end == len(value) || value[end] != '}' || end == j+2 || '0' <= value[j+2] && value[j+2] <= '9' {
				j = end - 1 // literal: go on after the name characters
				continue
			}
			if j > i {
				return value[i:j], "", j, work
			}
			return "", value[j+2 : end], end + 1, work
		}
	}
	return value[i:], "", len(value), work
}

// nameByte tells the bytes a name may hold.
func nameByte(c byte) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// A Secret is what the expander needs of one secret of the job.
type Secret struct {
	Value  string
	Expand bool // the secret opted in: its references are expanded
	// Level is the secret's level for the job: 0 for the workspace's
	// own, higher for a farther parent. A reference from a value to a
	// secret of a nearer level (a lower Level) is a *NearerError unless
	// the Expander's AllowNearer is set.
	Level int
}

// A NearerError is a reference, in the value of the secret Name, to Ref,
// whose secret for the job is at a nearer level than Name's: a parent's
// value that would take a child's secret.
type NearerError struct{ Name, Ref string }

func (e *NearerError) Error() string {
	return fmt.Sprintf("%s references ${%s}, which a nearer level defines", e.Name, e.Ref)
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

// A TotalError is expansions over the Expander's total: Name is the
// secret whose expansion went over it.
type TotalError struct {
	Name  string
	Limit int
}

func (e *TotalError) Error() string {
	return fmt.Sprintf("expanding %s would take the expanded values over %d bytes in all", e.Name, e.Limit)
}

// An Expander expands the secrets of one job, each at most once, and
// keeps what it expanded: so it bounds the bytes of all of it together,
// besides each value, as values are an editor's input (many small values
// that each reference one large one would otherwise take gigabytes).
type Expander struct {
	lookup func(name string) (Secret, bool)
	limit  int
	total  int // the bound on made
	made   int // the bytes of the values expanded so far, in all
	done   map[string]result
	used   map[string]bool
	stack  []string // the chain being expanded
	levels []int    // the Level of each secret of stack
	// AllowNearer lets a value reference a secret of a nearer level
	// (see Secret.Level): the host trusts its parents' editors with
	// their children's secrets.
	AllowNearer bool
}

// result is an expanded value, with the depth of its longest chain of
// expanded secrets (itself included) and the reference that chain goes
// through: a reference to it from deeper down still counts that chain
// against MaxDepth, and an error can name it.
type result struct {
	value string
	depth int
	next  string
}

// New returns an Expander over a job's secrets, by name. limit bounds
// every expanded value, in bytes (a *SizeError past it); total bounds the
// expanded values together, every secret's expansion counted once,
// including those expanded only because another references them (a
// *TotalError past it). Whatever the values, the Expander holds at most
// about total bytes of expansions and one value being built.
func New(secrets map[string]Secret, limit, total int) *Expander {
	return NewFunc(func(name string) (Secret, bool) { s, ok := secrets[name]; return s, ok }, limit, total, len(secrets))
}

// NewFunc is New over a function that finds a secret of the job by name
// (a binary search of a sorted environment, say, which spares building a
// map for each job). hint is about how many secrets opt in.
func NewFunc(lookup func(name string) (Secret, bool), limit, total, hint int) *Expander {
	return &Expander{lookup: lookup, limit: limit, total: total, done: make(map[string]result, hint), used: make(map[string]bool, 2*hint)}
}

// Value returns the value the job gets for name: its raw value, or, if it
// opted in, its expansion. Errors name secrets, never values.
func (x *Expander) Value(name string) (string, error) {
	v, _, err := x.value(name)
	return v, err
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

// Used reports whether name's value went into an expansion so far.
func (x *Expander) Used(name string) bool { return x.used[name] }

// below is the chain of expanded secrets under name, name first.
func (x *Expander) below(name string) []string {
	var out []string
	for name != "" {
		out = append(out, name)
		name = x.done[name].next
	}
	return out
}

// value is Value with the depth of name's longest chain of expanded
// secrets (0 for a raw value).
func (x *Expander) value(name string) (string, int, error) {
	s, ok := x.lookup(name)
	if !ok {
		e := &UnknownError{Ref: name}
		if len(x.stack) > 0 {
			e.Name = x.stack[len(x.stack)-1]
		}
		return "", 0, e
	}
	// Checked for each reference, by the level of the value that holds
	// it, before anything (a value expanded already included).
	if n := len(x.stack); n > 0 && !x.AllowNearer && s.Level < x.levels[n-1] {
		return "", 0, &NearerError{Name: x.stack[n-1], Ref: name}
	}
	if !s.Expand {
		return s.Value, 0, nil
	}
	if r, ok := x.done[name]; ok {
		if len(x.stack)+r.depth > MaxDepth {
			return "", 0, &DepthError{Chain: append(slices.Clone(x.stack), x.below(name)...)}
		}
		return r.value, r.depth, nil
	}
	for i, c := range x.stack {
		if c == name {
			return "", 0, &CycleError{Chain: append(slices.Clone(x.stack[i:]), name)}
		}
	}
	if len(x.stack)+1 > MaxDepth {
		return "", 0, &DepthError{Chain: append(slices.Clone(x.stack), name)}
	}
	x.stack, x.levels = append(x.stack, name), append(x.levels, s.Level)
	defer func() { x.stack, x.levels = x.stack[:len(x.stack)-1], x.levels[:len(x.levels)-1] }()
	// The pieces first, then the value built at its exact size: one
	// allocation per expanded value.
	var buf [16]string
	pieces, size := buf[:0], 0
	r := result{depth: 1}
	for i := 0; i < len(s.Value); {
		lit, ref, next, _ := token(s.Value, i)
		i = next
		if ref != "" {
			v, d, err := x.value(ref)
			if err != nil {
				return "", 0, err
			}
			x.used[ref] = true
			if d+1 > r.depth {
				r.depth, r.next = d+1, ref
			}
			lit = v
		}
		if size += len(lit); size > x.limit {
			return "", 0, &SizeError{Name: name, Limit: x.limit}
		}
		if size > x.total-x.made {
			return "", 0, &TotalError{Name: name, Limit: x.total}
		}
		if lit != "" {
			pieces = append(pieces, lit)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, p := range pieces {
		b.WriteString(p)
	}
	r.value = b.String()
	x.made += size
	x.done[name] = r
	return r.value, r.depth, nil
}
