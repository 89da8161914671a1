//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/dataspace/secrets"
)

// claimUser makes sure that nothing else runs as u while the job does,
// unless shared: two processes of one user read each other's environment
// and memory through /proc, which a job's PID namespace does not hide. It
// holds a lock for u's UID until release, so that two secretsctl runs as
// one user never overlap, and refuses when a process of u runs outside
// secretsctl (a daemon as nobody, say: the job could read it, or take it
// over and outlive itself).
func claimUser(u *secrets.OSUser, shared bool) (release func(), err error) {
	if shared {
		return func() {}, nil
	}
	dir := lockDir()
	fd, path, err := openLock(dir, u.UID)
	if dir == runLocks && (errors.Is(err, syscall.EROFS) || errors.Is(err, os.ErrPermission)) {
		// /run read-only (systemd's ProtectSystem=strict, a read-only
		// container): the temporary folder, as before.
		fd, path, err = openLock(filepath.Join(os.TempDir(), "secretsctl-users"), u.UID)
	}
	if err != nil {
		return nil, err
	}
	lock := os.NewFile(uintptr(fd), path)
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fail(exitRefused, "run: another secretsctl run as user %d is running, and jobs of one user read each other's secrets: "+
				"give --user a user of its own (or --shared-user to run anyway)", u.UID)
		}
		return nil, fmt.Errorf("run: the lock %s: %w", path, err)
	}
	if pid, name := processOf(u.UID); pid != 0 {
		lock.Close()
		return nil, fail(exitRefused, "run: process %d (%s) runs as user %d, which the job could read or take over: "+
			"give --user a user nothing else runs as (or --shared-user to run anyway)", pid, name, u.UID)
	}
	return func() { lock.Close() }, nil
}

// openLock opens (creating it) the lock file of uid in dir, a folder of
// secretsctl's user only, which it makes if missing.
func openLock(dir string, uid uint32) (fd int, path string, err error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return -1, "", fmt.Errorf("run: the lock folder %s: %w", dir, err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		return -1, "", fail(exitFailed, "run: %s is not a folder of secretsctl's user only (another user may have made it first): remove it", dir)
	}
	path = filepath.Join(dir, fmt.Sprintf("uid-%d.lock", uid))
	fd, err = syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, "", fmt.Errorf("run: the lock %s: %w", path, err)
	}
	return fd, path, nil
}

// runLocks is root's folder of the users' locks.
const runLocks = "/run/secretsctl-users"

// lockDir is the folder of the users' locks: /run/secretsctl-users for
// root (who alone can run a job as another user) where /run is root's
// alone, so that no other user can make the folder first and stop every
// run (a trial did so in /tmp), and every run of the machine sees the same
// locks whatever its TMPDIR; else (and where /run is read-only)
// secretsctl-users in the temporary folder.
func lockDir() string {
	if os.Geteuid() == 0 {
		if fi, err := os.Lstat("/run"); err == nil && fi.IsDir() && fi.Mode().Perm()&0o022 == 0 && fi.Sys().(*syscall.Stat_t).Uid == 0 {
			return runLocks
		}
	}
	return filepath.Join(os.TempDir(), "secretsctl-users")
}

// processOf returns a live process of the user uid and its command
// name, from /proc (0 if none, or no /proc). A process counts when its
// status, or any of its threads', is alive with uid as its real,
// effective, saved or file system user: credentials are a thread's. A
// process whose first thread has exited (a zombie as /proc/PID/status
// shows it) lives on while it has other threads (a trial hid a reader of
// /proc so), even ones that come and go faster than they can be listed (a
// review hid one so): its status's thread count says so.
func processOf(uid uint32) (int, string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, ""
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		if st, ok := readStatus(filepath.Join(dir, "status")); ok && st.ours(uid) && (st.alive() || st.threads > 1) {
			return pid, st.name
		}
		tasks, err := os.ReadDir(filepath.Join(dir, "task"))
		if err != nil {
			continue // gone
		}
		for _, task := range tasks {
			if st, ok := readStatus(filepath.Join(dir, "task", task.Name(), "status")); ok && st.ours(uid) && st.alive() {
				return pid, st.name
			}
		}
	}
	return 0, ""
}

// A procStatus is what processOf reads of a status file.
type procStatus struct {
	name, state string
	uids        []uint32 // real, effective, saved, file system
	threads     int
}

func (st procStatus) alive() bool { return st.state != "Z" && st.state != "X" }

func (st procStatus) ours(uid uint32) bool { return slices.Contains(st.uids, uid) }

// readStatus reads a process's or thread's status file.
func readStatus(path string) (procStatus, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procStatus{}, false
	}
	var st procStatus
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch {
		case k == "Name" && len(f) > 0:
			st.name = f[0]
		case k == "State" && len(f) > 0:
			st.state = f[0]
		case k == "Threads" && len(f) > 0:
			st.threads, _ = strconv.Atoi(f[0])
		case k == "Uid":
			for _, id := range f {
				if n, err := strconv.ParseUint(id, 10, 32); err == nil {
					st.uids = append(st.uids, uint32(n))
				}
			}
		}
	}
	return st, true
}

// forwarded are the signals run passes on to the job rather than act
// on: those an operator, a supervisor or a terminal sends a wrapper for
// its program (SIGABRT: systemd's watchdog). The stop signals (SIGTSTP,
// SIGCONT, ...) keep their default: Run does not emulate them for a PID
// namespace's first process. Signals about secretsctl's own process are
// not the job's: SIGPIPE (a write of its own), SIGCHLD (its children),
// SIGURG (the Go runtime's preemption, many a second), SIGPROF,
// SIGVTALRM, SIGXCPU, SIGXFSZ, and the faults. The help text and the
// README list them.
var forwarded = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGWINCH}
