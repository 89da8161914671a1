//go:build unix

package secrets

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// setProcAttr makes cmd the leader of a new process group, so that the
// job and what it starts can be signalled and ended together, and run as
// u if not nil (with u's groups only). Another user's job leads a session
// of its own: it has no controlling terminal, so it can neither open
// /dev/tty nor push input into the operator's terminal (TIOCSTI); with
// ownPIDs it also starts a PID namespace of its own (Linux), whose
// processes all end with its main process. On Linux the main process is
// killed if the thread that starts it exits (dieWithParent).
// It reports whether the job gets a PID namespace of its own.
func setProcAttr(cmd *exec.Cmd, u *OSUser, ownPIDs bool) (bool, error) {
	if u == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		dieWithParent(cmd.SysProcAttr)
		return false, nil
	}
	groups := append([]uint32{}, u.Groups...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}}
	dieWithParent(cmd.SysProcAttr)
	return ownPIDs && pidNamespace(cmd.SysProcAttr), nil
}

// isTerminal reports whether f is a terminal (a character device: /dev/null
// too, which a pipe carries as well).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ownedByUs reports whether the file belongs to the process's effective
// user.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// sameDevice reports whether fi is a file on the file system of the
// directory dir.
func sameDevice(dir string, fi fs.FileInfo) bool {
	d, err := os.Stat(dir)
	if err != nil {
		return false
	}
	a, ok1 := d.Sys().(*syscall.Stat_t)
	b, ok2 := fi.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Dev == b.Dev
}

// safeParent returns dir, its symbolic links resolved, if that directory
// and every directory above it are ones only the backend's user or root
// may change: each owned by root or the backend's user and writable by no
// one else (neither its group nor others) unless sticky, as /tmp is.
// Otherwise a user who may rename entries in one of them could move the
// root of the job folders, or what leads to it, between the backend's
// check of the root and its writes: a trial had the backend, as root,
// write a file secret into a directory of its choosing and give that
// directory to the job's user. Nothing is written; ErrInsecureDir. (Where
// root is not mapped, in a user namespace, / shows as another user's: name
// no Dir there.)
func safeParent(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	// Each link on the way is followed only if root or the backend's user
	// made it, in a directory only they may change: a link another user
	// owns could lead anywhere (onto a file system of theirs whose owners
	// are whatever it says).
	p := "/"
	for _, el := range strings.Split(abs, "/") {
		if el == "" {
			continue
		}
		next := filepath.Join(p, el)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 0 && int(st.Uid) != os.Geteuid() {
				return "", errorf(ErrInsecureDir, "%s is a link of another user's", next)
			}
			if err := safeChain(p); err != nil {
				return "", err
			}
			if next, err = filepath.EvalSymlinks(next); err != nil {
				return "", err
			}
		}
		p = next
	}
	return p, safeChain(p)
}

// safeChain checks dir, a path without links, and every directory above
// it (see safeParent).
func safeChain(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		switch {
		case !fi.IsDir():
			return errorf(ErrInsecureDir, "%s is not a directory", p)
		case !ok || st.Uid != 0 && int(st.Uid) != os.Geteuid():
			return errorf(ErrInsecureDir, "%s belongs to another user, who could move what is in it", p)
		case fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0:
			return errorf(ErrInsecureDir, "%s is writable by its group or others and not sticky: they could move what is in it (chmod go-w)", p)
		case isFUSE(p):
			return errorf(ErrInsecureDir, "%s is on a FUSE file system, whose owners are what its daemon says", p)
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
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

// A group is a running job's process group, led by proc. With init,
// proc is also the first process of a PID namespace of its own, to which
// the kernel gives only the signals it handles: a signal that ends a
// process by default ends it with SIGKILL instead (deliver), which ended
// remembers.
type group struct {
	proc  *os.Process // the main process signalled through it, never by a PID reused since
	init  bool
	ended atomic.Pointer[syscall.Signal]
}

// signal sends sig to the process group, as a shell's Ctrl-C does.
func (g *group) signal(sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		syscall.Kill(-g.proc.Pid, s)
		g.deliver(s)
	}
}

// deliver makes s do to a main process that is its namespace's first
// what it does to any other: one that neither handles nor ignores a
// signal that ends a process by default is ended, by SIGKILL.
func (g *group) deliver(s syscall.Signal) {
	switch s {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGBUS,
		syscall.SIGFPE, syscall.SIGUSR1, syscall.SIGSEGV, syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM,
		syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGPROF, syscall.SIGSYS:
	default:
		return // its default does not end a process (or is not POSIX's)
	}
	if g.init && !handles(g.proc.Pid, s) && g.proc.Signal(syscall.SIGKILL) == nil {
		g.ended.CompareAndSwap(nil, &s)
	}
}

// endedBy is the signal deliver ended the main process for, or nil.
func (g *group) endedBy() os.Signal {
	if s := g.ended.Load(); s != nil {
		return *s
	}
	return nil
}

// alive reports whether a process of the group is left.
func (g *group) alive() bool {
	return !errors.Is(syscall.Kill(-g.proc.Pid, 0), syscall.ESRCH)
}

// end ends what is left of the group: SIGTERM, then SIGKILL if anything
// is left after grace. It returns once the group is empty, or a second
// after the SIGKILL.
func (g *group) end(grace time.Duration) {
	if !g.alive() {
		return
	}
	g.signal(syscall.SIGTERM)
	if g.wait(grace) {
		return
	}
	syscall.Kill(-g.proc.Pid, syscall.SIGKILL)
	g.wait(time.Second)
}

// wait waits up to d for the group to be empty.
func (g *group) wait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for g.alive() {
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
