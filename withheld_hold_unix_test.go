//go:build unix

package secrets_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestWithheldNotHeldInRun: the trial's oracle through a real child. The
// child prints the start of the withheld value and waits until the test,
// having seen those bytes in the job's output, lets it go on; held, they
// would never come.
func TestWithheldNotHeldInRun(t *testing.T) {
	m, _ := withheldJob(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "go-on")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix string
		held   bool
	}{
		{"withheld-9f3K", false},
		{"withheld-9f3Kq2xZ", false}, // whole, and not masked
		{"delivered-Hq7", true},
	} {
		t.Run(c.prefix, func(t *testing.T) {
			out := &signalWriter{want: []byte(c.prefix), seen: make(chan struct{})}
			done := make(chan error, 1)
			go func() {
				_, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh",
					Args:   []string{"-c", `printf %s "$1"; read x < "$2"; echo`, "sh", c.prefix, fifo},
					Base:   []string{"PATH=/usr/bin:/bin"},
					Stdout: out, Stderr: out})
				done <- err
			}()
			select {
			case <-out.seen:
				if c.held {
					t.Errorf("%q came out before the job wrote on: a delivered value's start is not held", c.prefix)
				}
			case <-time.After(2 * time.Second):
				if !c.held {
					t.Errorf("%q did not come out in 2 s: output held back for a withheld value", c.prefix)
				}
			}
			if err := os.WriteFile(fifo, []byte("\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got, want := out.String(), c.prefix+"\n"; got != want {
				t.Errorf("the job's output: %q, want %q", got, want)
			}
		})
	}
}

// signalWriter closes seen once what was written holds want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want []byte
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
