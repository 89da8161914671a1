package secrets_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// A python3 job mints tokens and masks them while it runs: with an
// ::add-mask:: line on one stream, then prints the token (and its base64)
// at once on the other, fifty times each way; and through its mask file.
// Nothing of any token reaches the writers, nor do the command lines; a
// value shorter than MinLength is left alone (the documented rule), and
// an escaped two-line value (%0A, %0D) is masked line by line, and the
// one with a CR also whole.
func TestRuntimeMasks(t *testing.T) {
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "AUTH_TOKEN", "hunter2hunter2")
	side := filepath.Join(t.TempDir(), "tokens") // what the job minted, outside its log
	script := `
import base64, os, secrets, sys, time
minted = []
def mint():
    tok = secrets.token_hex(16)
    minted.append(tok)
    return tok
for i in range(50):
    tok = mint()
    print("::add-mask::" + tok, flush=True)
    print("err", i, tok, file=sys.stderr, flush=True)
    tok = mint()
    print("::add-mask::" + tok, file=sys.stderr, flush=True)
    print("out", i, tok, base64.b64encode(tok.encode()).decode(), flush=True)
tok = mint()
with open(os.environ["SECRETS_MASK_FILE"], "a") as f:
    f.write(tok + "\n")
print("file", tok, base64.b64encode(tok.encode()).decode(), flush=True)
tok = mint()
sys.stdout.write("::add-"); sys.stdout.flush(); time.sleep(0.1)
sys.stdout.write("mask::" + tok + "\nsplit " + tok + "\n"); sys.stdout.flush()
print("say ::add-mask::not-at-line-start", flush=True)
print("::add-mask::abc", flush=True)
print("short abc", flush=True)
print("::ADD-MASK::first-line%0Asecond-line%25", flush=True)
print("lines first-line second-line% end", flush=True)
print("::add-mask::carriage-one%0Dcarriage-two", flush=True)
print("cr carriage-one carriage-two end", flush=True)
print("whole carriage-one\rcarriage-two end", flush=True)
with open(sys.argv[1], "w") as f:
    f.write("\n".join(minted))
`
	var stdout, stderr lockedBuffer
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script, side},
		RuntimeMasks: true, Stdout: &stdout, Stderr: &stderr})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v %+v\nstderr %s", err, res, stderr.String())
	}
	raw, err := os.ReadFile(side)
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Fields(string(raw))
	if len(tokens) != 102 {
		t.Fatalf("%d tokens", len(tokens))
	}
	out, errOut := stdout.String(), stderr.String()
	all := out + errOut
	for _, tok := range tokens {
		if strings.Contains(all, tok) || strings.Contains(all, base64.StdEncoding.EncodeToString([]byte(tok))[:40]) {
			t.Fatalf("token %s shows in the output:\n%s", tok, all)
		}
	}
	for _, want := range []string{"out 49 *** ***\n", "file *** ***\n", "split ***\n", "short abc\n", "lines *** *** end\n", "cr *** *** end\n", "whole *** end\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "err 49 ***\n") {
		t.Errorf("stderr: %s", errOut)
	}
	if strings.Count(strings.ToLower(all), "add-mask") != 1 || !strings.Contains(out, "say ::add-mask::not-at-line-start\n") {
		t.Errorf("a mask command was written:\n%s", all)
	}
}

// Without RuntimeMasks, an ::add-mask:: line is ordinary output and the
// job gets no mask file.
func TestRuntimeMasksOff(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A", "value-a-1")
	var out lockedBuffer
	script := `echo "::add-mask::minted-value-1"; echo "minted-value-1 ${SECRETS_MASK_FILE:-none}"`
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "::add-mask::minted-value-1\nminted-value-1 none\n" {
		t.Fatalf("output %q", got)
	}
}

