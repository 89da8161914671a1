//go:build !unix

package secrets

import (
	"os"
	"os/exec"
	"time"
)

func setGroup(cmd *exec.Cmd) {}

func signalGroup(pid int, sig os.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Signal(sig)
	}
}

func groupAlive(pid int) bool { return false }

func endGroup(pid int, grace time.Duration) {}

func exitSignal(ps *os.ProcessState) os.Signal { return nil }

func execLimit() int64 { return 2 << 20 }
