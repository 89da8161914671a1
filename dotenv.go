package secrets

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"github.com/dataspace/secrets/internal/scope"
)

// ImportOptions tune a [Manager.Import]. A nil *ImportOptions means the
// zero value.
type ImportOptions struct {
	// Scope is the scope the text's secrets are set in, as
	// DiffOptions.Scope: a NAME in the text stands for the secret
	// ScopedName(NAME, Scope). An invalid scope is ErrInvalidScope.
	Scope string
}

// bulkScope returns the scope a Diff, Apply or Import is for: "*" for
// "", or sc if it is valid, else ErrInvalidScope.
func bulkScope(sc string) (string, error) {
	if sc == "" {
		return scope.Any, nil
	}
	if err := scope.Valid(sc); err != nil {
		return "", errorf(ErrInvalidScope, "%s", err.Error())
	}
	return sc, nil
}

type dotenvEntry struct {
	line  int
	name  string
	value []byte
	// protected, expand and file, from the text's flag comments (see
	// parseDotenv): the flags of a secret the text creates.
	protected, expand, file bool
}

// The flag comments Export writes before its lines: the names of the
// exported secrets that are protected, of those that expand their
// references, and of file secrets (whose line holds the file's content).
// To a shell or another .env reader they are comments; Import gives the
// secrets it creates these flags, so that a round trip through a file
// does not make a protected secret reach every job, nor a file's content
// a variable (an SRE trial).
const (
	dotenvProtected = "# protected:"
	dotenvExpand    = "# expand:"
	dotenvFile      = "# file:"
)

// The comments Export writes in place of a secret's line: the secret is
// write-only, named as a variable shells act on when a sourced file
// assigns it (sourceUnsafe), or expired and left out (ExpiredOmit). Each is "# NAME" and the suffix. Diff and
// Apply take a secret named so as named by the text: a Remove does not
// remove what the export left out.
const (
	dotenvWriteOnly = " is write-only: not exported"
	dotenvShellVar  = " is a shell's own variable: not exported"
	dotenvExpired   = " is expired: not exported" // with ExpiredOmit
)

// maxDotenvComments is the room a .env text may take beyond what Export
// could write of a workspace within its budget: people's comments.
const maxDotenvComments = 256 << 10

// maxDotenvText is the largest .env text Diff, Apply and Import read (0:
// no bound, with no Config.MaxEnvBytes): any text Export writes of a
// workspace within its budget, plus maxDotenvComments. A secret takes
// len(NAME)+len(value)+2 bytes of the budget (see envSize). Export's line
// for it, NAME='value' with each single quote written as 4 bytes (see
// formatDotenv), takes at most len(NAME)+4+4*len(value) bytes, and the
// flag comments at most 3*(len(NAME)+1) more (and a line each): within 4
// times what the secret takes of the budget. A secret Export names in a
// comment instead (a write-only one, a shell's variable) takes "# NAME"
// and the longest suffix, which may be more than 4 times a short secret's
// share: that much more for each secret the workspace can hold
// (maxDotenvEntries). The bound keeps the cost of parsing a text
// proportional to the budget.
func (m *Manager) maxDotenvText() int64 {
	budget := m.cfg.MaxEnvBytes
	if budget <= 0 {
		return 0
	}
	comment := int64(len("# \n") + max(len(dotenvWriteOnly), len(dotenvShellVar), len(dotenvExpired)))
	return 4*budget + int64(m.maxDotenvEntries())*comment + maxDotenvComments
}

// maxDotenvEntries is the most secrets a .env text can name for the
// workspace: as many as it can hold (Config.MaxSecrets, and at most a
// third of the budget: each takes 3 bytes or more); 0 for no bound. The
// parser stops past it, so that a text of many short lines, within
// maxDotenvText, is refused before each of them costs an entry (a million
// "A=1" lines took 100 times the text's size).
func (m *Manager) maxDotenvEntries() int {
	n := -1
	if b := m.cfg.MaxEnvBytes; b > 0 {
		n = int(min(b/3, int64(math.MaxInt32)))
	}
	if s := m.cfg.MaxSecrets; s > 0 && (n < 0 || s < n) {
		n = s
	}
	return max(n, 0)
}

