//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/dataspace/secrets"
	"golang.org/x/sys/unix"
)

// A terminal runs secretsctl with a pseudo-terminal as its stdin and
// stderr, as an operator's shell would; stdout stays a pipe.
type terminal struct {
	t        *testing.T
	ptmx     *os.File // the operator's side
	tty      *os.File // secretsctl's side
	cmd      *exec.Cmd
	mu       sync.Mutex
	screen   bytes.Buffer // what secretsctl wrote to the terminal
	stdout   bytes.Buffer
	readDone chan struct{}
	// echoAtExit: the terminal echoed when secretsctl had exited.
	echoAtExit bool
	// pendingAtExit: bytes typed that no one had read when secretsctl
	// had exited (the shell would read them next).
	pendingAtExit int
}

func (e *env) terminal(args ...string) *terminal { return e.terminalOut(false, args...) }

// terminalOut is terminal with, if onTTY, stdout on the terminal too.
func (e *env) terminalOut(onTTY bool, args ...string) *terminal {
	t := e.t
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, append([]string{"--actor", e.actor}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "DATABASE_URL=" + e.url,
		"SECRETS_SCHEMA=" + e.schema, "SECRETS_MASTER_KEY_FILE=" + e.key, "SECRETS_SHARED_USER=true"}
	term := &terminal{t: t, ptmx: ptmx, tty: tty, cmd: cmd, readDone: make(chan struct{})}
	cmd.Stdin, cmd.Stderr, cmd.Stdout = tty, tty, &term.stdout
	if onTTY {
		cmd.Stdout = tty
	}
	// The terminal is secretsctl's controlling terminal, as a shell's
	// is: Ctrl-C typed on it sends SIGINT.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(term.readDone)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return term
}

// waitFor waits until the screen shows s.
func (term *terminal) waitFor(s string) {
	term.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		term.mu.Lock()
		ok := strings.Contains(term.screen.String(), s)
		term.mu.Unlock()
		if ok {
			return
		}
	}
	term.t.Fatalf("the terminal never showed %q; it shows %q", s, term.text())
}

// waitNoEcho waits until secretsctl has turned the terminal's echo off.
func (term *terminal) waitNoEcho() {
	term.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		tio, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
		if err != nil {
			term.t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			return
		}
	}
	term.t.Fatal("secretsctl never turned the echo off")
}

// typeLine types a line as the operator would.
func (term *terminal) typeLine(s string) {
	if _, err := io.WriteString(term.ptmx, s+"\r"); err != nil {
		term.t.Fatal(err)
	}
}

