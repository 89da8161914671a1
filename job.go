package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// A Job is a command to run for a workspace with [Manager.Run].
type Job struct {
	// Path is the program; without a slash it is looked up in the calling
	// process's PATH (as exec.Command does), not in the job's.
	Path string
	// Args are the arguments, not counting the program name.
	Args []string
	// Dir is the working directory; "" means the caller's.
	Dir string
	// Base is the environment under the secrets, as for Environ. nil means
	// DefaultBase; the caller's own environment is never used.
	Base []string
	// Stdin feeds the job; nil means no input (the null device).
	Stdin io.Reader
	// Stdout and Stderr receive the job's output with every secret value
	// of the workspace masked (see Redactor); nil discards it.
	Stdout, Stderr io.Writer
	// Redact tunes the masking; nil means the defaults.
	Redact *RedactConfig
	// WaitDelay bounds how long Run waits for the job's output after it
	// exits or is killed (its own children may hold it open). Default 5s.
	WaitDelay time.Duration
	// Signals, if not nil, are passed on to the job's process group while
	// it runs (e.g. from signal.Notify, so that an operator's Ctrl-C or a
	// SIGTERM reaches the job as it would a child of a shell).
	Signals <-chan os.Signal
}

// A JobResult is how a job ended.
type JobResult struct {
	// ExitCode is the job's exit status, or -1 if a signal ended it.
	ExitCode int
	// Signal is the signal that ended the job, or nil.
	Signal os.Signal
}

// Run runs a job with the workspace's secrets in its environment and
// waits for it. Its stdout and stderr pass through separate RedactWriters,
// so a value printed in pieces, base64-encoded or escaped does not reach
// them (values shorter than RedactConfig.MinLength excepted).
//
// A job that runs and exits, with any status or signal, gives a JobResult
// and a nil error. An error means the job did not run or did not finish:
// the workspace could not be read (e.g. ErrDecrypt), its environment is
// over the kernel's limits (ErrTooLarge, before exec is tried), the
// program could not be started, or ctx was done, in which case the job's
// process group is killed and the error wraps ctx.Err().
func (m *Manager) Run(ctx context.Context, ws string, job Job) (JobResult, error) {
	secretsEnv, err := m.EnvFor(ctx, ws)
	if err != nil {
		return JobResult{}, wrapf(err, "run for workspace %q", ws)
	}
	base := job.Base
	if base == nil {
		base = DefaultBase()
	}
	env := Environ(base, secretsEnv)
	if err := checkExecSize(job.Path, job.Args, env); err != nil {
		return JobResult{}, err
	}
	red := redactorFor(secretsEnv, job.Redact)
	cmd := exec.CommandContext(ctx, job.Path, job.Args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, job.Dir, job.Stdin
	killGroup(cmd)
	cmd.WaitDelay = job.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	var outs []*RedactWriter
	for _, p := range []struct {
		dst  io.Writer
		slot *io.Writer
	}{{job.Stdout, &cmd.Stdout}, {job.Stderr, &cmd.Stderr}} {
		if p.dst != nil {
			rw := red.NewWriter(p.dst)
			outs = append(outs, rw)
			*p.slot = rw
		}
	}
	runErr := cmd.Start()
	if runErr == nil {
		stop := make(chan struct{})
		if job.Signals != nil {
			go func() {
				for {
					select {
					case sig := <-job.Signals:
						signalGroup(cmd.Process, sig)
					case <-stop:
						return
					}
				}
			}()
		}
		runErr = cmd.Wait()
		close(stop)
	}
	for _, rw := range outs {
		if err := rw.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("secrets: job output: %w", err)
		}
	}
	var res JobResult
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		res.Signal = exitSignal(cmd.ProcessState)
	}
	if ctx.Err() != nil && cmd.ProcessState != nil && !cmd.ProcessState.Success() {
		return res, fmt.Errorf("secrets: job for workspace %q stopped: %w", ws, ctx.Err())
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return res, fmt.Errorf("secrets: job for workspace %q: %w", ws, runErr)
	}
	return res, nil
}

// checkExecSize refuses, before exec is tried, an argument list and
// environment that execve would reject with E2BIG.
func checkExecSize(path string, args, env []string) error {
	total := int64(len(path) + 1)
	for i, s := range append([]string{path}, args...) {
		if int64(len(s))+1 > MaxEnvString {
			return fmt.Errorf("secrets: argument %d takes %d bytes, over the %d one may hold: %w", i, len(s)+1, MaxEnvString, ErrTooLarge)
		}
		total += int64(len(s)) + 1 + 8 // the string, its NUL and its pointer
	}
	for _, kv := range env {
		if int64(len(kv))+1 > MaxEnvString {
			name, _, _ := strings.Cut(kv, "=")
			return fmt.Errorf("secrets: variable %.64s takes %d bytes, over the %d one may hold: %w", name, len(kv)+1, MaxEnvString, ErrTooLarge)
		}
		total += int64(len(kv)) + 1 + 8
	}
	if limit := execLimit(); total > limit {
		return fmt.Errorf("secrets: arguments and environment take %d bytes, over the %d the kernel allows: %w", total, limit, ErrTooLarge)
	}
	return nil
}

// redactorKey names the Redactor of one read of a workspace.
type redactorKey struct {
	ws    string
	state int64
	names string
	cfg   RedactConfig
}

// redactorCacheSize bounds the Redactors a Manager keeps for reuse.
const redactorCacheSize = 64
