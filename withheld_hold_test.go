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

// TestWithheldNotMasked: a value Withhold keeps from a job is not
// masked in its output: a job's output scanned for a value it does not
// have told the job what the value begins with, first from whether its
// output was held (an attacker trial: the order of its stdout and stderr
// lines), then from the scanner's caps on a match in progress (a review),
// then from how long the scan took (a trial timed 32 MiB of guesses). A
// delivered value's start is still held, and masked once whole.
func TestWithheldNotMasked(t *testing.T) {
	_, job := withheldJob(t)
	for _, c := range []struct {
		name   string
		writes []string
		want   string // after the last write, before a Flush
	}{
		{"a withheld value's start passes at once", []string{"withheld-9f3K"}, "withheld-9f3K"},
		{"a withheld value whole is not masked", []string{"it is withheld-9f3Kq2xZ!"}, "it is withheld-9f3Kq2xZ!"},
		{"a repeating withheld value's start", []string{strings.Repeat("a", 40)}, strings.Repeat("a", 40)},
		{"a delivered value's start is held", []string{"delivered-Hq7"}, ""},
		{"a delivered value in two writes is masked whole", []string{"delivered-Hq7", "Lm3!"}, "***!"},
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
				t.Errorf("after %q: %q, want %q", c.writes, got, c.want)
			}
		})
	}
}
