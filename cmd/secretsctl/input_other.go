//go:build !linux

package main

import "golang.org/x/term"

// readHidden reads one line from the terminal fd with its echo off. Off
// Linux it is term.ReadPassword, which waits on at Ctrl-D (see the Linux
// one).
func readHidden(fd int) ([]byte, error) { return term.ReadPassword(fd) }
