package secrets

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// defaultGrace is how long a job's leftover processes get between SIGTERM
// and SIGKILL.
const defaultGrace = 2 * time.Second

// same reports whether two writers are the same value (false if their
// dynamic type cannot be compared).
func same(a, b io.Writer) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a != nil && a == b
}

// runJob starts the prepared job and waits for its main process, then ends
// what is left of its process group and drains its output.
func runJob(ctx context.Context, job Job, p *PreparedJob, masks *runtimeMasks) (JobResult, error) {
	var res JobResult
	grace := job.Grace
	if grace <= 0 {
		grace = defaultGrace
	}
	resolved := job.Path
	if !strings.Contains(resolved, "/") {
		lp, err := exec.LookPath(resolved)
		if err != nil {
			return res, wrapf(err, "start %s", job.Path)
		}
		resolved = lp
	}
	argv := append([]string{job.Path}, job.Args...)
	if err := checkExecSize(resolved, argv, p.Env); err != nil {
		return res, err
	}
	cmd := &exec.Cmd{Path: resolved, Args: argv, Env: p.Env, Dir: job.Dir}
	if err := setProcAttr(cmd, job.User); err != nil {
		return res, err
	}
	giveBack := foreground(cmd, job.Stdin)

	// Output: pipes of our own (so that Wait returns when the main
	// process exits, whatever holds them), read through RedactWriters.
	// One writer given as both streams gets one pipe: the job's bytes in
	// the order it wrote them, one Write at a time.
	quiet := job.Quiet
	switch {
	case quiet == 0:
		quiet = defaultQuiet
	case quiet < 0:
		quiet = 0
	}
	out := newOutput(masks, quiet)
	var ends []*os.File // our copies of the write ends, closed after start
	attach := func(dst io.Writer) (*os.File, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		out.add(r, p.red.NewWriter(dst))
		ends = append(ends, w)
		return w, nil
	}
	closeAll := func() {
		for _, f := range ends {
			f.Close()
		}
	}
	// Input: a file is the job's own; another reader is copied through
	// a pipe of ours (not exec's, whose Wait would wait for the reader).
	var feed *os.File
	var err error
	switch in := job.Stdin.(type) {
	case nil:
	case *os.File:
		cmd.Stdin = in
	default:
		var r *os.File
		if r, feed, err = os.Pipe(); err == nil {
			cmd.Stdin = r
			ends = append(ends, r)
		}
	}
	switch {
	case err != nil:
	case same(job.Stdout, job.Stderr):
		if cmd.Stdout, err = attach(job.Stdout); err == nil {
			cmd.Stderr = cmd.Stdout
		}
	default:
		if job.Stdout != nil {
			cmd.Stdout, err = attach(job.Stdout)
		}
		if err == nil && job.Stderr != nil {
			cmd.Stderr, err = attach(job.Stderr)
		}
	}
	out.start()
	if err == nil {
		err = cmd.Start()
	}
	closeAll()
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
		for _, s := range out.streams {
			s.r.Close()
		}
		return res, wrapf(err, "start %s", job.Path)
	}
	pid := cmd.Process.Pid
	if feed != nil {
		// Ends when the reader does: a Read that never returns keeps it,
		// not Run, which closes the pipe once the job ends.
		go func() {
			io.Copy(feed, job.Stdin)
			feed.Close()
		}()
	}

	stopped := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() { // ctx ends the whole group
		defer watchers.Done()
		select {
		case <-ctx.Done():
			endGroup(pid, grace)
		case <-stopped:
		}
	}()
	if job.Signals != nil {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			for {
				select {
				case sig, ok := <-job.Signals:
					if !ok {
						return // a closed channel forwards nothing more
					}
					signalGroup(pid, sig)
				case <-stopped:
					return
				}
			}
		}()
	}
	waitErr := cmd.Wait()
	if giveBack != nil {
		giveBack()
	}
	if feed != nil {
		feed.Close()
	}
	endGroup(pid, grace) // what the main process left behind
	close(stopped)
	watchers.Wait()

	// The pipes close when the last process holding them is gone; one
	// that left the group keeps them open only until the grace ends.
	timeout := time.NewTimer(grace)
	defer timeout.Stop()
	for _, s := range out.streams {
		select {
		case <-s.done:
		case <-timeout.C:
			for _, s := range out.streams {
				s.r.Close()
			}
			<-s.done
		}
	}
	panicked, outErr := out.finish()
	for _, s := range out.streams {
		s.r.Close()
	}
	if panicked != nil {
		p.Close()
		panic(panicked)
	}
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
