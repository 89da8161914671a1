package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// needProgram skips a test whose real program is missing, except in CI.
func needProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing in CI", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// arrivals records when each line reaches the writer.
type arrivals struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines []string
	at    []time.Time
}

func (a *arrivals) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Write(p)
	for {
		line, err := a.buf.ReadString('\n')
		if err != nil {
			a.buf.Reset()
			a.buf.WriteString(line)
			break
		}
		a.lines = append(a.lines, strings.TrimSuffix(line, "\n"))
		a.at = append(a.at, time.Now())
	}
	return len(p), nil
}

// A build log is watched live: each line a python3 job prints reaches the
// writer within 50 ms of being printed, with a PEM key and short secrets
// in the workspace, and no value shows.
func TestRunStreamsLive(t *testing.T) {
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TLS_KEY", string(pemKey()))
	mustSet(t, m, "ws", "AUTH_TOKEN", "hunter2hunter2")
	script := `
import os, sys, time
for i in range(5):
    print("step %d at %.6f" % (i, time.time()), flush=True)
    time.sleep(0.25)
print("token", os.environ["AUTH_TOKEN"], "at %.6f" % time.time(), flush=True)
print("BEGIN", "at %.6f" % time.time(), flush=True)
`
	var out arrivals
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if len(out.lines) != 7 {
		t.Fatalf("lines: %q", out.lines)
	}
	var worst time.Duration
	for i, line := range out.lines {
		f := strings.Fields(line)
		sec, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("line %q", line)
		}
		printed := time.Unix(0, int64(sec*1e9))
		worst = max(worst, out.at[i].Sub(printed))
	}
	t.Logf("slowest line reached the writer %v after it was printed", worst)
	if worst > 50*time.Millisecond {
		t.Fatalf("a line took %v to reach the writer", worst)
	}
	if strings.Contains(strings.Join(out.lines, "\n"), "hunter2") || !strings.Contains(out.lines[5], "token ***") {
		t.Fatalf("output: %q", out.lines)
	}
}

// One writer given as both streams is written by one goroutine at a time
// (a bytes.Buffer under -race), and gets every byte the job wrote, each
// stream's in order, with values masked: over 30 MB of interleaved
// output. The streams use disjoint alphabets (stdout a-j, x and newline;
// stderr K-T, =, * and ;), so that the log can be split into them
// wherever one cut into the other.
func TestRunOneWriterForBothStreams(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "AUTH_TOKEN", "tok_live_Zx81Qm4PaaR7")
	script := `
import os, sys
tok = os.environ["AUTH_TOKEN"]
def num(i, zero):
    return "".join(chr(ord(zero) + int(d)) for d in "%06d" % i)
for i in range(int(os.environ["LINES"])):
    sys.stdout.write(num(i, "a") + "x" * 5000 + "\n"); sys.stdout.flush()
    sys.stderr.write(num(i, "K") + "=" + tok + ";"); sys.stderr.flush()
`
	num := func(i int, zero byte) string {
		b := []byte(fmt.Sprintf("%06d", i))
		for k := range b {
			b[k] += zero - '0'
		}
		return string(b)
	}
	const lines = 6200 // 31 MB, the size at which the shared writer lost data before
	base := append(secrets.DefaultBase(), fmt.Sprintf("LINES=%d", lines))
	var out bytes.Buffer
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Base: base, Stdout: &out, Stderr: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	var wantOut, wantErr, gotOut, gotErr bytes.Buffer
	for i := range lines {
		fmt.Fprintf(&wantOut, "%s%s\n", num(i, 'a'), strings.Repeat("x", 5000))
		fmt.Fprintf(&wantErr, "%s=***;", num(i, 'K'))
	}
	for _, c := range out.Bytes() {
		if c >= 'a' && c <= 'j' || c == 'x' || c == '\n' {
			gotOut.WriteByte(c)
		} else {
			gotErr.WriteByte(c)
		}
	}
	for _, s := range []struct {
		name      string
		got, want []byte
	}{{"stdout", gotOut.Bytes(), wantOut.Bytes()}, {"stderr", gotErr.Bytes(), wantErr.Bytes()}} {
		if !bytes.Equal(s.got, s.want) {
			i := 0
			for i < min(len(s.got), len(s.want)) && s.got[i] == s.want[i] {
				i++
			}
			t.Fatalf("%s: %d bytes differ from the %d expected at %d: %q, want %q", s.name, len(s.got), len(s.want), i,
				s.got[max(i-20, 0):min(i+40, len(s.got))], s.want[max(i-20, 0):min(i+40, len(s.want))])
		}
	}
	// Two writers: each stream in order.
	var so, se bytes.Buffer
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Base: base, Stdout: &so, Stderr: &se}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(so.Bytes(), wantOut.Bytes()) || !bytes.Equal(se.Bytes(), wantErr.Bytes()) {
		t.Fatalf("separate streams: %d and %d bytes", so.Len(), se.Len())
	}
}

