package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dataspace/secrets"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
)

// jsonFlag is the --json flag of every command that prints data.
func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts (the field names are stable)"}
}

// ifRevisionFlag is the --if-revision flag of every write.
func ifRevisionFlag() cli.Flag {
	return &cli.Int64Flag{Name: "if-revision", HideDefault: true, Usage: "write only if the secret is still at revision `N` (exit 4 otherwise)"}
}

// ifRevision returns --if-revision, refusing a negative one.
func ifRevision(cmd *cli.Command) (int64, error) {
	n := cmd.Int64("if-revision")
	if n < 0 || (n == 0 && cmd.IsSet("if-revision")) {
		return 0, usage("--if-revision: a revision is 1 or more")
	}
	return n, nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table returns a tabwriter for aligned columns.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// wrapList joins items with ", " into lines of at most width
// characters, each ending with a comma but the last; an item longer than
// width has a line of its own. No items give one empty line.
func wrapList(items []string, width int) []string {
	lines := []string{""}
	for i, it := range items {
		if i < len(items)-1 {
			it += ", "
		}
		last := &lines[len(lines)-1]
		if *last != "" && len(*last)+len(it) > width {
			lines = append(lines, it)
			continue
		}
		*last += it
	}
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], " ")
	}
	return lines
}

// when formats a time for text output: UTC, RFC 3339, "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// notes sums up a secret's flags and dates for a listing.
func notes(m secrets.Meta, now time.Time) string {
	var n []string
	if m.WriteOnly {
		n = append(n, "write-only")
	}
	if m.File {
		n = append(n, "file")
	}
	if m.Protected {
		n = append(n, "protected")
	}
	if m.Expand {
		n = append(n, "expands")
	}
	switch {
	case m.Expired(now):
		n = append(n, "expired "+when(m.Expires))
	case !m.Expires.IsZero():
		n = append(n, "expires "+when(m.Expires))
	}
	if !m.RotateBy.IsZero() {
		n = append(n, "rotate by "+when(m.RotateBy))
	}
	if !m.Deleted.IsZero() {
		n = append(n, "deleted "+when(m.Deleted)+" by "+printable(m.DeletedBy))
	}
	return strings.Join(n, ", ")
}

// printMeta prints one secret's metadata, a field a line.
func printMeta(w io.Writer, m secrets.Meta) error {
	tw := table(w)
	yesNo := map[bool]string{true: "yes", false: "no"}
	rows := [][2]string{
		{"name", m.Name},
		{"scope", m.Scope},
		{"revision", fmt.Sprint(m.Revision)},
		{"version", fmt.Sprint(m.Version)},
		{"created", when(m.Created) + " by " + m.CreatedBy},
		{"updated", when(m.Updated) + " by " + m.UpdatedBy},
		{"value updated", when(m.ValueUpdated) + " by " + m.ValueUpdatedBy},
		{"description", m.Description},
		{"expires", when(m.Expires)},
		{"rotate by", when(m.RotateBy)},
		{"write-only", yesNo[m.WriteOnly]},
		{"file", yesNo[m.File]},
		{"protected", yesNo[m.Protected]},
		{"expand", yesNo[m.Expand]},
	}
	if !m.Deleted.IsZero() {
		rows = append(rows, [2]string{"deleted", when(m.Deleted) + " by " + m.DeletedBy})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], printableText(r[1]))
	}
	return tw.Flush()
}

// printWrite prints what a write left: the secret's metadata with
// --json, one line otherwise. The names an expanding secret references
// that no scope defines yet are a warning on stderr, either way.
func (a *app) printWrite(cmd *cli.Command, m secrets.Meta, what string) error {
	if len(m.Undefined) > 0 {
		fmt.Fprintf(a.stderr, "secretsctl: warning: %s references names not defined in any scope yet: %s; jobs that get it fail until they are\n",
			m.Name, strings.Join(m.Undefined, ", "))
	}
	if m.ShortValue {
		fmt.Fprintf(a.stderr, "secretsctl: warning: %s's value is shorter than %d bytes: a job's output does not mask it\n",
			m.Name, secrets.DefaultMinMaskLength)
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, m)
	}
	_, err := fmt.Fprintf(a.stdout, "%s %s: revision %d, version %d\n", m.Name, what, m.Revision, m.Version)
	return err
}

// A progress reports a long operation on stderr: a bar on a terminal,
// otherwise a line at every tenth of the way and one at the end, so that
// a log file gets a few lines and no carriage returns.
type progress struct {
	w           io.Writer
	what        string
	bar         *progressbar.ProgressBar
	tty         bool
	step        int // tenths reported
	done, total int
}

func (a *app) progress(what string) *progress {
	return &progress{w: a.stderr, what: what, tty: isTerminal(a.stderr)}
}

// update is the library's progress callback.
func (p *progress) update(done, total int) {
	p.done, p.total = done, total
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(p.what),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
		p.bar.ChangeMax(total)
		p.bar.Set(done)
		return
	}
	if total <= 0 {
		return
	}
	if step := done * 10 / total; step > p.step && step < 10 {
		p.step = step
		fmt.Fprintf(p.w, "%s: %d/%d (%d%%)\n", p.what, done, total, done*100/total)
	}
}

// finish ends the report with the final count: "done", or "stopped" when
// the call stopped before the end (an interrupted rotation is not done:
// an SRE trial's log said it was).
func (p *progress) finish(stopped bool) {
	if p.bar != nil {
		if stopped {
			p.bar.Exit()
		} else {
			p.bar.Finish()
		}
	}
	if !p.tty && p.total > 0 {
		word := "done"
		if stopped {
			word = "stopped"
		}
		fmt.Fprintf(p.w, "%s: %d/%d %s\n", p.what, p.done, p.total, word)
	}
}

// printable is how human (not --json) output shows a string that comes
// from the store or a document (a workspace, an actor, a container, a
// name, a scope, a detail): as it is if every character of it is
// printable (and it is valid UTF-8), else quoted as strconv.Quote does.
// No control character, an escape sequence or a newline included,
// reaches the terminal raw: none forges a row or hides one.
func printable(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// shellWord is s as one word of a POSIX shell's command line, for a
// hint an operator may paste (list's "more: --after NAME"): as it is if
// it holds only characters no shell reads specially, else in single
// quotes. A scope may hold $, (, `, ; and quotes (a CLI trial: the hint
// for a scope an editor chose ran a command when pasted); no control
// character, which names and scopes never hold, is quoted away so.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_@./:,+=-", r)))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(printable(s), "'", `'\''`) + "'"
}

// escapeControls writes each control or format character of s (an
// escape sequence, a bidirectional override) as a Go escape, and leaves
// the rest: the backstop of report for a message that took a string from
// the store or a document without printable (a CLI trial: a workspace's
// escape sequence reached the terminal raw in several lines).
func escapeControls(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// actsOnTerminal reports whether b holds a byte or character a terminal
// acts on rather than shows: a C0 control other than tab, line feed and
// carriage return (ESC starts the sequences that set a window's title,
// write the clipboard, clear the screen), DEL, or a C1 control. A value
// comes from an editor: printed as it is to the operator's terminal it
// would act there (a CLI trial wrote the clipboard through OSC 52).
func actsOnTerminal(b []byte) bool {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r < ' ' && r != '\t' && r != '\n' && r != '\r' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return true
		}
		i += n
	}
	return false
}

// printableText is printable for free text (a description, a detail, a
// reason): its line breaks and blanks folded into spaces first.
func printableText(s string) string { return printable(oneLine(s)) }

// yes is a table's column for a flag: "yes" or "-".
func yes(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}