// wait waits for secretsctl to exit and returns its status.
func (term *terminal) wait() int {
	term.t.Helper()
	err := term.cmd.Wait()
	if tio, terr := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS); terr == nil {
		term.echoAtExit = tio.Lflag&unix.ECHO != 0
	}
	if n, perr := unix.IoctlGetInt(int(term.tty.Fd()), unix.TIOCINQ); perr == nil {
		term.pendingAtExit = n
	}
	term.tty.Close() // the reader sees the end once no one holds it
	select {
	case <-term.readDone:
	case <-time.After(5 * time.Second):
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		term.t.Fatal(err)
	}
	return 0
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// set on a terminal prompts and reads the value without echo.
func TestTerminalPrompt(t *testing.T) {
	e := newEnv(t)
	const typed = "s3cr3t-typed value"
	term := e.terminal("set", "ws", "TOKEN")
	term.waitFor("Value of TOKEN (not echoed): ")
	term.waitNoEcho()
	term.typeLine(typed)
	if code := term.wait(); code != 0 {
		t.Fatalf("set on a terminal: exit %d: %q", code, term.text())
	}
	if strings.Contains(term.text(), "s3cr3t") {
		t.Fatalf("the value was echoed: %q", term.text())
	}
	if term.stdout.String() != "TOKEN set: revision 1, version 1\n" {
		t.Fatalf("stdout: %q", term.stdout.String())
	}
	if got := e.value("ws", "TOKEN"); got != typed {
		t.Fatalf("stored %q, typed %q", got, typed)
	}

	// Ctrl-D on the empty line ends the input: nothing is stored, and
	// the next line typed is not taken for the value (a CLI trial: it
	// was).
	term = e.terminal("set", "ws", "EOFV")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	if _, err := io.WriteString(term.ptmx, "\x04"); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	go func() { exited <- term.wait() }()
	select {
	case code := <-exited:
		if code != 5 || !strings.Contains(term.text(), "empty") {
			t.Fatalf("Ctrl-D: exit %d: %q", code, term.text())
		}
	case <-time.After(10 * time.Second):
		term.typeLine("later-typed-value")
		<-exited
		t.Fatalf("Ctrl-D did not end the input in 10 s; the next line was read as the value: %q", term.text())
	}
	e.run(call{noKey: true}, "meta", "ws", "EOFV").want(t, 3)

	// A pasted value of two lines: the first is the value, and the rest
	// is dropped, not left for the shell to show and run (a review).
	term = e.terminal("set", "ws", "PASTED")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	if _, err := io.WriteString(term.ptmx, "first-line-value\rsecond-line-secret\r"); err != nil {
		t.Fatal(err)
	}
	if code := term.wait(); code != 0 {
		t.Fatalf("a pasted value: exit %d: %q", code, term.text())
	}
	if term.pendingAtExit != 0 {
		t.Errorf("%d bytes of the paste were left for the shell", term.pendingAtExit)
	}
	if got := e.value("ws", "PASTED"); got != "first-line-value" {
		t.Errorf("stored %q", got)
	}

	// An empty line stores nothing.
	term = e.terminal("set", "ws", "EMPTY")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	term.typeLine("")
	if code := term.wait(); code != 5 || !strings.Contains(term.text(), "--allow-empty") {
		t.Fatalf("an empty line: exit %d: %q", code, term.text())
	}
}

// destroy and apply ask on a terminal.
func TestTerminalConfirm(t *testing.T) {
	e := newEnv(t)
	e.ctl("value-a", "set", "ws", "A").want(t, 0)
	term := e.terminal("destroy", "ws", "A")
	term.waitFor("Destroy A of workspace ws and all its versions, for good? [y/N] ")
	term.typeLine("n")
	if code := term.wait(); code != 1 || !strings.Contains(term.text(), "not confirmed") {
		t.Fatalf("destroy, not confirmed: exit %d: %q", code, term.text())
	}
	e.meta("ws", "A")
	term = e.terminal("destroy", "ws", "A")
	term.waitFor("[y/N] ")
	term.typeLine("y")
	if code := term.wait(); code != 0 || term.stdout.String() != "A destroyed\n" {
		t.Fatalf("destroy, confirmed: exit %d: %q %q", code, term.text(), term.stdout.String())
	}
	e.ctl("", "meta", "ws", "A").wantErr(t, 3)
	// A name that fails validation (a value pasted into its place) is
	// refused before the prompt could show it.
	term = e.terminal("destroy", "ws", "tok_PASTED-val!ue")
	if code := term.wait(); code == 0 || strings.Contains(term.text(), "PASTED") {
		t.Fatalf("destroy of an invalid name: exit %d: %q", code, term.text())
	}

	file := filepath.Join(e.dir, "new.env")
	os.WriteFile(file, []byte("B=value-b\n"), 0o600)
	term = e.terminal("apply", "--file", file, "ws")
	term.waitFor("Apply this to workspace ws? [y/N] ")
	term.typeLine("yes")
	if code := term.wait(); code != 0 || !strings.Contains(term.stdout.String(), "+ B  (added)") {
		t.Fatalf("apply, confirmed: exit %d: %q %q", code, term.text(), term.stdout.String())
	}
	if e.value("ws", "B") != "value-b" {
		t.Fatal("apply on a terminal did not apply")
	}
}

