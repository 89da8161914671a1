//go:build linux

package secrets_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// killedEnv tells TestKilledBackendHelper which job to run; markEnv is the
// duration its sleeps have, which no other process has.
const (
	killedEnv = "SECRETS_TEST_KILLED_BACKEND"
	markEnv   = "SECRETS_TEST_KILLED_MARK"
)

// TestKilledBackendHelper is not a test: run by TestJobEndsWithKilledBackend
// with killedEnv set, it runs a job that sleeps, with a secret in its
// environment, and waits to be killed.
func TestKilledBackendHelper(t *testing.T) {
	kind, mark := os.Getenv(killedEnv), os.Getenv(markEnv)
	if kind == "" {
		return
	}
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "AUTH_TOKEN", "tok-killed-backend-0001")
	// The main process starts a second sleep and sleeps too.
	job := secrets.Job{Path: "/bin/sh", Args: []string{"-c", `sleep "$1" & sleep "$1"; wait`, "sh", mark}}
	switch kind {
	case "user":
		job.User = nobody(t)
	case "user-shared-pids":
		job.User, job.NoPIDNamespace = nobody(t), true
	case "same-user":
	default:
		t.Fatalf("kind %q", kind)
	}
	res, err := m.Run(context.Background(), "ws", job)
	t.Fatalf("the job ended before the helper was killed: %+v %v", res, err)
}

// When the process running Run is killed (SIGKILL: it cannot end the
// job), the job's main process is killed by the kernel (Linux's
// parent-death signal): a job of another user in a PID namespace of its
// own ends whole, the process it started too; without the namespace, and
// for a job of the backend's user, its main process ends (a child it
// started may live on, as documented). Before, the job lived on, its
// secrets in its environment, re-parented to PID 1.
func TestJobEndsWithKilledBackend(t *testing.T) {
	needRoot(t)
	needProgram(t, "sleep")
	for _, kind := range []string{"user", "user-shared-pids", "same-user"} {
		t.Run(kind, func(t *testing.T) {
			// A sleep whose argument no other process has: 3017.<nanoseconds>.
			mark := fmt.Sprintf("3017.%09d", time.Now().Nanosecond())
			t.Cleanup(func() {
				for _, pid := range strays(t, mark) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			helper := exec.Command(os.Args[0], "-test.run=^TestKilledBackendHelper$")
			helper.Env = append(os.Environ(), killedEnv+"="+kind, markEnv+"="+mark)
			var out strings.Builder
			helper.Stdout, helper.Stderr = &out, &out
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			defer helper.Wait()
			defer helper.Process.Kill()
			// Both sleeps run: the job started.
			var running []int
			for deadline := time.Now().Add(20 * time.Second); len(running) < 2; time.Sleep(10 * time.Millisecond) {
				if running = sleeps(t, mark); time.Now().After(deadline) {
					t.Fatalf("the job's sleeps did not start: %v; helper: %s", running, out.String())
				}
			}
			mains := mainSleeps(t, running)
			helper.Process.Kill()
			helper.Wait()
			var left []int
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if left = sleeps(t, mark); len(left) == 0 || kind != "user" && !containsAny(left, mains) {
					break
				}
			}
			switch {
			case kind == "user" && len(left) > 0:
				t.Errorf("the job's processes %v outlived the killed backend", left)
			case containsAny(left, mains):
				t.Errorf("the job's main process %v outlived the killed backend (left: %v)", mains, left)
			}
		})
	}
}

// sleeps are the running "sleep mark" processes and the job's main
// process, whose command line also holds mark (zombies excluded).
func sleeps(t *testing.T, mark string) []int {
	t.Helper()
	var out []int
	for _, pid := range strays(t, mark) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil && !strings.Contains(string(b), ") Z ") {
			out = append(out, pid)
		}
	}
	return out
}

// mainSleeps are the job's main process (sh) among pids.
func mainSleeps(t *testing.T, pids []int) []int {
	t.Helper()
	var out []int
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(b), "/bin/sh\x00") {
			out = append(out, pid)
		}
	}
	if len(out) != 1 {
		t.Fatalf("the job's main process is not one of %v", pids)
	}
	return out
}

func containsAny(pids, of []int) bool {
	for _, p := range pids {
		for _, q := range of {
			if p == q {
				return true
			}
		}
	}
	return false
}

// The kernel's parent-death signal follows the thread that started the
// job, not the process: while other goroutines end their threads (a
// goroutine that exits locked to its thread ends it), a job of the
// backend's own user runs to its end, never killed by it.
func TestJobOutlivesRetiredThreads(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "AUTH_TOKEN", "tok-retired-thread-0001")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			}()
			<-ended
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for i := range 40 { // without the thread kept, one in 20 to 40 was killed
		res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "sleep 0.05"}})
		if err != nil || res.ExitCode != 0 || res.Signal != nil {
			t.Fatalf("job %d: %+v %v", i, res, err)
		}
	}
}

// TestUserJobGroupsOnly: a job run as another user has that user's
// groups only, never the backend's supplementary groups (the backend here
// is given two, as a service's account may have; the same job run as the
// backend's own user shows them).
func TestUserJobGroupsOnly(t *testing.T) {
	needRoot(t)
	id := needProgram(t, "id")
	before, err := syscall.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setgroups([]int{4, 27}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setgroups(before); err != nil {
			t.Errorf("restore the groups: %v", err)
		}
	})
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	groups := func(u *secrets.OSUser) []string {
		t.Helper()
		var out strings.Builder
		if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: id, Args: []string{"-G"}, Stdout: &out, User: u}); err != nil {
			t.Fatal(err)
		}
		g := strings.Fields(out.String())
		slices.Sort(g)
		return g
	}
	if g := groups(nil); !slices.Contains(g, "4") || !slices.Contains(g, "27") {
		t.Fatalf("the backend's own job has groups %v: the test did not give it 4 and 27", g)
	}
	for _, c := range []struct {
		u    *secrets.OSUser
		want []string
	}{
		{&secrets.OSUser{UID: 61000, GID: 61000}, []string{"61000"}},
		{&secrets.OSUser{UID: 61000, GID: 61000, Groups: []uint32{61001}}, []string{"61000", "61001"}},
	} {
		if d := cmp.Diff(c.want, groups(c.u)); d != "" {
			t.Errorf("a job as %+v has groups (-want +got):\n%s", *c.u, d)
		}
	}
}
