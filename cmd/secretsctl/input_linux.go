//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// readHidden reads one line from the terminal fd with its echo off, as
// term.ReadPassword does, but ends at Ctrl-D: on an empty line it is
// io.EOF; after some text (which a first Ctrl-D hands over), a second
// ends the line. ReadPassword reads the terminal with read(2) and takes
// its 0 (Ctrl-D) for "nothing yet": an operator's Ctrl-D did nothing, and
// the next line typed became the value (a CLI trial). The echo and the
// terminal's other settings are put back when it returns, and input
// typed or pasted past the line is dropped (TCSETSF), so that a pasted
// value's second line does not reach the shell, shown and run (a
// review).
func readHidden(fd int) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETSF, old)
	var line []byte
	var buf [512]byte
	defer clear(buf[:])
	for {
		n, err := unix.Read(fd, buf[:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			clear(line)
			return nil, err
		case n == 0 && len(line) == 0:
			return nil, io.EOF
		case n == 0:
			return line, nil
		}
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return bytes.TrimSuffix(append(line, buf[:i]...), []byte("\r")), nil
		}
		line = append(line, buf[:n]...)
	}
}