// On a terminal, progress is a bar redrawn in place.
func TestTerminalProgressBar(t *testing.T) {
	e := newEnv(t)
	e.ctl("A=value-a\nB=value-b\n", "import", "ws").want(t, 0)
	term := e.terminal("rotate", "ws")
	if code := term.wait(); code != 0 {
		t.Fatalf("rotate on a terminal: exit %d: %q", code, term.text())
	}
	if screen := term.text(); !strings.Contains(screen, "\r") || strings.Contains(screen, "done") {
		t.Fatalf("no bar on the terminal: %q", screen)
	}
}

// events --fingerprint - on a terminal prompts for the value without echo.
func TestTerminalFingerprint(t *testing.T) {
	e := newEnv(t)
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "audit.json")
	os.WriteFile(file, ak, 0o600)
	e.ctl("leaked-typed-value", "--audit-key", file, "set", "ws", "A").want(t, 0)
	term := e.terminal("--audit-key", file, "events", "--json", "--fingerprint", "-")
	term.waitFor("Value to look for (not echoed): ")
	term.waitNoEcho()
	term.typeLine("leaked-typed-value")
	if code := term.wait(); code != 0 {
		t.Fatalf("events --fingerprint on a terminal: exit %d: %q", code, term.text())
	}
	if strings.Contains(term.text(), "leaked") {
		t.Fatalf("the value was echoed: %q", term.text())
	}
	var page eventsPage
	if err := json.Unmarshal(term.stdout.Bytes(), &page); err != nil || len(page.Events) != 1 || page.Events[0].Action != secrets.ActionSet {
		t.Fatalf("events: %v %s", err, term.stdout.String())
	}
}

// A value that fills the terminal's line (which drops what is typed past
// 4095 bytes) is refused, pointing to --file, rather than stored cut; a
// shorter one is stored whole.
func TestTerminalLongLine(t *testing.T) {
	e := newEnv(t)
	term := e.terminal("set", "ws", "LONG")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	term.typeLine(strings.Repeat("x", 5000))
	if code := term.wait(); code != 5 || !strings.Contains(term.text(), "--file") || !strings.Contains(term.text(), "4095") {
		t.Fatalf("a 5000-byte line: exit %d: %q", code, term.text())
	}
	e.ctl("", "meta", "ws", "LONG").wantErr(t, 3)

	short := strings.Repeat("y", maxTerminalLine-1)
	term = e.terminal("set", "ws", "LONG")
	term.waitFor("(not echoed): ")
	term.waitNoEcho()
	term.typeLine(short)
	if code := term.wait(); code != 0 {
		t.Fatalf("a 4094-byte line: exit %d: %q", code, term.text())
	}
	if got := e.value("ws", "LONG"); got != short {
		t.Fatalf("stored %d bytes, typed %d", len(got), len(short))
	}
}

// A value whose escape sequences would act on the operator's terminal
// (set its title, write its clipboard with OSC 52, clear the screen) is
// not printed there by get or export, which say how to get it; to a pipe
// it goes exactly (a CLI trial: an editor's value wrote the clipboard).
func TestTerminalValueEscapes(t *testing.T) {
	e := newEnv(t)
	evil := "tok\x1b]52;c;ZXZpbA==\x07\x1b[2Jend"
	e.ctl(evil, "set", "ws", "EVIL", "--raw").want(t, 0)
	e.ctl("plain-value", "set", "ws2", "PLAIN").want(t, 0)
	for _, args := range [][]string{{"get", "ws", "EVIL"}, {"export", "ws"}} {
		term := e.terminalOut(true, args...)
		if code := term.wait(); code != 5 || strings.Contains(term.text(), "\x1b]52") || !strings.Contains(term.text(), "control characters") {
			t.Errorf("%s on a terminal: exit %d: %q", args[0], code, term.text())
		}
	}
	term := e.terminalOut(true, "get", "ws2", "PLAIN")
	if code := term.wait(); code != 0 || !strings.Contains(term.text(), "plain-value") {
		t.Errorf("a plain value on a terminal: exit %d: %q", code, term.text())
	}
	if got := e.value("ws", "EVIL"); got != evil {
		t.Errorf("to a pipe: %q, want the value exactly", got)
	}
}
