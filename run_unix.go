//go:build unix

package secrets

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// setGroup makes cmd the leader of a new process group, so that the job
// and what it starts can be signalled and ended together.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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
