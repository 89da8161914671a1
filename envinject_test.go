package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

func TestEnvForSortedAndEmpty(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	env, err := m.EnvFor(ctx, "empty")
	if err != nil || env == nil || len(env) != 0 {
		t.Fatalf("EnvFor of an empty workspace: %#v, %v", env, err)
	}
	for _, n := range []string{"B", "A0", "A", "a_b", "_Z"} {
		mustSet(t, m, "ws", n, "v-"+n)
	}
	env, err = m.EnvFor(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=v-A", "A0=v-A0", "B=v-B", "_Z=v-_Z", "a_b=v-a_b"}
	if d := cmp.Diff(want, env); d != "" {
		t.Fatalf("EnvFor (-want +got):\n%s", d)
	}
}

func TestEnvForNamesEveryFailure(t *testing.T) {
	ctx := context.Background()
	base := secrets.NewMemoryStore()
	ts := &tamperStore{Store: base}
	m := newManager(t, ts, newCipher(t), nil)
	for _, n := range []string{"GOOD", "BAD_1", "BAD_2"} {
		mustSet(t, m, "ws", n, "value-of-"+n)
	}
	ts.version = func(v *secrets.Version) {
		if strings.HasPrefix(v.Name, "BAD") {
			v.Ciphertext[len(v.Ciphertext)-1] ^= 1
		}
	}
	env, err := m.EnvFor(ctx, "ws")
	var de *secrets.DecryptError
	if env != nil || !errors.As(err, &de) || !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("EnvFor: %v, %v", env, err)
	}
	if d := cmp.Diff([]string{"BAD_1", "BAD_2"}, de.Names); d != "" {
		t.Fatalf("failed names (-want +got):\n%s", d)
	}
	if strings.Contains(err.Error(), "value-of") {
		t.Fatalf("error shows a value: %v", err)
	}
	if _, err := m.Command(ctx, "ws", nil, "true"); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("Command with an undecryptable secret: %v", err)
	}
}

func TestEnvironPrecedence(t *testing.T) {
	base := []string{"HOME=/home/build", "LANG=C", "TOKEN=from-base", "LANG=C.UTF-8", "garbage", "TZ=UTC"}
	baseCopy := append([]string(nil), base...)
	sec := []string{"TOKEN=from-secret", "token=lower"}
	got := secrets.Environ(base, sec)
	want := []string{"HOME=/home/build", "LANG=C.UTF-8", "TZ=UTC", "TOKEN=from-secret", "token=lower"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Environ (-want +got):\n%s", d)
	}
	if d := cmp.Diff(baseCopy, base); d != "" {
		t.Fatalf("Environ changed base:\n%s", d)
	}
	if e := secrets.Environ(nil, nil); e == nil || len(e) != 0 {
		t.Fatalf("Environ(nil, nil) = %#v, want empty non-nil", e)
	}
	// No name appears twice: within secrets too, the last entry of a name
	// is kept, in its position, and one without "=" is dropped.
	sec = []string{"X=1", "Y=2", "no-equals", "X=3", "Z=4"}
	got = secrets.Environ([]string{"X=base", "W=0"}, sec)
	want = []string{"W=0", "Y=2", "X=3", "Z=4"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Environ with a secret twice (-want +got):\n%s", d)
	}
	if sec[0] != "X=1" || len(sec) != 5 {
		t.Fatalf("Environ changed secrets: %q", sec)
	}
}

// childEnv runs a real child through Manager.Command and returns its
// stdout.
func childEnv(t *testing.T, m *secrets.Manager, ws string, base []string, name string, args ...string) string {
	t.Helper()
	cmd, err := m.Command(context.Background(), ws, base, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v: %s", name, err, errb.String())
	}
	return out.String()
}

