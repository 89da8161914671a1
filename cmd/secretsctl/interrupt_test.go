//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// A signal ends a wait for input: a value on a pipe that never closes,
// a .env text, a --file that is a FIFO no one writes. secretsctl exits
// promptly with 128+N, says so, and stores nothing.
func TestInterruptedRead(t *testing.T) {
	e := newEnv(t)
	fifo := filepath.Join(e.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		sig  syscall.Signal
	}{
		{[]string{"set", "ws", "P"}, syscall.SIGINT},
		{[]string{"set", "ws", "P"}, syscall.SIGTERM},
		{[]string{"import", "ws"}, syscall.SIGTERM},
		{[]string{"set", "--file", fifo, "ws", "P"}, syscall.SIGINT},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, append([]string{"--actor", e.actor}, c.args...)...)
		cmd.Env = e.environ(call{})
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stderr = r, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		time.Sleep(time.Second) // connected, and waiting for input
		cmd.Process.Signal(c.sig)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var werr error
		select {
		case werr = <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			w.Close()
			t.Fatalf("%v: secretsctl %s is still waiting 10s after the signal", c.sig, strings.Join(c.args, " "))
		}
		w.Close()
		code := 0
		if ee, ok := werr.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 128+int(c.sig) || !strings.Contains(stderr.String(), "interrupted by signal") {
			t.Fatalf("%v: secretsctl %s: exit %d (%v), stderr %q", c.sig, strings.Join(c.args, " "), code, werr, stderr.String())
		}
	}
	e.ctl("", "meta", "ws", "P").wantErr(t, 3)
}

// Ctrl-C at the value prompt ends set with 130 and gives the terminal its
// echo back; at a confirmation it changes nothing.
func TestTerminalInterrupt(t *testing.T) {
	e := newEnv(t)
	term := e.terminal("set", "ws", "TOKEN")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	io.WriteString(term.ptmx, "partly typed\x03")
	if code := term.wait(); code != 130 || !strings.Contains(term.text(), "interrupted") {
		t.Fatalf("Ctrl-C at the prompt: exit %d: %q", code, term.text())
	}
	if !term.echoAtExit {
		t.Fatal("the terminal was left without echo")
	}
	if strings.Contains(term.text(), "partly") {
		t.Fatalf("the value was echoed: %q", term.text())
	}
	e.ctl("", "meta", "ws", "TOKEN").wantErr(t, 3)

	e.ctl("value-a", "set", "ws", "A").want(t, 0)
	term = e.terminal("destroy", "ws", "A")
	term.waitFor("[y/N] ")
	io.WriteString(term.ptmx, "\x03")
	if code := term.wait(); code != 130 || !strings.Contains(term.text(), "nothing was changed") {
		t.Fatalf("Ctrl-C at destroy's question: exit %d: %q", code, term.text())
	}
	e.meta("ws", "A")
}

// run passes on SIGUSR1, SIGUSR2, SIGWINCH and SIGALRM (which Go would
// otherwise swallow) and SIGABRT (on which Go would end secretsctl with a
// stack dump) to a job that traps them, of secretsctl's own user and of
// another in a PID namespace of its own, and secretsctl exits as the job
// does.
func TestRunForwardsSignals(t *testing.T) {
	e := newEnv(t)
	e.ctl("v\n", "set", "ws", "A").want(t, 0)
	users := [][]string{{"--user", strconv.Itoa(os.Geteuid()), "--no-pid-namespace"}}
	if os.Geteuid() == 0 {
		users = append(users, nil) // nobody, the first process of a PID namespace
	}
	for _, user := range users {
		for name, sig := range map[string]syscall.Signal{"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH,
			"ALRM": syscall.SIGALRM, "ABRT": syscall.SIGABRT} {
			script := "trap 'echo got " + name + "; exit 9' " + name + "; echo ready; sleep 5 & wait; echo slept"
			args := append(append([]string{"--actor", e.actor, "run"}, user...), "ws", "--", "sh", "-c", script)
			cmd := exec.Command(bin, args...)
			cmd.Env = e.environ(call{})
			cmd.Dir = e.dir
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			rd := bufio.NewReader(out)
			if l, err := rd.ReadString('\n'); l != "ready\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("%v %v: the job did not start: %q %v %q", user, sig, l, err, stderr.String())
			}
			cmd.Process.Signal(sig)
			rest, _ := io.ReadAll(rd)
			err = cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if dump, _, ok := strings.Cut(stderr.String(), "\ngoroutine "); ok {
				t.Fatalf("%v %v: secretsctl died with a Go stack dump, exit %d: %q...", user, sig, code, dump)
			}
			if code != 9 || string(rest) != "got "+name+"\n" {
				t.Fatalf("%v %v: exit %d (%v), stdout %q, stderr %q: the job did not get the signal", user, sig, code, err, rest, stderr.String())
			}
		}
	}
}

