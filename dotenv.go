package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidDotenv: a .env text could not be parsed, or holds a name
// twice. The *DotenvError that carries it gives the line.
var ErrInvalidDotenv = errors.New("secrets: invalid .env text")

// A DotenvError reports where a .env text is wrong. It never quotes a
// value. It matches ErrInvalidDotenv with errors.Is, and also the
// validation error of a name (ErrInvalidName, ErrReservedName) or a value
// (ErrInvalidValue, ErrTooLarge) found on that line.
type DotenvError struct {
	Line int    // 1-based line where the entry starts
	Msg  string // what is wrong, naming the variable when its name is valid
	Err  error  // the validation error, if that is what is wrong
}

// Error gives the line and what is wrong, never a value.
func (e *DotenvError) Error() string {
	return fmt.Sprintf("secrets: .env line %d: %s", e.Line, e.Msg)
}

// Is reports whether target is ErrInvalidDotenv.
func (e *DotenvError) Is(target error) bool { return target == ErrInvalidDotenv }

// Unwrap returns the validation error, if any.
func (e *DotenvError) Unwrap() error { return e.Err }

type dotenvEntry struct {
	line  int
	name  string
	value []byte
}

// parseDotenv reads .env text in the syntax Manager.Import documents. It
// checks the syntax only; names and values are validated by the caller.
func parseDotenv(text []byte) ([]dotenvEntry, error) {
	p := &dotenvParser{s: text, line: 1}
	var out []dotenvEntry
	for !p.eof() {
		p.skipBlanks()
		switch {
		case p.eof():
		case p.peek() == '\n' || p.peek() == '\r' && p.peekAt(1) == '\n' || p.peek() == '#':
			p.skipLine()
		default:
			e, err := p.entry()
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

type dotenvParser struct {
	s    []byte
	i    int
	line int
}

func (p *dotenvParser) eof() bool         { return p.i >= len(p.s) }
func (p *dotenvParser) peek() byte        { return p.s[p.i] }
func (p *dotenvParser) peekAt(k int) byte { return get(p.s, p.i+k) }

func get(s []byte, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func (p *dotenvParser) next() byte {
	c := p.s[p.i]
	p.i++
	if c == '\n' {
		p.line++
	}
	return c
}

func (p *dotenvParser) skipBlanks() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

func (p *dotenvParser) skipLine() {
	for !p.eof() {
		if p.next() == '\n' {
			return
		}
	}
}

func (p *dotenvParser) fail(line int, format string, args ...any) error {
	return &DotenvError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || !first && '0' <= c && c <= '9'
}

func (p *dotenvParser) name() string {
	start := p.i
	for !p.eof() && isNameByte(p.peek(), p.i == start) {
		p.i++
	}
	return string(p.s[start:p.i])
}

func (p *dotenvParser) entry() (dotenvEntry, error) {
	line := p.line
	name := p.name()
	if name == "export" && !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.skipBlanks()
		name = p.name()
	}
	if name == "" {
		return dotenvEntry{}, p.fail(line, "expected NAME=value")
	}
	p.skipBlanks()
	if p.eof() || p.peek() != '=' {
		// Not quoting the name: it may be the start of a pasted value.
		return dotenvEntry{}, p.fail(line, "expected = after a name")
	}
	p.i++
	p.skipBlanks()
	var value []byte
	var err error
	if !p.eof() && (p.peek() == '\'' || p.peek() == '"') {
		value, err = p.quoted(line, name)
	} else {
		value = p.unquoted()
	}
	if err != nil {
		return dotenvEntry{}, err
	}
	return dotenvEntry{line: line, name: name, value: value}, nil
}

// unquoted reads to the end of the line.
func (p *dotenvParser) unquoted() []byte {
	start := p.i
	for !p.eof() && p.peek() != '\n' {
		if p.peek() == '#' && p.i > start && (p.s[p.i-1] == ' ' || p.s[p.i-1] == '\t') {
			break
		}
		p.i++
	}
	v := bytes.TrimRight(p.s[start:p.i], " \t\r")
	p.skipLine()
	return bytes.Clone(v)
}

// quoted reads quoted parts and escapes, joined, then the rest of the line,
// which may hold only blanks and a comment.
func (p *dotenvParser) quoted(line int, name string) ([]byte, error) {
	var v []byte
	for !p.eof() {
		switch c := p.peek(); c {
		case '\'':
			p.next()
			end := bytes.IndexByte(p.s[p.i:], '\'')
			if end < 0 {
				return nil, p.fail(line, "%s: unterminated single quote", name)
			}
			for range end {
				v = append(v, p.next())
			}
			p.next()
			continue
		case '"':
			p.next()
			closed := false
			for !p.eof() && !closed {
				c := p.next()
				switch {
				case c == '"':
					closed = true
				case c == '\\' && !p.eof():
					e := p.next()
					switch e {
					case 'n':
						v = append(v, '\n')
					case 'r':
						v = append(v, '\r')
					case 't':
						v = append(v, '\t')
					case '"', '\\', '$', '`':
						v = append(v, e)
					case '\n': // a line continuation
					default:
						v = append(v, '\\', e)
					}
				default:
					v = append(v, c)
				}
			}
			if !closed {
				return nil, p.fail(line, "%s: unterminated double quote", name)
			}
			continue
		case '\\':
			if p.i+1 >= len(p.s) {
				return nil, p.fail(line, "%s: backslash at the end of the text", name)
			}
			p.next()
			v = append(v, p.next())
			continue
		}
		break
	}
	p.skipBlanks()
	if !p.eof() && p.peek() == '#' {
		p.skipLine()
		return v, nil
	}
	if !p.eof() && p.peek() == '\r' && p.peekAt(1) == '\n' {
		p.next()
	}
	if !p.eof() && p.peek() != '\n' {
		return nil, p.fail(p.line, "%s: unexpected text after the closing quote", name)
	}
	p.skipLine()
	return v, nil
}

// formatDotenv writes entries as NAME='value' lines, sorted by name. The
// text parses back to the same bytes, and is safe to source in a POSIX
// shell: single quotes allow no expansion of any kind, and a single quote
// in a value is written as '\”.
func formatDotenv(env []string) []byte {
	var b bytes.Buffer
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		b.WriteString(name)
		b.WriteString("='")
		b.WriteString(strings.ReplaceAll(value, "'", `'\''`))
		b.WriteString("'\n")
	}
	return b.Bytes()
}

// Import sets every variable of a .env text (see the syntax below) in the
// workspace, in one all-or-nothing write: either every variable gets a new
// version, or, on any error, nothing changes. Variables that exist get a
// new version; others are created; the workspace's other secrets are left
// alone.
//
// The text is checked whole before anything is written: a syntax error, a
// name given twice (ignoring case), or a name or value that Set would
// refuse is reported as a *DotenvError with its line, never its value.
//
// Syntax, one entry a line:
//
//	# a comment, and blank lines, are skipped
//	NAME=value            unquoted: up to the line's end or a " #" comment, trailing blanks trimmed, no escapes
//	export NAME=value     "export " is allowed and ignored
//	NAME='value'          single quotes: every byte literal, newlines included
//	NAME="value"          double quotes: \n \r \t \" \\ \$ \` are escapes, a backslash before a newline
//	                      joins lines, any other backslash is kept; newlines included
//	NAME='it'\''s'        quoted parts, and backslash-escaped characters between them, are joined,
//	                      as in a POSIX shell
//
// No variable is expanded: "$HOME" in a value stays "$HOME".
func (m *Manager) Import(ctx context.Context, ws string, text []byte) ([]Meta, error) {
	if err := validWorkspace(ws); err != nil {
		return nil, err
	}
	entries, err := parseDotenv(text)
	if err != nil {
		return nil, m.failed(ctx, m.event(ctx, ActionSet, ws), err)
	}
	first := map[string]int{}
	for _, e := range entries {
		key := strings.ToLower(e.name)
		if l, dup := first[key]; dup {
			return nil, &DotenvError{Line: e.line, Msg: fmt.Sprintf("%s is already set on line %d", e.name, l)}
		}
		first[key] = e.line
		if err := m.validName(e.name); err != nil {
			msg := "invalid name"
			if !errors.Is(err, ErrInvalidName) {
				msg = e.name + " is reserved"
			}
			return nil, &DotenvError{Line: e.line, Msg: msg, Err: err}
		}
		if err := validValue(e.name, e.value); err != nil {
			return nil, &DotenvError{Line: e.line, Msg: "value of " + e.name + " is refused", Err: err}
		}
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	ev, err := m.begin(ctx, ActionSet, ws, names...)
	if err != nil {
		return nil, err
	}
	metas, err := m.importEntries(ctx, ev, ws, entries)
	return metas, m.failed(ctx, ev, err)
}

func (m *Manager) importEntries(ctx context.Context, ev *Event, ws string, entries []dotenvEntry) ([]Meta, error) {
	defer func() {
		for _, e := range entries {
			clear(e.value)
		}
	}()
	if len(entries) == 0 {
		return []Meta{}, nil
	}
	for attempt := 0; ; attempt++ {
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		k, err := m.writeKey(ctx, ws)
		if err != nil {
			return nil, err
		}
		cur, err := m.store.Current(ctx, ws)
		if err != nil {
			return nil, err
		}
		byName := make(map[string]Version, len(cur))
		for _, v := range cur {
			byName[strings.ToLower(v.Name)] = v
		}
		now, actor := m.now(), ActorFrom(ctx)
		writes := make([]Write, len(entries))
		metas := make([]Meta, len(entries))
		audit := *ev
		audit.Secrets = nil
		for i, e := range entries {
			v := Version{Workspace: ws, Name: e.name, Updated: now, UpdatedBy: actor}
			var expect int64
			if old, ok := byName[strings.ToLower(e.name)]; ok {
				v.SecretID, v.Version, v.Created, v.CreatedBy, v.Info = old.SecretID, old.Version+1, old.Created, old.CreatedBy, old.Info
				expect = old.Version
			} else {
				v.SecretID, v.Version, v.Created, v.CreatedBy = newSecretID(), 1, now, actor
			}
			if err := m.seal(k, &v, e.value); err != nil {
				return nil, err
			}
			writes[i] = m.write(k, v, expect, nil)
			metas[i] = metaOf(v)
			written(&audit, v)
		}
		writes[0].Audit = &audit // one event for the import, in its transaction
		err = m.store.PutBatch(ctx, writes)
		switch {
		case err == nil:
			m.published(ctx, audit)
			slices.SortFunc(metas, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
			return metas, nil
		case errors.Is(err, ErrTooLarge):
			return nil, fmt.Errorf("secrets: import: the workspace environment would exceed %d bytes: %w", m.cfg.MaxEnvBytes, ErrTooLarge)
		case attempt < maxAttempts && (m.keyChanged(ws, err) || lostRace(err)):
			continue // a concurrent write: read again and retry
		default:
			return nil, err
		}
	}
}

// Export returns the workspace's secrets as .env text, sorted by name:
// NAME='value' lines that Import reads back to the same bytes, and that a
// POSIX shell can source without running or expanding anything. Export
// reveals every value but those of write-only secrets, which it names in
// a comment instead: treat the result as a secret.
func (m *Manager) Export(ctx context.Context, ws string) ([]byte, error) {
	e, err := m.begin(ctx, ActionExport, ws)
	if err != nil {
		return nil, err
	}
	env, writeOnly, err := m.envFor(ctx, e, true)
	if err != nil {
		return nil, err
	}
	text := formatDotenv(env)
	for _, n := range writeOnly {
		text = append(text, "# "+n+" is write-only: not exported\n"...)
	}
	return text, nil
}