// A job may add MaxRuntimeMasks values of MaxRuntimeMaskBytes in all:
// within the bounds (a value added twice counts once) they are masked;
// the mask that goes over them, by count, by size or in the mask file,
// stops the job's output, and Run reports ErrTooLarge.
func TestRuntimeMasksBound(t *testing.T) {
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A", "value-a-1")
	run := func(t *testing.T, script string) (string, error) {
		t.Helper()
		var out lockedBuffer
		_, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script},
			RuntimeMasks: true, Stdout: &out, Stderr: &out})
		return out.String(), err
	}
	t.Run("file repeats within", func(t *testing.T) {
		out, err := run(t, `
import os
with open(os.environ["SECRETS_MASK_FILE"], "a") as f:
    f.write("same-value-1234\n" * 60000)
print("last same-value-1234")
`)
		if err != nil || out != "last ***\n" {
			t.Fatalf("%v, output %q", err, out)
		}
	})
	t.Run("within", func(t *testing.T) {
		out, err := run(t, `
for i in range(255):
    print("::add-mask::value-%05d" % i)
print("::add-mask::value-00000")
print("::add-mask::" + "x" * (65536 - 255 * 11))
print("last value-00254 " + "x" * 8)
`)
		if err != nil || out != "last *** xxxxxxxx\n" {
			t.Fatalf("%v, output %q", err, out)
		}
	})
	for name, script := range map[string]string{
		"count": `
for i in range(257):
    print("::add-mask::value-%05d" % i)
print("after value-00256")
`,
		"size": `
print("::add-mask::" + "y" * 40000)
print("::add-mask::" + "z" * 40000)
print("after")
`,
		"line": `
import sys
sys.stdout.write("::add-mask::" + "w" * 70000)
sys.stdout.flush()
print("after")
`,
		"file": `
import os
with open(os.environ["SECRETS_MASK_FILE"], "a") as f:
    for i in range(300):
        f.write("value-%05d\n" % i)
print("after value-00299")
`,
		// One value over and over, past MaxMaskFileBytes: repeats count
		// (a job trial made Run read 8 GiB of one repeated line).
		"file repeats": `
import os
with open(os.environ["SECRETS_MASK_FILE"], "a") as f:
    f.write("same-value-1234\n" * 70000)
print("after same-value-1234")
`,
		"sparse file": `
import os
fd = os.open(os.environ["SECRETS_MASK_FILE"], os.O_WRONLY)
for off in range(999, 4 << 20, 1000):
    os.pwrite(fd, b"\n", off)
os.close(fd)
print("after")
`,
	} {
		t.Run(name, func(t *testing.T) {
			out, err := run(t, script)
			if !errors.Is(err, secrets.ErrTooLarge) {
				t.Fatalf("err %v", err)
			}
			if strings.Contains(out, "after") {
				t.Fatalf("output went on: %q", out)
			}
		})
	}
}

// randomPEM returns a PEM block of about 3 KB of random base64.
func randomPEM() string {
	b := make([]byte, 2300)
	rand.Read(b)
	enc := base64.StdEncoding.EncodeToString(b)
	var s strings.Builder
	s.WriteString("-----BEGIN PRIVATE KEY-----\n")
	for len(enc) > 64 {
		s.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	s.WriteString(enc + "\n-----END PRIVATE KEY-----\n")
	return s.String()
}

// A live log: a job prints a line every 300 ms ending in a 19-digit
// number (its time in nanoseconds), with a 3 KB PEM in the workspace,
// whose lines such a number may begin in base64. Every line reaches the
// writer within 150 ms (the release after 50 ms of silence, plus
// scheduling); with Quiet negative some lines wait for the next one,
// which shows the case arises. No goroutine of the job's output is left.
func TestRunReleasesQuietLines(t *testing.T) {
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TLS_KEY", randomPEM())
	script := `
import time
for i in range(12):
    print("tick", i, time.time_ns(), flush=True)
    time.sleep(0.3)
`
	worst := func(quiet time.Duration) time.Duration {
		var out arrivals
		if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Stdout: &out, Quiet: quiet}); err != nil {
			t.Fatal(err)
		}
		if len(out.lines) != 12 {
			t.Fatalf("lines: %q", out.lines)
		}
		var w time.Duration
		for i, line := range out.lines {
			f := strings.Fields(line)
			ns, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				t.Fatalf("line %q", line)
			}
			w = max(w, out.at[i].Sub(time.Unix(0, ns)))
		}
		return w
	}
	live := worst(0)
	t.Logf("slowest line reached the writer %v after it was printed", live)
	if live > 150*time.Millisecond {
		t.Fatalf("a line took %v to reach the writer", live)
	}
	if held := worst(-1); held < 200*time.Millisecond {
		t.Fatalf("without the release the slowest line took %v: the test does not exercise held lines", held)
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "secrets.(*output)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a goroutine of a job's output outlived Run:\n%s", stacks)
		}
	}
}

