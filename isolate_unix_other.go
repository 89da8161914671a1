//go:build unix && !linux

package secrets

import "syscall"

// pidNamespace: PID namespaces are Linux's; elsewhere the job shares the
// backend's.
func pidNamespace(*syscall.SysProcAttr) bool { return false }

// handles is never asked: no job is its namespace's first here.
func handles(int, syscall.Signal) bool { return true }

// dieWithParent: a parent-death signal is Linux's; elsewhere a job
// outlives a backend killed before it ended it.
func dieWithParent(*syscall.SysProcAttr) {}

// isFUSE is false where statfs does not tell FUSE apart.
func isFUSE(string) bool { return false }
