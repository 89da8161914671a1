package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// EnvFor returns the workspace's secrets as "NAME=value" strings, sorted by
// name, ready for [os/exec.Cmd.Env] (merge them onto a base with
// [Environ]). All of them come from one consistent read of the Store: a
// concurrent write is seen entirely or not at all. A workspace without
// secrets gives an empty, non-nil slice. Write-only secrets are included:
// injection is what they are for.
//
// If any value fails to decrypt, EnvFor returns no environment and a
// *[DecryptError] naming every secret that failed (never a value). If
// another replica has rotated the workspace's data key, EnvFor reloads the
// key once and succeeds.
//
// The strings hold the values in the clear: pass them to the child and
// drop them; never log them.
//
// The read is audited as an inject event (see Config.AuditReads). With an
// EnvStore the event is recorded by the same statement that reads the
// values; if decryption then fails, a failed event follows it.
func (m *Manager) EnvFor(ctx context.Context, ws string) ([]string, error) {
	e, err := m.begin(ctx, ActionInject, ws)
	if err != nil {
		return nil, err
	}
	env, _, err := m.envFor(ctx, e, false)
	return env, err
}

// envFor reads, decrypts and audits a workspace's environment. With
// skipWriteOnly it leaves write-only secrets out and returns their names.
func (m *Manager) envFor(ctx context.Context, e *Event, skipWriteOnly bool) ([]string, []string, error) {
	ws := e.Workspace
	vs, recorded, err := m.readEnv(ctx, e, skipWriteOnly) // Export needs WriteOnly
	if err != nil {
		return nil, nil, m.failed(ctx, e, err)
	}
	env := make([]string, 0, len(vs))
	var skipped []string
	if len(vs) > 0 {
		k, err := m.dataKey(ctx, ws)
		if err == nil {
			k, err = m.freshKey(ctx, ws, k, vs...)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrDecrypt) {
			// No usable key: every secret is unreadable.
			names := make([]string, len(vs))
			for i, v := range vs {
				names[i] = v.Name
			}
			return nil, nil, m.failed(ctx, e, &DecryptError{Workspace: ws, Names: names, Cause: err})
		}
		if err != nil {
			return nil, nil, m.failed(ctx, e, err)
		}
		// All "NAME=value" strings are built in one buffer and cut from
		// one string: two allocations instead of one per secret.
		size := 0
		for _, v := range vs {
			size += len(v.Name) + 1 + len(v.Ciphertext)
		}
		buf := make([]byte, 0, size)
		ends := make([]int, 0, len(vs))
		var ad []byte
		var failed []string
		for _, v := range vs {
			if skipWriteOnly && v.WriteOnly {
				skipped = append(skipped, v.Name)
				continue
			}
			ad = appendSecretAD(ad[:0], v.Workspace, v.SecretID, v.Name, v.Version)
			p, err := k.aead.Decrypt(v.Ciphertext, ad)
			if err != nil {
				failed = append(failed, v.Name)
				continue
			}
			if !recorded && m.cfg.AuditReads != AuditWritesOnly {
				m.touched(e, v.Name, v.Version, p)
			}
			buf = append(buf, v.Name...)
			buf = append(buf, '=')
			buf = append(buf, p...)
			clear(p)
			ends = append(ends, len(buf))
		}
		if failed != nil {
			// If the read was recorded, this adds that the values were
			// not delivered after all.
			clear(buf)
			e.Secrets = nil
			return nil, nil, m.failed(ctx, e, &DecryptError{Workspace: ws, Names: failed})
		}
		all := string(buf)
		clear(buf)
		start := 0
		for _, end := range ends {
			env = append(env, all[start:end])
			start = end
		}
		byName := func(a, b string) int {
			return strings.Compare(a[:strings.IndexByte(a, '=')], b[:strings.IndexByte(b, '=')])
		}
		if !slices.IsSortedFunc(env, byName) { // both stores sort; others may not
			slices.SortFunc(env, byName)
		}
	}
	if recorded {
		m.published(ctx, *e)
	} else if err := m.recordRead(ctx, e); err != nil {
		return nil, nil, err
	}
	return env, skipped, nil
}