// What a reader of a live log can see of a value: a job that pauses after
// the first 4 bytes of a value has them released after Quiet, and the
// rest masked when it goes on; one that pauses after 10 bytes (more than
// the 8 a release may write) has them held until the value is complete,
// and masked whole.
func TestReleaseShowsAtMostEightBytes(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "VALUE", "abcdefghijklmnop")
	for _, c := range []struct{ first, rest, want string }{
		{"x abcd", "efghijklmnop end", "x abcd*** end\n"},
		{"y abcdefghij", "klmnop end", "y *** end\n"},
		// The limit exactly: 8 bytes show, 9 do not.
		{"z abcdefgh", "ijklmnop end", "z abcdefgh*** end\n"},
		{"w abcdefghi", "jklmnop end", "w *** end\n"},
	} {
		var out arrivals
		script := `printf '%s'; sleep 0.4; printf '%s\n' "$1"`
		if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", strings.Replace(script, "%s", c.first, 1), "sh", c.rest},
			Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(out.lines, "\n") + "\n"; got != c.want {
			t.Errorf("output %q, want %q", got, c.want)
		}
	}
	// The first 4 bytes reached the writer during the pause.
	var w pausedWriter
	script := `printf 'x abcd'; sleep 0.4; printf 'efghijklmnop\n'`
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Stdout: &w}); err != nil {
		t.Fatal(err)
	}
	if w.at.IsZero() || time.Since(w.at) < 250*time.Millisecond {
		t.Fatalf("the released bytes came at %v, the job ended at %v", w.at, time.Now())
	}
}

// A value released after a mask: a python3 job prints a value, then the
// first 8 bytes of another right after it (or after a space), pauses past
// Quiet, and completes it. The 8 bytes show, and the rest of the value is
// masked in both cases (it was dropped unmasked after a mask).
func TestReleaseAfterMask(t *testing.T) {
	py := needProgram(t, "python3")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN_A", "tok_live_7d3f9a12")
	script := `
import os, sys, time
v = os.environ["TOKEN_A"]; w = sys.stdout.write
w("a " + v + v[:8]); sys.stdout.flush(); time.sleep(0.4); w(v[8:] + " Y\n")
w("b " + v + " " + v[:8]); sys.stdout.flush(); time.sleep(0.4); w(v[8:] + " Y\n")
`
	var out arrivals
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: py, Args: []string{"-c", script}, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(out.lines, "\n"), "a ***tok_live*** Y\nb *** tok_live*** Y"; got != want {
		t.Fatalf("output %q, want %q", got, want)
	}
}

// pausedWriter notes when what it was given first holds "x abcd".
type pausedWriter struct {
	lockedBuffer
	at time.Time
}

func (w *pausedWriter) Write(p []byte) (int, error) {
	n, err := w.lockedBuffer.Write(p)
	if w.at.IsZero() && strings.HasPrefix(w.String(), "x abcd") {
		w.at = time.Now()
	}
	return n, err
}

// The padding of a masked base64 form is masked with it: a job's values,
// piped through the real base64 command (standard, and wrapped as it
// wraps), leave no "=" beside the mask, whatever the value's length and
// its place in the encoded text; a padded value that goes on does not
// take in what follows it.
func TestBase64PaddingMasked(t *testing.T) {
	needProgram(t, "base64")
	sh := needProgram(t, "sh")
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	values := []string{"pad-two-tok-0", "pad-one-tok-01", "pad-none-tok-012", "pad-long-" + strings.Repeat("q", 100)}
	for i, v := range values {
		mustSet(t, m, "ws", "V"+strconv.Itoa(i), v)
	}
	script := `for v in "$V0" "$V1" "$V2" "$V3"; do
  printf 'plain %s\n' "$(printf %s "$v" | base64 -w0)"
  printf 'after-1 %s\n' "$(printf 'x%s' "$v" | base64 -w0)"
  printf 'after-2 %s\n' "$(printf 'xy%s' "$v" | base64 -w0)"
  printf 'wrapped\n'; printf 'xy%s' "$v" | base64
  printf 'then %s end\n' "$(printf '%s!' "$v" | base64 -w0)"
done`
	var stdout, stderr strings.Builder
	res, err := m.Run(context.Background(), "ws", secrets.Job{Path: sh, Args: []string{"-c", script}, Stdout: &stdout, Stderr: &stderr})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %v %+v\nstderr %s", err, res, stderr.String())
	}
	out := stdout.String()
	if strings.Count(out, "***") != 20 {
		t.Fatalf("not every form masked:\n%s", out)
	}
	if strings.Contains(out, "***=") {
		t.Errorf("padding left beside a mask:\n%s", out)
	}
	// A value followed by "!" ends mid-group: the padding there is the
	// "!"'s, after characters that hold its bits, and stays.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "then ") && !strings.HasSuffix(l, " end") {
			t.Errorf("the line after the value lost its end: %q", l)
		}
	}
	// The same, written in two pieces cut anywhere: the padding may come
	// after the mask is written.
	r := secrets.NewRedactor([][]byte{[]byte(values[0])}, nil)
	text := []byte("a " + base64.StdEncoding.EncodeToString([]byte(values[0])) + " b\n")
	for cut := range len(text) {
		if got := string(splitWrites(t, r, text, []int{cut})); got != "a *** b\n" {
			t.Errorf("cut at %d: %q", cut, got)
		}
	}
}
