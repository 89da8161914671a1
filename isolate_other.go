//go:build !linux

package secrets

import (
	"errors"
	"io"
	"os/exec"
)

// HardenProcess makes the calling process unreadable to other processes
// of its user (see the Linux documentation). On this system it changes
// nothing and returns an error that matches [errors.ErrUnsupported].
func HardenProcess() error {
	return errorf(errors.ErrUnsupported, "harden: only on Linux")
}

// foreground hands a terminal to a job only on Linux.
func foreground(*exec.Cmd, io.Reader) func() { return nil }

// closeInherited: only on Linux (see there).
func closeInherited() {}