// readEnv reads the workspace's current versions. Through an EnvStore the
// read event is recorded in the same round trip (recorded is then true);
// in AuditBestEffort mode a failure of that falls back to a plain read,
// whose event recordRead then tries to record again.
func (m *Manager) readEnv(ctx context.Context, e *Event, full bool) (vs []Version, recorded bool, err error) {
	es, ok := m.store.(EnvStore)
	if !ok || full {
		vs, err = m.store.Current(ctx, e.Workspace)
		return vs, false, err
	}
	if m.cfg.AuditReads == AuditWritesOnly {
		vs, err = es.Env(ctx, e.Workspace, nil, false)
		return vs, false, err
	}
	ev := *e
	ev.Secrets = nil
	vs, err = es.Env(ctx, e.Workspace, &ev, m.cfg.AuditReads == AuditBestEffort)
	if err == nil {
		*e = ev
		return vs, true, nil
	}
	if ctx.Err() != nil || m.cfg.AuditReads == AuditFailClosed {
		if m.cfg.AuditReads == AuditFailClosed && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrAudit, err)
		}
		return nil, false, err
	}
	vs, err = es.Env(ctx, e.Workspace, nil, false)
	return vs, false, err
}

// DefaultBase returns the base environment that [Manager.Command] uses when
// given none: only a conventional PATH. Nothing of the calling process's
// environment is included.
func DefaultBase() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
}

// Environ merges a workspace environment (from EnvFor) onto base and
// returns a new slice; neither argument is changed.
//
// Precedence: the workspace's secrets win. An entry of base is dropped if
// a secret has the same name (compared exactly, as getenv does on Unix);
// within base, as in os/exec, only the last entry of a name is kept, in
// that entry's position. Entries of base without "=" are dropped. The
// result is base's kept entries, in their order, followed by secrets in
// their order; no name appears twice. A host protects a base variable from
// being overridden by reserving its name (Config.ReservedNames), which
// makes Set refuse it.
//
// base is used exactly as given: pass nil or [DefaultBase] for a minimal
// environment. Never pass os.Environ(): the backend's environment holds its
// own credentials.
func Environ(base, secrets []string) []string {
	set := make(map[string]bool, len(secrets))
	for _, kv := range secrets {
		if name, _, ok := strings.Cut(kv, "="); ok {
			set[name] = true
		}
	}
	last := make(map[string]int, len(base))
	for i, kv := range base {
		if name, _, ok := strings.Cut(kv, "="); ok {
			last[name] = i
		}
	}
	out := make([]string, 0, len(base)+len(secrets))
	for i, kv := range base {
		name, _, ok := strings.Cut(kv, "=")
		if ok && last[name] == i && !set[name] {
			out = append(out, kv)
		}
	}
	return append(out, secrets...)
}

// Command returns a command, not started, that runs name with args and
// the environment Environ(base, secrets of ws). A nil base means
// [DefaultBase]; the command never inherits the backend's environment (its
// Env is never nil). As with [os/exec.Command], name is looked up in the
// calling process's PATH, not in the child's. ctx kills the process if it
// is done before the command completes.
//
// The command's output is not redacted: use [Manager.Run], or pass its
// Stdout and Stderr through a [Redactor]'s writers.
func (m *Manager) Command(ctx context.Context, ws string, base []string, name string, args ...string) (*exec.Cmd, error) {
	env, err := m.EnvFor(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("secrets: command for workspace %q: %w", ws, err)
	}
	if base == nil {
		base = DefaultBase()
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(base, env)
	return cmd, nil
}

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
		return JobResult{}, fmt.Errorf("secrets: run for workspace %q: %w", ws, err)
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
