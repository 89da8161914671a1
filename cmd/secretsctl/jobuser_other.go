//go:build !unix

package main

import (
	"os"
	"syscall"

	"github.com/dataspace/secrets"
)

// claimUser: jobs run as another user only on Unix.
func claimUser(*secrets.OSUser, bool) (func(), error) { return func() {}, nil }

// forwarded are the signals run passes on to the job (see the Unix one).
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
