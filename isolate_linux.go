package secrets

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// HardenProcess makes the calling process unreadable to other processes
// of its user, the jobs it runs as its own user among them. Call it once,
// at the start of main, before the master key or the database password
// is read; it changes the whole process.
//
// On Linux it sets the process not dumpable (prctl PR_SET_DUMPABLE 0) and
// its core file size limit to 0 (RLIMIT_CORE). Then a process of the same
// user that lacks CAP_SYS_PTRACE (a job run without [Job].User, say)
// cannot read its /proc/PID/environ, mem, maps or fd links, nor attach a
// debugger to it, and a crash writes no core file holding keys and
// values.
//
// It does not protect against root or any process with CAP_SYS_PTRACE,
// nor against what the user can read without reading the process: the
// master key file, the files of other jobs of that user, the /proc files
// of those jobs (they are dumpable again: it is not inherited across
// exec), nor /proc/PID/cmdline, which every user may read: never put a
// key, a value or a connection string on a command line. Changing the
// process's user or group IDs makes it dumpable again: call HardenProcess
// after. Only a job run as another user ([Job].User), in a container or
// in a VM, is kept from its host.
//
// On other systems it changes nothing and returns an error that matches
// [errors.ErrUnsupported].
func HardenProcess() error {
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		return wrapf(err, "harden: core file limit")
	}
	const prSetDumpable = 4
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); e != 0 {
		return wrapf(e, "harden: not dumpable")
	}
	return nil
}

// foreground, if stdin is the calling process's controlling terminal and
// the caller's process group is in its foreground, sets cmd to put the
// job's process group in the foreground (so that the job may read the
// terminal, and Ctrl-C reaches it). It returns a function that gives the
// terminal back to the caller's group, to call once the job ends (or
// fails to start); nil if there is nothing to give back.
func foreground(cmd *exec.Cmd, stdin io.Reader) func() {
	f, ok := stdin.(*os.File)
	if !ok {
		return nil
	}
	fd := int(f.Fd())
	var pgrp int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp))); e != 0 {
		return nil // not a terminal, or not the caller's controlling one
	}
	if int(pgrp) != syscall.Getpgrp() {
		return nil // a background job: the terminal is not ours to give
	}
	cmd.SysProcAttr.Foreground = true
	cmd.SysProcAttr.Ctty = fd
	return func() { setForeground(fd, syscall.Getpgrp()) }
}

// setForeground makes pgrp the foreground process group of the terminal
// fd. A process outside the foreground group that does so is sent SIGTTOU
// (which stops it) unless it blocks the signal: it is blocked on this
// thread, for the call, and only there.
func setForeground(fd, pgrp int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const sigBlock, sigSetmask = 0, 2
	set := uint64(1) << (syscall.SIGTTOU - 1)
	var old uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigBlock, uintptr(unsafe.Pointer(&set)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return
	}
	p := int32(pgrp)
	syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p)))
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
}

// pidNamespace makes the job the first process of a PID namespace of its
// own: when it exits, the kernel ends every process left in it, those
// that left the job's process group (setsid) too. It takes CAP_SYS_ADMIN.
func pidNamespace(attr *syscall.SysProcAttr) bool {
	attr.Cloneflags |= syscall.CLONE_NEWPID
	return true
}

// dieWithParent has the kernel SIGKILL the job's main process when the
// thread that started it exits, which ends the job if the backend is
// killed (SIGKILL, the OOM killer) before it could: in a PID namespace of
// its own, every process of the job ends with it; without one, only the
// main process does. The signal follows the thread, not the process:
// runJob keeps the thread for the job until Wait returns.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}

// handles reports whether process pid handles or ignores signal s (its
// /proc status's SigCgt and SigIgn), or is gone.
func handles(pid int, s syscall.Signal) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return true
	}
	var mask uint64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "SigCgt" || k == "SigIgn" {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return true
			}
			mask |= m
		}
	}
	return mask&(1<<(uint(s)-1)) != 0
}

// closeInherited marks every descriptor of the process above 2 close-on-
// exec. Go opens its own files so; one the backend inherited without it
// (a shell's "7<file", a supervisor's socket) would otherwise reach every
// job it starts, another user's too.
func closeInherited() {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range fds {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_SETFD, syscall.FD_CLOEXEC)
		}
	}
}

// fuseMagic is the f_type statfs(2) gives a FUSE file system.
const fuseMagic = 0x65735546

// isFUSE reports whether path is on a FUSE file system, whose daemon (a
// user's, where fuse.conf has user_allow_other) says who owns what.
func isFUSE(path string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(path, &st) == nil && st.Type == fuseMagic
}
