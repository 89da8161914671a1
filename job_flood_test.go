package secrets_test

import (
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// floodWriter is a host's writer that counts what it receives, samples
// the process's heap as it grows, and closes the job's stdin once it has
// received want bytes.
type floodWriter struct {
	mu       sync.Mutex
	got      int64
	want     int64
	next     int64 // when to sample the heap again
	heapMax  uint64
	text     strings.Builder // the first bytes received
	stdin    *io.PipeWriter
	released bool
}

func (f *floodWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.text.Len() < 64 {
		f.text.Write(p[:min(len(p), 64)])
	}
	f.got += int64(len(p))
	if f.got >= f.next {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		f.heapMax = max(f.heapMax, ms.HeapInuse)
		f.next = f.got + 4<<20
	}
	if f.got >= f.want && !f.released {
		f.released = true
		f.stdin.Close()
	}
	return len(p), nil
}

// A job that writes a value's start and then colour codes without end
// (escapes the redactor drops between a value's bytes) has its output
// passed on while it runs, and the process's heap stays bounded: the job
// writes its 16 MB (kept small for -race; internal/scan's
// TestDropHoldBounded bounds the hold for erase-in-line and YAML folds
// too), then waits for its stdin, which the host's writer closes once it
// has received all but 2 MB of it (what a pipe round may have in flight);
// without that within 10 s, the job fails. The value's start is masked.
func TestRunDroppedEscapesFlow(t *testing.T) {
	python := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A_TOKEN", "alphaSECRET111111")
	const (
		total   = 16 << 20 // what the job writes
		slack   = 2 << 20  // what may be in flight when it has written it all
		heapMax = 8 << 20  // the heap's growth while it runs
	)
	for _, c := range []struct{ name, head, unit string }{
		{"colour", "alp", `\x1b[31m`},
	} {
		t.Run(c.name, func(t *testing.T) {
			unitLen := len(strings.NewReplacer(`\x1b`, "\x1b", `\\`, `\`, `\n`, "\n").Replace(c.unit))
			rounds := total / (unitLen * 100000)
			pr, pw := io.Pipe()
			defer pr.Close()
			f := &floodWriter{want: int64(rounds*unitLen*100000 - slack), stdin: pw}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			script := `import sys, select
o = sys.stdout.buffer
o.write(b'` + c.head + `')
u = b'` + c.unit + `' * 100000
for _ in range(` + strconv.Itoa(rounds) + `):
    o.write(u)
o.flush()
r, _, _ = select.select([sys.stdin], [], [], 10)
sys.exit(0 if r else 3)
`
			res, err := m.Run(context.Background(), "ws", secrets.Job{Path: python, Args: []string{"-c", script}, Stdin: pr, Stdout: f, Stderr: f})
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if res.ExitCode != 0 {
				t.Fatalf("exit %d: within 10 s of the job writing its %d bytes, the host's writer had not received %d of them (it has %d once the job ended)", res.ExitCode, rounds*unitLen*100000, f.want, f.got)
			}
			if f.heapMax > base+heapMax {
				t.Fatalf("heap in use grew from %d to %d bytes, want at most %d more", base, f.heapMax, heapMax)
			}
			if head := f.text.String(); !strings.HasPrefix(head, strings.TrimSuffix(c.head, "alp")+"***") {
				t.Fatalf("output starts %q, want the value's start masked", head)
			}
		})
	}
}
