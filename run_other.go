//go:build !unix

package secrets

import (
	"os"
	"os/exec"
)

func killGroup(cmd *exec.Cmd) {}

func signalGroup(p *os.Process, sig os.Signal) { p.Signal(sig) }

func exitSignal(ps *os.ProcessState) os.Signal { return nil }

func execLimit() int64 { return 2 << 20 }
