//go:build unix

package secrets_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A job that leaves a daemon behind: Run reports the main process's
// status with no error, and the daemon (which holds the secrets) is gone
// when Run returns, even one that ignores SIGTERM.
func TestRunEndsWhatTheJobLeaves(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "AUTH_TOKEN", "daemon-holds-this")
	for what, script := range map[string]string{
		"daemon":              `sleep 30 & echo $! > "$PIDFILE"; exit 0`,
		"daemon ignores TERM": `(trap '' TERM; exec sleep 30) & echo $! > "$PIDFILE"; exit 4`,
	} {
		pidfile := filepath.Join(t.TempDir(), "pid")
		var out bytes.Buffer
		start := time.Now()
		res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script},
			Base: append(secrets.DefaultBase(), "PIDFILE="+pidfile), Stdout: &out, Grace: 300 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want := 0
		if what == "daemon ignores TERM" {
			want = 4
		}
		if res.ExitCode != want || time.Since(start) > 5*time.Second {
			t.Fatalf("%s: %+v after %v", what, res, time.Since(start))
		}
		b, err := os.ReadFile(pidfile)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		for i := 0; alive(pid) && i < 100; i++ { // reaped by init, not by us
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			if s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(s), ") Z ") {
				t.Fatalf("%s: the daemon %d outlived Run", what, pid)
			}
		}
	}
}

// A closed Signals channel stops the forwarding: Run does not spin.
func TestRunClosedSignalsDoesNotSpin(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	sigs := make(chan os.Signal)
	close(sigs)
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "sleep 1"}, Signals: sigs})
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	used := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	if used > 300*time.Millisecond {
		t.Fatalf("Run used %v of CPU while the job slept a second", used)
	}
}