// An interrupted rotation says it stopped, on stdout (what logs keep) and
// in its progress, and never that it is done or finished: the former keys
// still open what it did not re-encrypt (an SRE trial's log said "done"
// and "finished an interrupted rotation"). The next rotate finishes it.
func TestInterruptedRotateSaysStopped(t *testing.T) {
	e := newEnv(t)
	var text strings.Builder
	for i := range 4000 {
		text.WriteString("S_" + strconv.Itoa(i) + "=value-" + strconv.Itoa(i) + "\n")
	}
	e.ctl(text.String(), "import", "ws").want(t, 0)
	cmd := exec.Command(bin, "--actor", e.actor, "rotate", "ws")
	cmd.Env = e.environ(call{})
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
		if strings.HasPrefix(lines.Text(), "rotate ws: ") && strings.Contains(lines.Text(), "%") {
			cmd.Process.Signal(syscall.SIGINT) // a tenth or more re-encrypted
			break
		}
	}
	io.Copy(&rest, stderr)
	werr := cmd.Wait()
	code := 0
	if ee, ok := werr.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 130 || !strings.Contains(stdout.String(), "ws: rotation stopped after ") ||
		strings.Contains(stdout.String(), "is primary") || strings.Contains(rest.String(), " done") {
		t.Fatalf("an interrupted rotate: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), rest.String())
	}
	if r := e.ctl("", "rotate", "ws").want(t, 0); !strings.Contains(r.stdout, "(finished an earlier rotation with its key; run rotate again to replace key ") {
		t.Fatalf("the next rotate: %+v", r)
	}
}

// TestRotationStoppedOrFinished: what rotate prints of a rotation that
// failed after it finished (its audit event not recorded, the former keys
// not deleted: a review found these called "stopped") and of one that
// stopped before it disabled the former keys.
func TestRotationStoppedOrFinished(t *testing.T) {
	for _, c := range []struct {
		what string
		res  secrets.RotateResult
		err  error
		want string
	}{
		{"finished, its event not recorded", secrets.RotateResult{Primary: 7, Reencrypted: 3, Disabled: []uint32{5}},
			errors.New("rotated to key 7, but its audit event was not recorded"), "ws: key 7 is primary, 3 versions re-encrypted, 1 old keys disabled\n"},
		{"stopped", secrets.RotateResult{Primary: 7, Reencrypted: 3}, context.Canceled,
			"ws: rotation stopped after 3 versions re-encrypted: the former keys are still enabled; run rotate again to finish it\n"},
		{"versions left", secrets.RotateResult{Primary: 7, Reencrypted: 3, Left: []secrets.Left{{Name: "A", Version: 1, Reason: "bad"}}},
			fmt.Errorf("x: %w", secrets.ErrIncomplete), "ws: key 7 is primary, 3 versions re-encrypted, 0 old keys disabled\nws: left A version 1: bad\n"},
	} {
		var out bytes.Buffer
		a := &app{stdout: &out, stderr: io.Discard}
		a.printRotated(rotated{Workspace: "ws", RotateResult: c.res, Error: c.err.Error(), stopped: rotationStopped(c.res, c.err)})
		if out.String() != c.want {
			t.Errorf("%s: printed %q, want %q", c.what, out.String(), c.want)
		}
	}
}
