package pgschema

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The errors of Compile and Query.Args. They name a parameter, never a
// value: a value may be a secret's ciphertext.
var (
	// ErrMissingParam: a statement names a parameter that Args was not given.
	ErrMissingParam = errors.New("pgschema: missing parameter")
	// ErrUnknownParam: Args was given a parameter the statement does not name.
	ErrUnknownParam = errors.New("pgschema: unknown parameter")
	// ErrSyntax: a statement Compile cannot rewrite (a positional $N, an
	// unterminated string, quoted identifier, comment or dollar quote).
	ErrSyntax = errors.New("pgschema: statement syntax")
)

// Params are a statement's arguments, by parameter name (without the
// colon).
type Params map[string]any

// A Query is a statement ready to run: its text with the positional
// parameters ($1, $2, ...) Postgres takes, and the name of each.
type Query struct {
	// Name is the statement's name in queries.sql, or what a statement
	// assembled in Go is called in errors.
	Name string
	// SQL is the statement, its named parameters rewritten to $1, $2, ...
	SQL string
	// names[i] is the name of parameter $i+1.
	names []string
}

// Params returns the names of q's parameters: Params()[i] is $i+1.
func (q *Query) Params() []string { return slices.Clone(q.names) }

// Args returns p's values in the order of q's positional parameters. It
// fails with ErrMissingParam when q names a parameter p lacks, and with
// ErrUnknownParam when p holds one q does not name (a typo, or a value
// meant for another statement). A nil value is SQL NULL.
func (q *Query) Args(p Params) ([]any, error) {
	args := make([]any, len(q.names))
	for i, n := range q.names {
		v, ok := p[n]
		if !ok {
			return nil, fmt.Errorf("%w :%s in statement %s", ErrMissingParam, n, q.label())
		}
		args[i] = v
	}
	if len(p) > len(q.names) {
		var unknown []string
		for n := range p {
			if !slices.Contains(q.names, n) {
				unknown = append(unknown, n)
			}
		}
		slices.Sort(unknown)
		return nil, fmt.Errorf("%w :%s in statement %s", ErrUnknownParam, unknown[0], q.label())
	}
	return args, nil
}

func (q *Query) label() string {
	if q.Name == "" {
		return "(assembled)"
	}
	return q.Name
}

// Compile rewrites text's named parameters to positional ones. A named
// parameter is a colon and an identifier ([A-Za-z_][A-Za-z0-9_]*), such
// as :workspace; each distinct name becomes $1, $2, ... in the order of
// its first appearance, and a name used twice is one parameter. Left as
// they are: casts (x::text), colons not followed by a letter or
// underscore (an array slice a[1:2]; write a[lo : hi] for names), and
// everything inside string literals ('a:b', E'a\':b'), quoted
// identifiers ("a:b"), dollar-quoted strings ($$a:b$$, $fn$a:b$fn$) and
// comments (-- and /* */). A positional parameter ($1) in text is
// ErrSyntax: a statement uses names only.
func Compile(name, text string) (*Query, error) {
	q := &Query{Name: name}
	var b strings.Builder
	b.Grow(len(text))
	err := walk(text, &b, func(i int) (int, error) {
		c := text[i]
		switch {
		case c == '$' && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '9' && (i == 0 || !identByte(text[i-1])):
			return 0, fmt.Errorf("positional parameter at byte %d: name it (:name)", i)
		case c == ':' && i+1 < len(text) && text[i+1] == ':':
			b.WriteString("::")
			return 2, nil
		case c == ':' && i+1 < len(text) && identStart(text[i+1]):
			j := i + 1
			for j < len(text) && identByte(text[j]) {
				j++
			}
			n := text[i+1 : j]
			k := slices.Index(q.names, n)
			if k < 0 {
				q.names = append(q.names, n)
				k = len(q.names) - 1
			}
			fmt.Fprintf(&b, "$%d", k+1)
			return j - i, nil
		}
		return 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: statement %s: %w", ErrSyntax, q.label(), err)
	}
	q.SQL = b.String()
	return q, nil
}

// walk copies text to b, calling at for each byte outside string
// literals ('a', E'a\'b'), quoted identifiers, dollar-quoted strings and
// comments (-- and /* */), which it copies whole. at returns how many
// bytes from i it consumed, having written what replaces them to b
// itself, or 0 to have walk copy the byte. An unterminated literal,
// identifier, quote or comment is an error.
func walk(text string, b *strings.Builder, at func(i int) (int, error)) error {
	for i := 0; i < len(text); {
		c := text[i]
		end := -1
		switch {
		case c == '\'':
			// E'...' takes backslash escapes; '' is a quote either way.
			escapes := i > 0 && (text[i-1] == 'E' || text[i-1] == 'e') && (i < 2 || !identByte(text[i-2]))
			if end = stringEnd(text, i+1, escapes); end < 0 {
				return fmt.Errorf("unterminated string literal at byte %d", i)
			}
		case c == '"':
			if end = strings.IndexByte(text[i+1:], '"'); end < 0 {
				return fmt.Errorf("unterminated quoted identifier at byte %d", i)
			}
			end += i + 2
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			if end = strings.IndexByte(text[i:], '\n'); end < 0 {
				end = len(text)
			} else {
				end += i
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if end = commentEnd(text, i); end < 0 {
				return fmt.Errorf("unterminated comment at byte %d", i)
			}
		case c == '$' && (i+1 >= len(text) || text[i+1] < '0' || text[i+1] > '9') && (i == 0 || !identByte(text[i-1])):
			if tag, ok := dollarTag(text[i:]); ok {
				if end = strings.Index(text[i+len(tag):], tag); end < 0 {
					return fmt.Errorf("unterminated dollar quote at byte %d", i)
				}
				end += i + 2*len(tag)
			}
		}
		if end >= 0 {
			b.WriteString(text[i:end])
			i = end
			continue
		}
		n, err := at(i)
		if err != nil {
			return err
		}
		if n == 0 {
			b.WriteByte(c)
			n = 1
		}
		i += n
	}
	return nil
}

func identStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func identByte(c byte) bool { return identStart(c) || c >= '0' && c <= '9' }

// stringEnd returns the index just past the quote that ends the string
// literal whose text starts at i, or -1.
func stringEnd(text string, i int, escapes bool) int {
	for i < len(text) {
		switch text[i] {
		case '\\':
			if escapes {
				i += 2
				continue
			}
		case '\'':
			if i+1 < len(text) && text[i+1] == '\'' {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return -1
}

// commentEnd returns the index just past the block comment that starts
// at i (they nest in Postgres), or -1.
func commentEnd(text string, i int) int {
	depth := 0
	for i < len(text)-1 {
		switch text[i : i+2] {
		case "/*":
			depth++
			i += 2
		case "*/":
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return -1
}

// dollarTag returns the opening tag of the dollar-quoted string text
// starts with ($$ or $tag$).
func dollarTag(text string) (string, bool) {
	j := 1
	for j < len(text) && identByte(text[j]) {
		j++
	}
	if j >= len(text) || text[j] != '$' || j > 1 && !identStart(text[1]) {
		return "", false
	}
	return text[:j+1], true
}
