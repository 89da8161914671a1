//go:build unix

package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
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

// LookupUser's unknown user wraps the value os/user returns, by name or
// by numeric ID, so that errors.As finds it as the doc says.
func TestLookupUserUnknown(t *testing.T) {
	_, err := secrets.LookupUser("no-such-user-7f3a")
	var byName user.UnknownUserError
	if !errors.As(err, &byName) || string(byName) != "no-such-user-7f3a" {
		t.Fatalf("an unknown name: %v, want a user.UnknownUserError", err)
	}
	_, err = secrets.LookupUser("4000000123")
	var byID user.UnknownUserIdError
	if !errors.As(err, &byID) || int(byID) != 4000000123 {
		t.Fatalf("an unknown ID: %v, want a user.UnknownUserIdError", err)
	}
}

// errOutput is the error of a writer that fails.
var errOutput = errors.New("output gone")

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errOutput }

// A job whose output writer fails runs on to its exit: Run returns its
// JobResult (the exit status of the whole script) with the writer's error.
func TestRunWriterFailsAfterExit(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mark := filepath.Join(t.TempDir(), "ran-on")
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh",
		Args:   []string{"-c", `echo one; echo two >&2; touch "$1"; exit 3`, "sh", mark},
		Stdout: failingWriter{}, Stderr: failingWriter{}})
	if !errors.Is(err, errOutput) {
		t.Fatalf("Run: %v, want the writer's error", err)
	}
	if res.ExitCode != 3 {
		t.Fatalf("JobResult %+v, want exit code 3", res)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("the job did not run on after its output failed: %v", err)
	}
}