// formatFlags writes the flag comments of names.
func formatFlags(b []byte, prefix string, names []string) []byte {
	if len(names) == 0 {
		return b
	}
	return append(append(append(b, prefix...), (" "+strings.Join(names, " "))...), '\n')
}

// parseDotenv reads .env text in the syntax Manager.Import documents. It
// checks the syntax only; names and values are validated by the caller.
// Each entry gets the flags the text's flag comments give its name
// (ignoring case): comments only, never a line inside a quoted value.
// kept are the names of Export's comments in place of a line (see
// dotenvWriteOnly), as spelled there.
//
// maxEntries, if not 0, is the most entries and Export's comments in place
// of a line it reads, and the most names each kind of flag comment may
// name: past it, ErrTooLarge.
func parseDotenv(text []byte, maxEntries int) (entries []dotenvEntry, kept []string, err error) {
	// A byte-order mark, as some editors write, is not part of the first
	// name.
	p := &dotenvParser{s: bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")), line: 1}
	var out []dotenvEntry
	var flags dotenvFlags
	for !p.eof() {
		p.skipBlanks()
		switch {
		case p.eof():
		case p.atEOL():
			p.skipLine()
		case p.peek() == '#':
			start := p.i
			p.skipLine()
			flags.read(strings.TrimRight(string(p.s[start:p.i]), "\r\n"), maxEntries)
		default:
			e, err := p.entry()
			if err != nil {
				clearEntries(out)
				return nil, nil, err
			}
			out = append(out, e)
		}
		if maxEntries > 0 && (len(out)+len(flags.kept) > maxEntries || flags.over) {
			clearEntries(out)
			return nil, nil, errorf(ErrTooLarge, "the .env text names more than %d secrets, more than the workspace could hold", maxEntries)
		}
	}
	for i := range out {
		n := strings.ToLower(out[i].name)
		out[i].protected, out[i].expand, out[i].file = flags.protected[n], flags.expand[n], flags.file[n]
	}
	return out, flags.kept, nil
}

// clearEntries zeroes the values of es.
func clearEntries(es []dotenvEntry) {
	for _, e := range es {
		clear(e.value)
	}
}

// dotenvFlags are the variables the flag comments of a text name,
// lower-cased, and those Export's comments name in place of a line.
type dotenvFlags struct {
	protected, expand, file map[string]bool
	kept                    []string
	keptSeen                map[string]bool // kept, lower-cased: each counted once
	over                    bool            // a kind of flag comment named more than the bound
}

// read notes the names of comment, if it is a flag comment or one Export
// writes in place of a line: exactly "# NAME" and one of the suffixes.
// Past bound (if not 0) names of one kind of flag comment it stops and
// sets over: a comment of a million names would otherwise cost a map
// entry each, in a text within maxDotenvText.
func (f *dotenvFlags) read(comment string, bound int) {
	if rest, ok := strings.CutPrefix(comment, "# "); ok {
		for _, suffix := range []string{dotenvWriteOnly, dotenvShellVar, dotenvExpired} {
			if n, ok := strings.CutSuffix(rest, suffix); ok && isName(n) && !f.keptSeen[strings.ToLower(n)] {
				if f.keptSeen == nil {
					f.keptSeen = map[string]bool{}
				}
				f.keptSeen[strings.ToLower(n)] = true
				f.kept = append(f.kept, n)
			}
		}
	}
	for prefix, set := range map[string]*map[string]bool{dotenvProtected: &f.protected, dotenvExpand: &f.expand, dotenvFile: &f.file} {
		if rest, ok := strings.CutPrefix(comment, prefix); ok {
			if *set == nil {
				*set = map[string]bool{}
			}
			for n := range strings.FieldsSeq(rest) {
				if bound > 0 && len(*set) >= bound {
					f.over = true
					return
				}
				(*set)[strings.ToLower(n)] = true
			}
		}
	}
}

type dotenvParser struct {
	s    []byte
	i    int
	line int
}

func (p *dotenvParser) eof() bool  { return p.i >= len(p.s) }
func (p *dotenvParser) peek() byte { return p.s[p.i] }

// next consumes a byte. A line ends with LF, CRLF or a lone CR (old Mac
// files): each counts one line.
func (p *dotenvParser) next() byte {
	c := p.s[p.i]
	p.i++
	if c == '\n' || c == '\r' && (p.eof() || p.peek() != '\n') {
		p.line++
	}
	return c
}

// atEOL reports whether a line ends here.
func (p *dotenvParser) atEOL() bool { return !p.eof() && (p.peek() == '\n' || p.peek() == '\r') }

func (p *dotenvParser) skipBlanks() {
	for !p.eof() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// skipLine consumes the rest of the line and its ending.
func (p *dotenvParser) skipLine() {
	for !p.eof() {
		switch p.next() {
		case '\n':
			return
		case '\r':
			if !p.eof() && p.peek() == '\n' {
				p.next()
			}
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

// isName reports whether s is a variable's name: the bytes a .env name
// may have (Set decides the rest).
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i == 0) {
			return false
		}
	}
	return s != ""
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
	for !p.eof() && !p.atEOL() {
		if p.peek() == '#' && p.i > start && (p.s[p.i-1] == ' ' || p.s[p.i-1] == '\t') {
			break
		}
		p.i++
	}
	v := bytes.TrimRight(p.s[start:p.i], " \t")
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
	if !p.eof() && !p.atEOL() {
		return nil, p.fail(p.line, "%s: unexpected text after the closing quote", name)
	}
	p.skipLine()
	return v, nil
}

// formatDotenv writes entries as NAME='value' lines, sorted by name. The
// text parses back to the same bytes, and is safe to source in a POSIX
// shell: single quotes allow no expansion of any kind, and a single quote
// in a value is written as the four bytes quote, backslash, quote, quote;
// the caller leaves out the names a shell acts on when assigned
// (sourceUnsafe), which quoting cannot make safe.
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

// A DotenvEntry is one variable of a .env text.
type DotenvEntry struct {
	Line  int    `json:"line"` // where the entry starts, from 1
	Name  string `json:"name"`
	Value Value  `json:"-"`
}

// ParseDotenv reads a .env text in the syntax [Manager.Import] documents,
// without touching any workspace: for a dry run, or to show an editor what
// a text holds. It checks the syntax and that no name is given twice
// (ignoring case), reporting a *DotenvError with the line (naming a
// duplicate only if it is at most 256 bytes, the default
// Config.MaxNameLength); names and values are checked against a
// workspace's rules by Import and Diff.
func ParseDotenv(text []byte) ([]DotenvEntry, error) {
	es, _, err := parseDotenv(text, 0)
	if err == nil {
		err = duplicates(es, defaultMaxNameLength)
	}
	if err != nil {
		return nil, err
	}
	out := make([]DotenvEntry, len(es))
	for i, e := range es {
		out[i] = DotenvEntry{Line: e.line, Name: e.name, Value: newValue(e.value)}
	}
	return out, nil
}

// duplicates reports the first name given twice, ignoring case. It quotes
// the name only if it is valid with names of at most maxLen bytes: an
// invalid one may be a pasted value.
func duplicates(es []dotenvEntry, maxLen int) error {
	first := map[string]int{}
	for _, e := range es {
		key := strings.ToLower(e.name)
		if l, dup := first[key]; dup {
			if validSyntax(e.name, maxLen) != nil {
				return &DotenvError{Line: e.line, Msg: fmt.Sprintf("this name is already set on line %d", l)}
			}
			return &DotenvError{Line: e.line, Msg: fmt.Sprintf("%s is already set on line %d", variableOf(e.name), l)}
		}
		first[key] = e.line
	}
	return nil
}
