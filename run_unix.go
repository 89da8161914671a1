//go:build unix

package secrets

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// setProcAttr makes cmd the leader of a new process group, so that the
// job and what it starts can be signalled and ended together, and run as
// u if not nil (with u's groups only).
func setProcAttr(cmd *exec.Cmd, u *OSUser) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if u != nil {
		groups := append([]uint32{}, u.Groups...)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}
	}
	return nil
}

// ownedByUs reports whether the file belongs to the process's effective
// user.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// lockJob makes the lock file path in root, already locked: it is made
// under a temporary name, locked, then renamed, so that a sweep never
// finds it unlocked.
func lockJob(root, path string) (*os.File, error) {
	f, err := os.CreateTemp(root, lockTemp)
	if err != nil {
		return nil, err
	}
	err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		f.Close()
		return nil, err
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = syscall.Flock(int(fd), how) }); err != nil {
		return err
	}
	return ferr
}

// tryLock opens path and locks it if no process holds it. It returns the
// open file if it got the lock, nil if another process holds it.
func tryLock(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, err
	}
	return f, nil
}

// lockHeld reports whether a process holds the lock of path.
func lockHeld(path string) (bool, error) {
	f, err := tryLock(path)
	if f != nil {
		f.Close()
	}
	return f == nil, err
}

// sweepLocked removes the job folder dir if no process holds its lock,
// and reports whether there was one to remove.
func sweepLocked(dir string) (bool, error) {
	lock, err := tryLock(dir + lockSuffix)
	if lock == nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = nil // removed since it was listed
		}
		return false, err
	}
	_, statErr := os.Lstat(dir)
	return statErr == nil, unlockJob(dir, lock)
}

// signalGroup sends sig to the process group that pid leads.
func signalGroup(pid int, sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		syscall.Kill(-pid, s)
	}
}

// groupAlive reports whether a process of the group that pid led is left.
func groupAlive(pid int) bool {
	return !errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH)
}

// endGroup ends what is left of the process group that pid led: SIGTERM,
// then SIGKILL if anything is left after grace. It returns once the group
// is empty, or a second after the SIGKILL.
func endGroup(pid int, grace time.Duration) {
	if !groupAlive(pid) {
		return
	}
	syscall.Kill(-pid, syscall.SIGTERM)
	if waitGroup(pid, grace) {
		return
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	waitGroup(pid, time.Second)
}

// waitGroup waits up to d for the group that pid led to be empty.
func waitGroup(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for groupAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// exitSignal returns the signal that ended the process, or nil.
func exitSignal(ps *os.ProcessState) os.Signal {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal()
	}
	return nil
}

// execLimit is the room execve gives the argument and environment strings
// and their pointers: a quarter of the stack limit, at most 6 MiB and at
// least 128 KiB, as Linux computes it.
func execLimit() int64 {
	var rl syscall.Rlimit
	limit := int64(8<<20) / 4
	if syscall.Getrlimit(syscall.RLIMIT_STACK, &rl) == nil {
		limit = int64(min(rl.Cur, 1<<40) / 4) // RLIM_INFINITY is the largest uint64
	}
	return min(max(limit, MaxEnvString), 6<<20)
}

// wait runs the pump whenever s's pipe has bytes or ends, until it ends.
// The pump reads the pipe without waiting (readNow), as it reads the
// other streams' pipes.
func (o *output) wait(s *stream) {
	rc, err := s.r.SyscallConn()
	if err == nil {
		err = rc.Read(func(uintptr) bool {
			o.mu.Lock()
			defer o.mu.Unlock()
			o.pump()
			return s.eof
		})
	}
	if err != nil { // closed (see runJob)
		o.mu.Lock()
		s.eof = true
		o.mu.Unlock()
	}
}

// readNow reads what the pipe f holds, without waiting: 0 and nil if it
// is empty, io.EOF at its end.
func readNow(f *os.File, b []byte) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	cerr := rc.Control(func(fd uintptr) {
		for {
			n, rerr = syscall.Read(int(fd), b)
			if rerr != syscall.EINTR {
				return
			}
		}
	})
	switch {
	case cerr != nil:
		return 0, cerr
	case rerr == syscall.EAGAIN:
		return 0, nil
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
