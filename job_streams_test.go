package secrets_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// A value printed once on stdout, whose stdio buffer is flushed in the
// middle of it, with a line written to stderr before the rest, is masked
// when one writer is given as both streams: each stream is read from a
// pipe of its own, through a RedactWriter of its own. Both lines' text
// arrives, each stream's bytes in order.
func TestRunOneWriterValueCutByOtherStream(t *testing.T) {
	const token = "test-token-AbCdEf0123456789xyz"
	perl := needProgram(t, "perl")
	python := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", token)
	for _, c := range []struct {
		name     string
		path     string
		args     []string
		wantOut  string // stdout, with the value masked
		wantErrs string // stderr
	}{
		{
			// perl's stdout buffer is 8192 bytes: it is flushed after
			// "token: test", and warn writes stderr at once.
			name:     "perl",
			path:     perl,
			args:     []string{"-e", `print "x" x 8180, "\n"; print "token: $ENV{TOKEN}\n"; warn "retrying\n"; print "done\n"`},
			wantOut:  strings.Repeat("x", 8180) + "\ntoken: ***\ndone\n",
			wantErrs: "retrying\n",
		},
		{
			name: "python3",
			path: python,
			args: []string{"-c", `import os, sys
tok = os.environ["TOKEN"]
sys.stdout.write("token: " + tok[:9]); sys.stdout.flush()
sys.stderr.write("retrying\n"); sys.stderr.flush()
sys.stdout.write(tok[9:] + "\n"); sys.stdout.write("done\n"); sys.stdout.flush()
`},
			wantOut:  "token: ***\ndone\n",
			wantErrs: "retrying\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 20 {
				var log bytes.Buffer
				res, err := m.Run(context.Background(), "ws", secrets.Job{Path: c.path, Args: c.args, Stdout: &log, Stderr: &log})
				if err != nil || res.ExitCode != 0 {
					t.Fatalf("%+v %v: %q", res, err, tail(log.String()))
				}
				got := log.String()
				if strings.Contains(got, token[9:]) || strings.Contains(got, "AbCdEf") {
					t.Fatalf("the value shows: %q", tail(got))
				}
				// The stderr line comes whole, somewhere; without it the
				// rest is stdout, in order.
				i := strings.Index(got, c.wantErrs)
				if i < 0 {
					t.Fatalf("no %q in %q", c.wantErrs, tail(got))
				}
				if out := got[:i] + got[i+len(c.wantErrs):]; out != c.wantOut {
					t.Fatalf("stdout %q, want %q", tail(out), tail(c.wantOut))
				}
			}
		})
	}
}

// tail is the end of a long log, for a failure message.
func tail(s string) string { return s[max(len(s)-120, 0):] }