func TestChildProcessReadsSecrets(t *testing.T) {
	// The backend's own credentials, which no child may see.
	t.Setenv("BACKEND_DATABASE_PASSWORD", "backend-db-password")
	t.Setenv("SECRETS_MASTER_KEY", "backend-master-key")

	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	token := "tok-" + strings.Repeat("9", 40)
	mustSet(t, m, "ws", "AUTH_TOKEN", token)
	pem := string(pemKey())
	mustSet(t, m, "ws", "TLS_KEY", pem)
	mustSet(t, m, "ws", "TRICKY", `$(echo pwned) "q" 'q' \n`+"`id`")

	t.Run("sh", func(t *testing.T) {
		sh, err := exec.LookPath("sh")
		if err != nil {
			t.Fatal("no sh on this machine")
		}
		got := childEnv(t, m, "ws", nil, sh, "-c", `printf '%s|%s|%s' "$AUTH_TOKEN" "$TLS_KEY" "$TRICKY"`)
		want := token + "|" + pem + "|" + `$(echo pwned) "q" 'q' \n` + "`id`"
		if got != want {
			t.Fatalf("sh saw %q, want %q", got, want)
		}
		env := childEnv(t, m, "ws", nil, sh, "-c", "env")
		for _, leak := range []string{"backend-db-password", "backend-master-key", "BACKEND_DATABASE_PASSWORD"} {
			if strings.Contains(env, leak) {
				t.Fatalf("child environment holds the backend's %s", leak)
			}
		}
		if !strings.Contains(env, "PATH=/usr/local/sbin:") {
			t.Fatalf("child lacks the default PATH:\n%s", env)
		}
	})

	t.Run("python3", func(t *testing.T) {
		py, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 is not installed")
		}
		// Exactly as the platform's users read secrets.
		script := `import os, sys
sys.stdout.write(os.environ['AUTH_TOKEN'] + '|' + os.environ['TLS_KEY'] + '|' + str('BACKEND_DATABASE_PASSWORD' in os.environ))`
		got := childEnv(t, m, "ws", []string{"HOME=/nonexistent"}, py, "-c", script)
		if want := token + "|" + pem + "|False"; got != want {
			t.Fatalf("python3 saw %q, want %q", got, want)
		}
	})

	// Run and Prepare without a Base start from DefaultBase too, never
	// from the backend's environment (a promise audit: only Command's
	// was tested).
	t.Run("Run and Prepare without a base", func(t *testing.T) {
		var out bytes.Buffer
		res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/usr/bin/env", Stdout: &out})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("Run: %v, %+v", err, res)
		}
		p, err := m.Prepare(context.Background(), "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for what, env := range map[string]string{"Run's child": out.String(), "Prepare's Env": strings.Join(p.Env, "\n")} {
			for _, leak := range []string{"backend-db-password", "backend-master-key", "BACKEND_DATABASE_PASSWORD"} {
				if strings.Contains(env, leak) {
					t.Errorf("%s holds the backend's %s", what, leak)
				}
			}
			if !strings.Contains(env, "PATH=/usr/local/sbin:") || !strings.Contains(env, "AUTH_TOKEN=") {
				t.Errorf("%s lacks the default PATH or the secret:\n%s", what, env)
			}
		}
	})

	t.Run("base given explicitly", func(t *testing.T) {
		// env(1) prints exactly the environment it was given.
		envBin, err := exec.LookPath("env")
		if err != nil {
			t.Fatal("no env on this machine")
		}
		got := childEnv(t, m, "ws", []string{"AUTH_TOKEN=base-loses", "ONLY_BASE=yes"}, envBin)
		want := "ONLY_BASE=yes\nAUTH_TOKEN=" + token + "\nTLS_KEY=" + pem + "\nTRICKY=" + `$(echo pwned) "q" 'q' \n` + "`id`\n"
		if got != want {
			t.Fatalf("child environment (-want +got):\n%s", cmp.Diff(want, got))
		}
	})
}

func TestCommandContextKillsChild(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cmd, err := m.Command(ctx, "ws", nil, "/bin/sh", "-c", "sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil {
		t.Fatal("child survived its context")
	}
}

