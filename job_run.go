package secrets

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// defaultGrace is how long a job's leftover processes get between SIGTERM
// and SIGKILL.
const defaultGrace = 2 * time.Second

// notStarted is runJob's error when the job's program never started: the
// job got nothing (Run voids its inject event). It reads as its cause.
type notStarted struct{ error }

func (e notStarted) Unwrap() error { return e.error }

// runJob starts the prepared job and waits for its main process, then ends
// what is left of its process group and drains its output. The steps, as
// os/exec splits the same work: the command (jobCommand), its pipes
// (plumb), the start, the watchers of ctx and Job.Signals (watch), the
// wait, the draining of the output (drain) and the result (jobResult).
func runJob(ctx context.Context, job Job, p *PreparedJob, masks *runtimeMasks) (JobResult, error) {
	// The job's main process is killed when the thread that starts it
	// exits (dieWithParent): this goroutine keeps that thread, and no
	// other goroutine runs on it, until the job has been waited for.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	grace := job.Grace
	if grace <= 0 {
		grace = defaultGrace
	}
	cmd, ownPIDs, err := jobCommand(job, p)
	if err != nil {
		return JobResult{}, notStarted{err}
	}
	var giveBack func()
	if job.User == nil {
		giveBack = foreground(cmd, job.Stdin)
	} else {
		// Another user's job is never handed the terminal, nor any
		// descriptor of ours.
		closeInherited()
	}
	quiet := job.Quiet
	switch {
	case quiet == 0:
		quiet = defaultQuiet
	case quiet < 0:
		quiet = 0
	}
	out := newOutput(masks, quiet)
	ends, feed, err := plumb(cmd, job, p, out)
	out.start()
	if err == nil {
		err = cmd.Start()
	}
	for _, f := range ends {
		f.Close() // our copies of the ends the job holds
	}
	if err != nil {
		if giveBack != nil {
			giveBack()
		}
		if feed != nil {
			feed.Close()
		}
		for _, s := range out.streams {
			<-s.done
		}
		out.finish()
		out.closeAll()
		if ownPIDs && errors.Is(err, syscall.EPERM) && os.Geteuid() == 0 {
			return JobResult{}, notStarted{wrapf(err, "start %s as another user in a PID namespace of its own, which takes CAP_SYS_ADMIN (or set Job.NoPIDNamespace)", job.Path)}
		}
		return JobResult{}, notStarted{wrapf(err, "start %s", job.Path)}
	}
	g := &group{proc: cmd.Process, init: ownPIDs}
	if feed != nil {
		// Ends when the reader does: a Read that never returns keeps it,
		// not Run, which closes the pipe once the job ends.
		go func() {
			io.Copy(feed, job.Stdin)
			feed.Close()
		}()
	}
	stop := watch(ctx, g, grace, job.Signals)
	waitErr := cmd.Wait()
	if giveBack != nil {
		giveBack()
	}
	if feed != nil {
		feed.Close()
	}
	g.end(grace) // what the main process left behind
	stop()
	panicked, outErr := drain(out, grace)
	if panicked != nil {
		p.Close()
		panic(panicked)
	}
	res, err := jobResult(ctx, cmd, waitErr, outErr)
	if s := g.endedBy(); s != nil && res.Signal == syscall.SIGKILL {
		res.Signal = s // the signal deliver gave it, by SIGKILL
	}
	return res, err
}

// jobCommand makes the job's command: its program looked up in the
// backend's PATH, its size checked against the kernel's limit, its user
// and process group set; ownPIDs says it starts a PID namespace.
func jobCommand(job Job, p *PreparedJob) (cmd *exec.Cmd, ownPIDs bool, err error) {
	resolved := job.Path
	if !strings.Contains(resolved, "/") {
		lp, err := exec.LookPath(resolved)
		if err != nil {
			return nil, false, wrapf(err, "start %s", job.Path)
		}
		resolved = lp
	}
	argv := append([]string{job.Path}, job.Args...)
	if err := checkExecSize(resolved, argv, p.Env); err != nil {
		return nil, false, err
	}
	cmd = &exec.Cmd{Path: resolved, Args: argv, Env: p.Env, Dir: job.Dir}
	if ownPIDs, err = setProcAttr(cmd, job.User, !job.NoPIDNamespace); err != nil {
		return nil, false, err
	}
	return cmd, ownPIDs, nil
}