// The size check counts the program as found in PATH: at the exact limit
// the job runs, one byte over it is ErrTooLarge before exec.
func TestRunSizeCheckAtTheLimit(t *testing.T) {
	truePath := needProgram(t, "true")
	limit := secrets.ExecLimit()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: -1})
	// The kernel copies the path found (len+1), argv[0] "true" (5 + a
	// pointer) and each "NAME=value" string (len+1 + a pointer).
	used := int64(len(truePath)+1) + 5 + 8
	base := []string{}
	for i := 0; ; i++ {
		left := limit - used
		if left <= 0 {
			break
		}
		n := min(left-8-1, 100<<10)
		if n < 3 {
			t.Fatalf("cannot fill the last %d bytes", left)
		}
		kv := fmt.Sprintf("F%d=", i)
		if int64(len(kv)) >= n {
			t.Fatalf("cannot fill the last %d bytes", left)
		}
		kv += strings.Repeat("v", int(n)-len(kv))
		base = append(base, kv)
		used += int64(len(kv)) + 1 + 8
	}
	if used != limit {
		t.Fatalf("filled %d of %d", used, limit)
	}
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: "true", Base: base})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("at the limit: %+v %v", res, err)
	}
	base[len(base)-1] += "v"
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: "true", Base: base}); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("one byte over the limit: %v", err)
	}
}

// File secrets are delivered as files in a private directory (0700, files
// 0600) named by the variable, their content is masked in the output (each
// line too), and the directory is gone when Run returns: after success,
// failure, cancellation, and a panic of an output writer.
func TestRunFileSecrets(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	kube := "apiVersion: v1\nclusters:\n- cluster: {server: https://k8s.example:6443}\nusers: [token: kube-secret-0001]\n"
	if _, err := m.Set(ctx, "ws", "KUBECONFIG", []byte(kube), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, m, "ws", "PLAIN", "plain-value-01")
	parent := t.TempDir()
	script := `test -f "$KUBECONFIG" || exit 9
stat -c '%a' "$(dirname "$KUBECONFIG")" "$KUBECONFIG"; basename "$KUBECONFIG"; cat "$KUBECONFIG"; echo "$PLAIN"
echo "$KUBECONFIG" > ` + parent + `/path`
	var out bytes.Buffer
	res, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Stdout: &out, Files: parent})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v: %s", res, err, out.String())
	}
	// The file's lines, then PLAIN's value: adjacent matches are one mask.
	want := "700\n600\nKUBECONFIG\n***\n"
	if out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	gone := func(what string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(parent, "path"))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if _, err := os.Stat(filepath.Dir(strings.TrimSpace(string(b)))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the job's directory is still there: %v", what, err)
		}
		// Nothing is left in the root of the job folders: the folder
		// and its lock file are gone.
		root := filepath.Dir(filepath.Dir(strings.TrimSpace(string(b))))
		if entries, _ := os.ReadDir(root); len(entries) != 0 {
			t.Fatalf("%s: %d entries left in the root of the job folders", what, len(entries))
		}
		os.Remove(filepath.Join(parent, "path"))
	}
	gone("success")
	if res, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script + "; exit 3"}, Files: parent}); err != nil || res.ExitCode != 3 {
		t.Fatalf("failure: %+v %v", res, err)
	}
	gone("failure")
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			// The whole line: the shell creates the file before it
			// writes it, and a cancel in between would leave it empty.
			if b, err := os.ReadFile(filepath.Join(parent, "path")); err == nil && strings.HasSuffix(string(b), "\n") {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := m.Run(cctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script + "; sleep 30"}, Files: parent}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	gone("cancellation")
	func() {
		defer func() {
			if v := recover(); v != "writer exploded" {
				t.Fatalf("recovered %v", v)
			}
		}()
		m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Files: parent, Stdout: panicWriter{}})
		t.Fatal("Run returned after its writer panicked")
	}()
	gone("a panic of the writer")
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("writer exploded") }

