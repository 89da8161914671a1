package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dataspace/secrets"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// maxValueRead bounds what set reads: a little over the largest value the
// library accepts, so that it refuses the rest as too large.
const maxValueRead = secrets.MaxEnvString + 16

// maxTextRead bounds a .env text read by import, diff and apply.
const maxTextRead = 64 << 20

// maxTerminalLine is the most a terminal's line holds before its newline
// (Linux's 4096-byte line buffer): the terminal drops what is typed past
// it, so a value that long may have been cut.
const maxTerminalLine = 4095

// valueOptions say how set reads a value.
type valueOptions struct {
	file       string // "" or "-": stdin
	raw        bool   // keep a trailing newline
	allowEmpty bool
	prompt     string // on a terminal; default "Value of NAME (not echoed): "
}

// readValue reads a secret's value: from a file, from a terminal with a
// prompt and without echo, or from piped stdin. One trailing newline (LF
// or CRLF) of a file or piped input is dropped unless raw. An empty value
// is refused unless allowEmpty.
func (a *app) readValue(ctx context.Context, name string, o valueOptions) ([]byte, error) {
	var b []byte
	var err error
	switch {
	case o.file != "" && o.file != "-":
		// A FIFO blocks too.
		b, err = interruptible(ctx, func() ([]byte, error) { return readLimited(openFile(o.file), maxValueRead) })
	case isTerminal(a.stdin):
		if o.prompt == "" {
			o.prompt = "Value of " + name + " (not echoed): "
		}
		fd := int(a.stdin.(*os.File).Fd())
		// readHidden turns the echo off and back on when it returns;
		// if a signal ends the wait instead, the echo comes back here.
		state, serr := term.GetState(fd)
		fmt.Fprint(a.stderr, o.prompt)
		b, err = interruptible(ctx, func() ([]byte, error) { return readHidden(fd) })
		var i *interruption
		if errors.As(err, &i) && serr == nil {
			term.Restore(fd, state)
		}
		fmt.Fprintln(a.stderr)
		if err == io.EOF { // Ctrl-D on an empty line
			err = nil
		}
		if len(b) >= maxTerminalLine {
			clear(b)
			return nil, fail(exitRefused, "the value fills the terminal's line (%d bytes), which drops what is typed past it: "+
				"nothing was stored; give a long value with --file FILE or on stdin (< FILE)", maxTerminalLine)
		}
		o.raw = true // the line's end is not part of it
	default:
		b, err = interruptible(ctx, func() ([]byte, error) { return readLimited(a.stdin, maxValueRead) })
	}
	if i := (*interruption)(nil); errors.As(err, &i) {
		return nil, fail(i.code(), "%v: nothing was read or stored", i)
	}
	if errors.Is(err, errTooLong) {
		return nil, fail(exitRefused, "the value is too large: a variable holds at most %d bytes", secrets.MaxEnvString)
	}
	if err != nil {
		clear(b)
		return nil, fail(exitFailed, "reading the value: %v", err)
	}
	if !o.raw {
		b = trimNewline(b)
	}
	if len(b) == 0 && !o.allowEmpty {
		return nil, fail(exitRefused, "the value is empty: nothing was stored (give --allow-empty to store an empty value)")
	}
	return b, nil
}

// readText reads a .env text from a file or stdin.
func (a *app) readText(ctx context.Context, file string) ([]byte, error) {
	var r io.Reader = a.stdin
	if file != "" && file != "-" {
		r = openFile(file)
	} else if isTerminal(a.stdin) {
		fmt.Fprintln(a.stderr, "Reading .env text from the terminal; end it with Ctrl-D.")
	}
	b, err := interruptible(ctx, func() ([]byte, error) { return readLimited(r, maxTextRead) })
	if i := (*interruption)(nil); errors.As(err, &i) {
		return nil, fail(i.code(), "%v: nothing was read or changed", i)
	}
	if errors.Is(err, errTooLong) {
		return nil, fail(exitRefused, "the .env text is over %d bytes", maxTextRead)
	}
	if err != nil {
		return nil, fail(exitFailed, "reading the .env text: %v", err)
	}
	return b, nil
}

// lazyFile opens its file on first read, so that readLimited reports
// the error.
type lazyFile struct {
	name string
	f    *os.File
}

func openFile(name string) *lazyFile { return &lazyFile{name: name} }

func (l *lazyFile) Read(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.Open(l.name)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Read(p)
}

func (l *lazyFile) close() {
	if l.f != nil {
		l.f.Close()
	}
}

// errTooLong is readLimited's error for input over its limit.
var errTooLong = errors.New("input too long")

// readLimited reads r up to limit bytes, and one more to show that the
// input is over it (errTooLong).
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	if l, ok := r.(*lazyFile); ok {
		defer l.close()
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		clear(b)
		return nil, errTooLong
	}
	return b, err
}

