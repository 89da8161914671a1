//go:build linux

package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// strays returns the PIDs of the processes whose command line holds mark.
func strays(t *testing.T, mark string) []int {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, []byte(mark)) {
			var pid int
			fmt.Sscanf(d, "/proc/%d/cmdline", &pid)
			out = append(out, pid)
		}
	}
	return out
}

// A job run as another user that moves a process out of its process
// group (setsid) and exits: the process ends with it, so that it cannot
// read the environment of the user's later jobs (an attacker pass had
// one read the next job's secrets). With NoPIDNamespace it lives on,
// which shows the test can tell.
func TestUserJobEndsWithWhatItLeft(t *testing.T) {
	needRoot(t)
	sh, _ := needProgram(t, "sh"), needProgram(t, "setsid")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "tok-value-0001")
	for _, shared := range []bool{false, true} {
		// A sleep whose argument no other process has: 300.<nanoseconds>.
		mark := fmt.Sprintf("300.%09d", time.Now().Nanosecond())
		// The job exits once the process is out of its group (it made
		// the file after setsid).
		dir := openDir(t)
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		var out lockedBuffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := m.Run(ctx, "ws", secrets.Job{Path: sh, Args: []string{"-c",
			`setsid sh -c ': > "$2"; exec sleep "$1"' sh "$1" "$2" </dev/null >/dev/null 2>&1 &
			i=0; while [ ! -e "$2" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; [ -e "$2" ] && echo left`, "sh", mark, filepath.Join(dir, "out")},
			Stdout: &out, User: nobody(t), NoPIDNamespace: shared, Grace: 50 * time.Millisecond})
		if err != nil || res.ExitCode != 0 || !strings.Contains(out.String(), "left") {
			t.Fatalf("shared=%v: %+v %v %q", shared, res, err, out.String())
		}
		var left []int
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if left = strays(t, mark); len(left) > 0 == shared {
				break
			}
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		switch {
		case !shared && len(left) > 0:
			t.Errorf("a process the job left outside its group outlived it: %v", left)
		case shared && len(left) == 0:
			t.Errorf("with NoPIDNamespace the process the job left is gone: the test cannot tell")
		}
	}
}

// systemProgram finds a program where another user can run it (a
// version manager's shim under /root is not), or skips (fails in CI).
func systemProgram(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		if p := filepath.Join(dir, name); otherExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing from /usr/bin in CI", name)
	}
	t.Skipf("%s is not in /usr/bin", name)
	return ""
}

func otherExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o001 != 0
}

// readyWriter closes ready when the job has written "ready".
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), "ready") {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *readyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// The main process of a job run as another user is its PID namespace's
// first, which the kernel gives only the signals it handles: Run ends one
// that does not handle a forwarded SIGINT, or the SIGTERM of a cancelled
// job, as the signal would have, and says so; one that handles it gets it.
func TestUserJobSignals(t *testing.T) {
	needRoot(t)
	sh := needProgram(t, "sh")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "tok-value-0001")
	py := systemProgram(t, "python3")
	run := func(ctx context.Context, script string, signal os.Signal) (secrets.JobResult, string, error) {
		t.Helper()
		w := &readyWriter{ready: make(chan struct{})}
		sigs := make(chan os.Signal, 1)
		done := make(chan struct{})
		var res secrets.JobResult
		var err error
		go func() {
			defer close(done)
			path, args := sh, []string{"-c", script}
			if strings.HasPrefix(script, "import") {
				path, args = py, []string{"-c", script}
			}
			res, err = m.Run(ctx, "ws", secrets.Job{Path: path, Args: args, Stdout: w, User: nobody(t), Signals: sigs})
		}()
		select {
		case <-w.ready:
		case <-done:
			t.Fatalf("the job ended before it was ready: %+v %v %q", res, err, w.String())
		}
		if signal != nil {
			sigs <- signal
		}
		<-done
		return res, w.String(), err
	}
	// A program that leaves SIGINT and SIGTERM to their default (it
	// says ready once it has).
	const plain = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_DFL)\nprint('ready', flush=True)\ntime.sleep(20)"
	res, _, err := run(context.Background(), plain, os.Interrupt)
	if err != nil || res.Signal != os.Interrupt {
		t.Errorf("SIGINT to a program that does not handle it: %+v %v", res, err)
	}
	res, out, err := run(context.Background(), `trap 'echo caught; exit 3' INT; echo ready; sleep 20 & wait`, os.Interrupt)
	if err != nil || res.ExitCode != 3 || res.Signal != nil || !strings.Contains(out, "caught") {
		t.Errorf("SIGINT to a shell that handles it: %+v %v %q", res, err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(200 * time.Millisecond); cancel() }()
	res, _, err = run(ctx, plain, nil)
	if !errors.Is(err, context.Canceled) || res.Signal != syscall.SIGTERM {
		t.Errorf("a cancelled job: %+v %v", res, err)
	}
}

// TestUserJobSignalsItself: as its PID namespace's first process, a job
// does not end by a signal it sends itself without handling it (Linux
// ignores it, as Job.NoPIDNamespace's doc and the CLI's exit statuses
// say); with NoPIDNamespace it does.
func TestUserJobSignalsItself(t *testing.T) {
	needRoot(t)
	sh := needProgram(t, "sh")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	for _, own := range []bool{true, false} {
		var out strings.Builder
		res, err := m.Run(context.Background(), "ws", secrets.Job{Path: sh, Args: []string{"-c", `kill -TERM $$; echo went on`},
			Stdout: &out, User: nobody(t), NoPIDNamespace: !own})
		if err != nil {
			t.Fatal(err)
		}
		switch went := strings.Contains(out.String(), "went on"); {
		case own && (!went || res.ExitCode != 0 || res.Signal != nil):
			t.Errorf("in its own namespace: %+v %q, want it to go on and exit 0", res, out.String())
		case !own && (went || res.Signal != syscall.SIGTERM):
			t.Errorf("without a namespace: %+v %q, want it ended by SIGTERM", res, out.String())
		}
	}
}

// A descriptor the backend inherited without close-on-exec (a shell's
// "7<file") does not reach a job of another user, who could otherwise read
// a file only root may open (an attacker pass read /etc/shadow so).
func TestUserJobInheritsNoDescriptor(t *testing.T) {
	needRoot(t)
	py := systemProgram(t, "python3") // reads any descriptor: sh's "<&N" takes one digit
	path := filepath.Join(t.TempDir(), "root-only")
	if err := os.WriteFile(path, []byte("root-only-content"), 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY, 0) // no O_CLOEXEC, as a shell's redirection
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "tok-value-0001")
	var out lockedBuffer
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c",
		fmt.Sprintf("import os\ntry:\n    print(os.read(%d, 100).decode(), 'read')\nexcept OSError:\n    print('no descriptor')", fd)},
		Stdout: &out, User: nobody(t)})
	if err != nil || res.ExitCode != 0 || strings.Contains(out.String(), "root-only-content") || !strings.Contains(out.String(), "no descriptor") {
		t.Fatalf("%+v %v %q", res, err, out.String())
	}
}
