package secrets_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// withheldJob prepares a job of ws that gets the group's API_TOKEN and
// has its DB_PASSWORD withheld.
func withheldJob(t *testing.T) (*secrets.Manager, *secrets.PreparedJob) {
	t.Helper()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Parents: chain(wsLevels),
		Withhold: func(_ context.Context, _ secrets.Request, o secrets.Offer) bool {
			return o.Variable == "DB_PASSWORD" || o.Variable == "PERIODIC"
		}})
	mustSet(t, m, "group:acme", "DB_PASSWORD", "withheld-9f3Kq2xZ")
	mustSet(t, m, "group:acme", "PERIODIC", strings.Repeat("a", 40)+"Z")
	mustSet(t, m, "group:acme", "API_TOKEN", "delivered-Hq7Lm3")
	job, err := m.Prepare(context.Background(), "ws", &secrets.PrepareOptions{Base: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { job.Close() })
	return m, job
}

// TestWithheldNotHeld: a job's output is held back while it may be the
// start of a value the job got, never for one Withhold kept from it, so
// that whether output is held tells the job nothing of a value it does
// not have (an attacker trial read a withheld token a character at a time
// from the order of its stdout and stderr lines). A withheld value that
// comes whole in one write is masked; one split across two shows the
// first part.
func TestWithheldNotHeld(t *testing.T) {
	_, job := withheldJob(t)
	for _, c := range []struct {
		name   string
		writes []string
		want   string // after the last write, before a Flush
	}{
		{"a withheld value's start passes at once", []string{"withheld-9f3K"}, "withheld-9f3K"},
		{"a delivered value's start is held", []string{"delivered-Hq7"}, ""},
		{"a withheld value whole in one write is masked", []string{"it is withheld-9f3Kq2xZ!"}, "it is ***!"},
		{"a withheld value in two writes shows its first part", []string{"withheld-9f3K", "q2xZ!"}, "withheld-9f3K***!"},
		{"a withheld value within held output is masked whole", []string{"delivered-Hq7", "withheld-9f3Kq2xZ"}, "delivered-Hq7***"},
		{"a delivered value in two writes is masked whole", []string{"delivered-Hq7", "Lm3!"}, "***!"},
		// A match in progress is never masked for being cut by the
		// scanner's cap on candidates: the start of a value that repeats
		// itself, followed more than 32 times at once (see below for the
		// cap on escapes).
		{"a repeating withheld value's start", []string{strings.Repeat("a", 40)}, strings.Repeat("a", 40)},
		{"a repeating withheld value whole", []string{strings.Repeat("a", 40) + "Z!"}, "***!"},
		{"a withheld value amid colour codes, whole", []string{"withheld-\x1b[31m9f3Kq2xZ\x1b[0m!"}, "***\x1b[0m!"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			w := job.Redactor().NewWriter(&out)
			for _, s := range c.writes {
				if _, err := w.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			if got := out.String(); got != c.want {
				i := 0
				for i < min(len(got), len(c.want)) && got[i] == c.want[i] {
					i++
				}
				t.Errorf("%d bytes, want %d: from byte %d, %q, want %q", len(got), len(c.want), i, got[i:min(len(got), i+40)], c.want[i:min(len(c.want), i+40)])
			}
		})
	}
}

// TestWithheldGuessesLookAlike: a match in progress is never masked for
// being cut by the scanner's cap on the escapes it spans, which masks a
// delivered value's start followed by thousands of colour codes or YAML
// folds (a review read a withheld value byte by byte from whether its
// guess came out masked). The output of a right guess is the output of a
// wrong one, the guess aside.
func TestWithheldGuessesLookAlike(t *testing.T) {
	_, job := withheldJob(t)
	out := func(writes ...string) string {
		var b bytes.Buffer
		w := job.Redactor().NewWriter(&b)
		for _, s := range writes {
			w.Write([]byte(s))
		}
		return b.String()
	}
	for _, c := range []struct{ name, open, flood string }{
		{"colour codes", "", strings.Repeat("\x1b[0m", 800)},
		{"YAML folds", `"`, strings.Repeat("\\\n  ", 700)},
	} {
		right, wrong := out(c.open+"withheld-9f3", c.flood), out(c.open+"withheld-8f3", c.flood)
		if strings.Contains(right, "***") || strings.Contains(wrong, "***") {
			t.Errorf("%s: a guess came out masked (right %t, wrong %t)", c.name, strings.Contains(right, "***"), strings.Contains(wrong, "***"))
		}
		if strings.Replace(wrong, "withheld-8f3", "withheld-9f3", 1) != right {
			t.Errorf("%s: the right guess's output (%d bytes) differs from the wrong one's (%d bytes)", c.name, len(right), len(wrong))
		}
		if !strings.HasPrefix(right, c.open+"withheld-9f3") {
			t.Errorf("%s: the guess was held", c.name)
		}
	}
	// The cap is there: a delivered value's start so followed is masked.
	if got := out("delivered-Hq7", strings.Repeat("\x1b[K", 600)); !strings.Contains(got, "***") {
		t.Error("a delivered value's start before many colour codes was not masked: the cases above test nothing")
	}
}