// readPlan reads a --plan file: the JSON of a preview, which names each
// secret of the workspace a few times. It is bounded by what a preview
// of the largest workspace m allows takes (planBytesPerSecret a secret),
// so that a wrong file (/dev/zero) is refused rather than exhaust memory.
func readPlan(m *secrets.Manager, file string) ([]byte, error) {
	n := int64(m.Limits().MaxSecrets)
	if n <= 0 {
		n = maxBackupSecrets
	}
	limit := n*planBytesPerSecret + 1<<20
	b, err := readLimited(openFile(file), limit)
	if errors.Is(err, errTooLong) {
		return nil, fail(exitRefused, "--plan %s: over %d bytes, more than a preview of the largest workspace takes: not a plan", file, limit)
	}
	if err != nil {
		return nil, fail(exitFailed, "--plan: %v", err)
	}
	return b, nil
}

// planBytesPerSecret bounds what a secret takes in a plan: its name
// (at most 256 bytes, JSON-escaped) in a list or two and in Revisions,
// with a version, a revision and flags.
const planBytesPerSecret = 4 << 10

// maxBackupSecrets is the most secrets a backup holds when a workspace's
// count is unbounded (the library's own cap on a restore).
const maxBackupSecrets = 100_000

// maxAuditKeyRead bounds an --audit-key file: a Tink JSON keyset of an
// HMAC key takes some 300 bytes; this leaves room for 200 rotated ones.
const maxAuditKeyRead = 64 << 10

// trimNewline drops one trailing LF or CRLF.
func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// confirm asks a yes-or-no question on the terminal. what names the
// command and the flag that skips the question, for the error when
// stdin is not a terminal.
func (a *app) confirm(ctx context.Context, yes bool, what, question string) error {
	if yes {
		return nil
	}
	if !isTerminal(a.stdin) {
		return usage("%s: refusing without --yes: stdin is not a terminal to confirm on", what)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, err := interruptible(ctx, func() (string, error) { return bufio.NewReader(a.stdin).ReadString('\n') })
	if i := (*interruption)(nil); errors.As(err, &i) {
		fmt.Fprintln(a.stderr)
		return fail(i.code(), "%s: %v; nothing was changed", what, i)
	}
	if err != nil && line == "" {
		fmt.Fprintln(a.stderr)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fail(exitFailed, "%s: not confirmed; nothing was changed", what)
}

// interruptible returns what read returns, or, as soon as a signal ends
// ctx, the *interruption. A read of a terminal, pipe or FIFO cannot be
// called off portably: its goroutine is then left blocked, and ends with
// the process, which exits with the interruption's status right after
// (the caller returns it up to main). What it may still read is dropped
// unread by anyone.
func interruptible[T any](ctx context.Context, read func() (T, error)) (T, error) {
	var zero T
	if i := interrupted(ctx); i != nil {
		return zero, i
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		if i := interrupted(ctx); i != nil {
			return zero, i
		}
		return zero, context.Cause(ctx)
	}
}

// parseTime reads a time for a flag: an RFC 3339 time, a date
// (YYYY-MM-DD, midnight UTC), or a duration from now (such as 90d, 36h,
// or -7d), days counting 24 hours. "never" and "" give the zero time.
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" || s == "none" {
		return time.Time{}, nil
	}
	// A time before 1970 is refused here as the library refuses it:
	// parsed, 0001-01-01 is Go's zero time, which means "never" (a CLI
	// trial: --expires 0001-01-01 cleared the date).
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 {
				return time.Time{}, usage("--%s: %s is before 1970: give a later time, or never", flag, s)
			}
			return t, nil
		}
	}
	if d, err := parseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, usage("--%s: %q is not a time (2006-01-02, 2006-01-02T15:04:05Z, or a duration such as 90d or 12h)", flag, s)
}

// parseDuration is time.ParseDuration that also takes days ("7d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, err
		}
		// A Duration holds about 106,751 days: past that, the conversion
		// would wrap to a negative one.
		ns := days * 24 * float64(time.Hour)
		if math.IsNaN(ns) || math.Abs(ns) >= math.MaxInt64 {
			return 0, fmt.Errorf("%s: out of range", s)
		}
		return time.Duration(ns), nil
	}
	return time.ParseDuration(s)
}

// durationFlag reads a duration flag that takes days.
func durationFlag(flag, s string) (time.Duration, error) {
	d, err := parseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, usage("--%s: %q is not a duration (such as 30d or 12h)", flag, s)
	}
	return d, nil
}

// endsWithNewline reports whether b is empty or ends a line.
func endsWithNewline(b []byte) bool { return len(b) == 0 || bytes.HasSuffix(b, []byte("\n")) }