// plumb gives cmd its output pipes, read through RedactWriters of out,
// and its input: pipes of our own, so that Wait returns when the main
// process exits, whatever holds them. Each stream has a pipe and a
// RedactWriter of its own, even when one writer is given as both: on one
// pipe, a value the job printed on stdout in two writes (its stdio buffer
// flushed in the middle) with a stderr line between them would reach the
// writer cut by that line, which no scanner matches. A Stdin that
// is a file is the job's own; another reader is copied (by the caller)
// into feed, a pipe of ours, not exec's, whose Wait would wait for the
// reader. ends are the job's ends of the pipes, to close once it started.
func plumb(cmd *exec.Cmd, job Job, p *PreparedJob, out *output) (ends []*os.File, feed *os.File, err error) {
	attach := func(dst io.Writer) (*os.File, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		out.add(r, p.red.NewWriter(dst))
		ends = append(ends, w)
		return w, nil
	}
	f, isFile := job.Stdin.(*os.File)
	switch {
	case job.Stdin == nil:
	case isFile && (job.User == nil || !isTerminal(f)):
		cmd.Stdin = f
	default:
		// A reader, or a terminal for another user's job, which reads it
		// through a pipe: a terminal it held could be read by what it
		// leaves behind.
		var r *os.File
		if r, feed, err = os.Pipe(); err != nil {
			return ends, nil, err
		}
		cmd.Stdin = r
		ends = append(ends, r)
	}
	if job.Stdout != nil {
		cmd.Stdout, err = attach(job.Stdout)
	}
	if err == nil && job.Stderr != nil {
		cmd.Stderr, err = attach(job.Stderr)
	}
	return ends, feed, err
}

// watch ends the job's whole process group when ctx is done, and
// forwards signals to it, until the returned stop is called; stop waits
// for its goroutines.
func watch(ctx context.Context, g *group, grace time.Duration, signals <-chan os.Signal) (stop func()) {
	stopped := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		select {
		case <-ctx.Done():
			g.end(grace)
		case <-stopped:
		}
	}()
	if signals != nil {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			for {
				select {
				case sig, ok := <-signals:
					if !ok {
						return // a closed channel forwards nothing more
					}
					g.signal(sig)
				case <-stopped:
					return
				}
			}
		}()
	}
	return func() {
		close(stopped)
		watchers.Wait()
	}
}

// drain waits for the job's output to end: the pipes close when the last
// process holding them is gone; one that left the group keeps them open
// only until the grace ends. It returns what a writer's panic was, and
// the first error of the output.
func drain(out *output, grace time.Duration) (panicked any, err error) {
	timeout := time.NewTimer(grace)
	defer timeout.Stop()
	for _, s := range out.streams {
		select {
		case <-s.done:
		case <-timeout.C:
			out.closeAll()
			<-s.done
		}
	}
	panicked, err = out.finish()
	out.closeAll()
	return panicked, err
}

// jobResult is the job's exit status, and why Run failed if it did.
func jobResult(ctx context.Context, cmd *exec.Cmd, waitErr, outErr error) (JobResult, error) {
	var res JobResult
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		res.Signal = exitSignal(cmd.ProcessState)
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil && (cmd.ProcessState == nil || !cmd.ProcessState.Success()):
		return res, wrapf(ctx.Err(), "stopped")
	case waitErr != nil && !errors.As(waitErr, &exitErr):
		return res, wrapf(waitErr, "wait")
	case outErr != nil:
		return res, wrapf(outErr, "job output")
	}
	return res, nil
}
