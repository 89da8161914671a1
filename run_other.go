//go:build !unix

package secrets

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"time"
)

func setProcAttr(cmd *exec.Cmd, u *OSUser) error {
	if u != nil {
		return errorf(errors.ErrUnsupported, "a job runs as another user only on Unix")
	}
	return nil
}

func ownedByUs(fs.FileInfo) bool { return true }

// lockJob makes the lock file; without flock, nothing holds it.
func lockJob(root, path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func lockHeld(string) (bool, error) { return true, nil }

func sweepLocked(string) (bool, error) { return false, nil }

func signalGroup(pid int, sig os.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Signal(sig)
	}
}

func groupAlive(pid int) bool { return false }

func endGroup(pid int, grace time.Duration) {}

func exitSignal(ps *os.ProcessState) os.Signal { return nil }

func execLimit() int64 { return 2 << 20 }