// A job can ask for only some secrets (a missing name is an error before
// anything runs), and mask values that are not secrets of the workspace,
// given up front or added while it runs.
func TestRunSubsetAndExtraMasks(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "WANTED", "wanted-value-01")
	mustSet(t, m, "ws", "OTHER", "other-value-02")
	var out lockedBuffer
	ready := make(chan func(...[]byte), 1)
	script := `echo "W=$WANTED O=${OTHER:-unset} J=$JOB_TOKEN ready."; read go; echo "late $LATE_TOKEN"`
	r, w, _ := os.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Names: []string{"wanted"},
			Base:  append(secrets.DefaultBase(), "JOB_TOKEN=minted-for-this-job", "LATE_TOKEN=minted-while-running"),
			Masks: [][]byte{[]byte("minted-for-this-job")}, Mask: func(add func(...[]byte)) { ready <- add },
			Stdin: r, Stdout: &out})
		done <- err
	}()
	add := <-ready
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "\n"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.Close()
			t.Fatalf("the first line never arrived; output so far %q", out.String())
		}
	}
	add([]byte("minted-while-running"))
	w.Write([]byte("go\n"))
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "W=*** O=unset J=*** ready.\nlate ***\n" {
		t.Fatalf("output %q", got)
	}
	before := len(mustEvents(t, m))
	if _, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", "echo ran"}, Names: []string{"WANTED", "MISSING"}, Stdout: &out}); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a missing name: %v", err)
	}
	if strings.Contains(out.String(), "ran") {
		t.Fatal("the job ran without a name it asked for")
	}
	if len(mustEvents(t, m)) == before {
		t.Fatal("the refused job left no event")
	}
}

func mustEvents(t *testing.T, m *secrets.Manager) []secrets.Event {
	t.Helper()
	es, err := m.Events(context.Background(), secrets.EventQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Prepare makes a job from one read, for hosts that start the process
// themselves: the environment, the files, and a Redactor of exactly the
// values delivered. Jobs prepared from the same state share one Redactor.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "first-value-001")
	if _, err := m.Set(ctx, "ws", "CERT", []byte("-----CERT-----"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Base: []string{"HOME=/work"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.Env) != 3 || p.Env[0] != "HOME=/work" || p.Env[2] != "TOKEN=first-value-001" || !strings.HasPrefix(p.Env[1], "CERT="+p.Dir+"/") {
		t.Fatalf("Env %q", []string(p.Env))
	}
	if got := p.Redactor().RedactString("a first-value-001 b -----CERT----- c"); got != "a *** b *** c" {
		t.Fatalf("Redactor: %q", got)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", p, p), "first-value") {
		t.Fatal("a PreparedJob prints a value")
	}
	q, err := m.Prepare(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.State != p.State {
		t.Fatalf("two jobs of one state: state %d and %d", p.State, q.State)
	}
	mustSet(t, m, "ws", "TOKEN", "second-value-02")
	r, err := m.Prepare(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Redactor().RedactString("first-value-001 second-value-02"); got != "first-value-001 ***" {
		t.Fatalf("the next state's Redactor: %q", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) || p.Close() != nil {
		t.Fatalf("after Close: %v", err)
	}
}