// TestRunRedactsChildOutput: a real child prints its secret whole, a byte
// per write, to stdout and stderr interleaved, base64-encoded and
// URL-encoded; none of it reaches the captured output.
func TestRunRedactsChildOutput(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	token := "tok_live_Zx81Qm4PaaR7"
	mustSet(t, m, "ws", "AUTH_TOKEN", token)
	mustSet(t, m, "ws", "TLS_KEY", string(pemKey()))
	script := `
printf 'whole: %s\n' "$AUTH_TOKEN"
printf 'bytes: '; printf '%s' "$AUTH_TOKEN" | dd bs=1 status=none; echo
printf '%s' "$AUTH_TOKEN" | dd bs=1 status=none >&2; echo >&2
i=0; while [ $i -lt 5 ]; do printf 'out %d ' $i; printf 'err %d ' $i >&2; i=$((i+1)); done
printf 'b64: %s\n' "$(printf '%s' "$AUTH_TOKEN" | base64)"
printf 'b64 shifted: %s\n' "$(printf 'x%s' "$AUTH_TOKEN" | base64)"
printf 'key: %s\n' "$TLS_KEY"
printf '%s' "$TLS_KEY" | sed -n 3p >&2
exit 3
`
	var stdout, stderr bytes.Buffer
	res, err := m.Run(context.Background(), "ws", secrets.Job{
		Path: "/bin/sh", Args: []string{"-c", script}, Stdout: &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Signal != nil {
		t.Fatalf("result %+v, want exit code 3", res)
	}
	all := stdout.String() + stderr.String()
	for _, leak := range []string{token, "Zx81Qm4P", "dG9rX2xpdmVfWng4MVFtNFBhYVI3", "MIIEvQIBADAN"} {
		if strings.Contains(all, leak) {
			t.Fatalf("output shows %q:\n%s", leak, all)
		}
	}
	for _, want := range []string{"whole: ***", "bytes: ***", "out 4", "b64: ***", "key: ***"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "***\n") || !strings.Contains(stderr.String(), "err 4") {
		t.Errorf("stderr: %q", stderr.String())
	}
}

func TestRunResults(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A", "value-a")
	ctx := context.Background()

	res, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "kill -TERM $$"}})
	if err != nil || res.Signal == nil || res.Signal.String() != "terminated" || res.ExitCode != -1 {
		t.Fatalf("signalled job: %+v %v", res, err)
	}

	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	// The grandchild (sleep) holds the output open; the group is killed.
	res, err = m.Run(cctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "sleep 30 & sleep 30; echo done"}, Stdout: &bytes.Buffer{}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled job: %+v %v", res, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled job took %v to return", d)
	}

	if _, err := m.Run(ctx, "ws", secrets.Job{Path: "/nonexistent/program"}); err == nil {
		t.Fatal("a missing program ran")
	}

	var out bytes.Buffer
	res, err = m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "read x; echo got $x; pwd"},
		Stdin: strings.NewReader("line\n"), Stdout: &out, Dir: "/tmp"})
	if err != nil || res.ExitCode != 0 || out.String() != "got line\n/tmp\n" {
		t.Fatalf("stdin and dir: %+v %v %q", res, err, out.String())
	}
}

// TestRunRefusesOversizedEnvironment: an environment the kernel would
// refuse with E2BIG is refused first, with ErrTooLarge.
func TestRunRefusesOversizedEnvironment(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: -1})
	big := strings.Repeat("v", 120<<10)
	for i := range 80 { // 80 x 120 KiB: over any execve limit
		mustSet(t, m, "ws", fmt.Sprintf("BIG_%02d", i), big)
	}
	_, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/true"})
	if !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("Run with a 9.6 MiB environment: %v", err)
	}
	// A single oversized base entry.
	_, err = m.Run(context.Background(), "empty", secrets.Job{Path: "/bin/true", Base: []string{"X=" + strings.Repeat("y", 200<<10)}})
	if !errors.Is(err, secrets.ErrTooLarge) || strings.Contains(err.Error(), "yyyy") {
		t.Fatalf("Run with a 200 KiB base variable: %v", err)
	}
}

// TestRunForwardsSignals: a signal given to Run reaches the job, which
// can handle it (here: report and exit 7).
func TestRunForwardsSignals(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	sigs := make(chan os.Signal, 1)
	var out lockedBuffer
	done := make(chan struct{})
	var res secrets.JobResult
	var err error
	go func() {
		defer close(done)
		res, err = m.Run(context.Background(), "ws", secrets.Job{
			Path: "/bin/sh", Args: []string{"-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done`},
			Stdout: &out, Signals: sigs,
		})
	}()
	for !strings.Contains(out.String(), "ready") {
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- syscall.SIGTERM
	<-done
	if err != nil || res.ExitCode != 7 || !strings.Contains(out.String(), "got TERM") {
		t.Fatalf("%+v %v %q", res, err, out.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a job writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
