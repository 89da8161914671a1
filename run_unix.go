//go:build unix

package secrets

import (
	"os"
	"os/exec"
	"syscall"
)

// killGroup makes cmd the leader of a new process group and kills the
// whole group when its context is done, so that a job's own children do
// not outlive it holding its output open.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// signalGroup sends sig to the process group that p leads.
func signalGroup(p *os.Process, sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		syscall.Kill(-p.Pid, s)
		return
	}
	p.Signal(sig)
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
