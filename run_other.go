//go:build !unix

package secrets

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"time"
)

func setProcAttr(cmd *exec.Cmd, u *OSUser, _ bool) (bool, error) {
	if u != nil {
		return false, errorf(errors.ErrUnsupported, "a job runs as another user only on Unix")
	}
	return false, nil
}

func isTerminal(*os.File) bool { return false }

func ownedByUs(fs.FileInfo) bool { return true }

// sameDevice is true where devices are not Unix's.
func sameDevice(string, fs.FileInfo) bool { return true }

// safeParent checks nothing where ownership is not Unix's.
func safeParent(dir string) (string, error) { return dir, nil }

// lockJob makes the lock file; without flock, nothing holds it.
func lockJob(root, path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func lockHeld(string) (bool, error) { return true, nil }

func sweepLocked(string) (bool, error) { return false, nil }

// A group is a running job: its main process only, here.
type group struct {
	proc *os.Process
	init bool
}

func (g *group) signal(sig os.Signal) { g.proc.Signal(sig) }

func (g *group) endedBy() os.Signal { return nil }

func (g *group) end(grace time.Duration) {}

func exitSignal(ps *os.ProcessState) os.Signal { return nil }

func execLimit() int64 { return 2 << 20 }

// wait reads s's pipe, and runs the pump after each read. Without a way
// to read a pipe without waiting, the streams are not read in rounds: a
// mask added on one stream may come after a value printed on another.
func (o *output) wait(s *stream) {
	buf := make([]byte, 32<<10)
	for {
		n, err := s.r.Read(buf)
		o.mu.Lock()
		if n > 0 {
			s.last = time.Now()
			o.feed(s, buf[:n])
		}
		if err != nil {
			s.eof = true
		}
		o.pump()
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// readNow reads nothing: see wait.
func readNow(*os.File, []byte) (int, error) { return 0, nil }
