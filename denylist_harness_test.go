//go:build linux

package secrets_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// The hijack tests show, with the real programs installed here, that a
// variable on the deny-list makes a program a job runs do what the editor
// chose: each case runs a command twice, without and with the variable, and
// a harmless marker (a file created in the test's directory) appears only
// the second time. Each case also checks that the library refuses the
// names involved. A case whose program is missing is skipped, naming it.

// A hijackCase is one reproduction.
type hijackCase struct {
	name  string   // subtest name
	deny  []string // names the library must refuse
	needs []string // programs that must be installed
	setup func(t *testing.T, w *hijackWork) hijackRun
}

// A hijackWork is a case's directory and marker.
type hijackWork struct {
	dir    string // for the files the case writes
	mark   string // the file the attack creates
	script string // a shell program that creates mark and exits 0
	home   string // HOME of both runs, empty
}

// A hijackRun is the command of a case.
type hijackRun struct {
	argv   []string
	dir    string   // working directory; default w.dir
	env    []string // variables of both runs, over hijackBase
	attack []string // variables of the second run only
	stdin  string
	// nobody runs the command as an unprivileged user when the test runs
	// as root (bash ignores PS4 from the environment for root).
	nobody bool
	// noControl skips the run without the attack, which would reach the
	// network (git would run the real ssh).
	noControl bool
	// took reports whether the attack worked; nil means the marker exists.
	took func(w *hijackWork, r hijackResult) bool
}

type hijackResult struct {
	out  string
	code int
}

func (w *hijackWork) file(t *testing.T, rel, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(w.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	// No fork while the file is open for writing: a child forked then
	// holds the descriptor until it execs, and a program that runs the
	// file meanwhile fails with "text file busy" (ETXTBSY): the likely
	// cause of the GOROOT case failing once under the full suite's load
	// (a script it had just written, run at once by go tool).
	syscall.ForkLock.Lock()
	err := os.WriteFile(p, []byte(content), mode)
	syscall.ForkLock.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// markScript is a shell program that creates the marker.
func (w *hijackWork) markScript(t *testing.T, rel string) string {
	return w.file(t, rel, "#!/bin/sh\n: > '"+w.mark+"'\nexit 0\n", 0o755)
}

// markPython, markJS and markPerl are statements that create the marker.
func (w *hijackWork) markPython() string { return fmt.Sprintf("open(%q, 'w').close()\n", w.mark) }
func (w *hijackWork) markJS() string {
	return fmt.Sprintf("require('fs').writeFileSync(%q, '');\n", w.mark)
}
func (w *hijackWork) markPerl() string {
	return fmt.Sprintf("open(my $f, '>', %q); close $f;\n", w.mark)
}

// sharedObject builds a shared object whose constructor creates the
// marker, as a library, module or agent of the editor's would run code.
func (w *hijackWork) sharedObject(t *testing.T, rel string) string {
	t.Helper()
	src := w.file(t, rel+".c", fmt.Sprintf(`#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
	int fd = open(%q, O_WRONLY | O_CREAT, 0600);
	if (fd >= 0) close(fd);
}
`, w.mark), 0o644)
	so := filepath.Join(w.dir, rel)
	if err := os.MkdirAll(filepath.Dir(so), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", so, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return so
}

// gitRepo makes a repository with one commit.
func (w *hijackWork) gitRepo(t *testing.T, rel string) string {
	t.Helper()
	dir := filepath.Join(w.dir, rel)
	hijackMust(t, w, dir, "git", "init", "-q", dir)
	hijackMust(t, w, dir, "git", "commit", "-q", "--allow-empty", "-m", "first")
	return dir
}

// hijackMust runs a setup command in the base environment.
func hijackMust(t *testing.T, w *hijackWork, dir string, argv ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, hijackBase(w)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// hijackBase is the environment of every run: the test's PATH and the
// toolchain locations that HOME no longer gives, a fresh HOME, and what
// keeps the programs quiet and off the network.
func hijackBase(w *hijackWork) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + w.home,
		"TERM=dumb", "LC_ALL=C", "TMPDIR=" + w.dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_TERMINAL_PROMPT=0",
		"GOPROXY=off", "GOTOOLCHAIN=local", "GOSUMDB=off", "CGO_ENABLED=0",
		"GOCACHE=" + hijackGoCache, "GOPATH=" + filepath.Join(w.dir, "gopath"),
		"NPM_CONFIG_UPDATE_NOTIFIER=false", "NPM_CONFIG_FUND=false",
		"NPM_CONFIG_AUDIT=false", "NPM_CONFIG_OFFLINE=true",
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INDEX=1", "PYTHONDONTWRITEBYTECODE=1",
	}
	if home, err := os.UserHomeDir(); err == nil {
		for _, v := range []struct{ name, def string }{
			{"RUSTUP_HOME", filepath.Join(home, ".rustup")},
			{"CARGO_HOME", filepath.Join(home, ".cargo")},
		} {
			p := os.Getenv(v.name)
			if p == "" {
				p = v.def
			}
			if _, err := os.Stat(p); err == nil {
				env = append(env, v.name+"="+p)
			}
		}
	}
	return env
}

// hijackGoCache is the build cache of the Go cases: the go command's own
// (go env GOCACHE), which holds the standard library already; a fresh one
// made every run build it again, half a minute of the machine's two
// cores. The cases' builds key their work by what they run with
// (-toolexec and the forged module included), so none reuses another's.
var hijackGoCache string

// with sets variables over an environment.
func with(env []string, vars ...string) []string {
	out := make([]string, 0, len(env)+len(vars))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		over := false
		for _, v := range vars {
			if n, _, _ := strings.Cut(v, "="); n == name {
				over = true
			}
		}
		if !over {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}

func (r hijackRun) run(t *testing.T, w *hijackWork, attacked bool) hijackResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.argv[0], r.argv[1:]...)
	cmd.Dir = r.dir
	if cmd.Dir == "" {
		cmd.Dir = w.dir
	}
	cmd.Env = with(hijackBase(w), r.env...)
	if attacked {
		cmd.Env = with(cmd.Env, r.attack...)
	}
	cmd.Stdin = strings.NewReader(r.stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A new session: no controlling terminal, as in a job.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if r.nobody && os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", strings.Join(r.argv, " "), err)
	}
	return hijackResult{out: out.String(), code: code}
}

func (r hijackRun) tookIn(w *hijackWork, res hijackResult) bool {
	if r.took != nil {
		return r.took(w, res)
	}
	_, err := os.Stat(w.mark)
	return err == nil
}

// refuses asserts that the library refuses a name.
func refuses(t *testing.T, m *secrets.Manager, name string) {
	t.Helper()
	err := secrets.DenyValidName(m, name)
	if !errors.Is(err, secrets.ErrReservedName) {
		t.Errorf("the library accepts %s: %v", name, err)
	}
}

func runHijacks(t *testing.T, cases []hijackCase) {
	m := secrets.NewDenyTestManager(t)
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil && filepath.IsAbs(strings.TrimSpace(string(out))) {
		hijackGoCache = strings.TrimSpace(string(out))
	} else {
		hijackGoCache = t.TempDir()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // a folder of its own; the programs' time is mostly waiting
			for _, name := range c.deny {
				refuses(t, m, name)
			}
			for _, p := range c.needs {
				if _, err := exec.LookPath(p); err != nil {
					t.Skipf("%s is not installed", p)
				}
			}
			dir := t.TempDir()
			// Readable by the unprivileged user of nobody runs.
			for _, d := range []string{filepath.Dir(dir), dir} {
				if err := os.Chmod(d, 0o777); err != nil {
					t.Fatal(err)
				}
			}
			w := &hijackWork{dir: dir, mark: filepath.Join(dir, "MARK"), home: filepath.Join(dir, "home")}
			if err := os.Mkdir(w.home, 0o777); err != nil {
				t.Fatal(err)
			}
			w.script = w.markScript(t, "bin/mark")
			r := c.setup(t, w)
			if !r.noControl {
				res := r.run(t, w, false)
				if r.tookIn(w, res) {
					t.Fatalf("the marker appears without the attack; output:\n%s", res.out)
				}
			}
			res := r.run(t, w, true)
			if !r.tookIn(w, res) {
				t.Errorf("%s with %s did not run the editor's code; exit %d, output:\n%s",
					strings.Join(r.argv, " "), strings.Join(r.attack, " "), res.code, res.out)
			}
		})
	}
}

var pythonOnce struct {
	sync.Once
	exe, ver, prefix, stdlib string
}

// python is the real interpreter behind python3 (not a version manager's
// shim, which reads HOME), its X.Y version, sys.prefix and stdlib.
func python(t *testing.T) (exe, ver, prefix, stdlib string) {
	t.Helper()
	pythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c",
			"import sys, sysconfig; print(sys.executable); print('%d.%d' % sys.version_info[:2]); print(sys.prefix); print(sysconfig.get_path('stdlib'))").Output()
		if err != nil {
			return
		}
		if f := strings.Split(strings.TrimSpace(string(out)), "\n"); len(f) == 4 {
			pythonOnce.exe, pythonOnce.ver, pythonOnce.prefix, pythonOnce.stdlib = f[0], f[1], f[2], f[3]
		}
	})
	if pythonOnce.exe == "" {
		t.Skip("python3 does not tell where it is")
	}
	return pythonOnce.exe, pythonOnce.ver, pythonOnce.prefix, pythonOnce.stdlib
}

// fakeStdlib makes dir a copy of the standard library (symbolic links)
// whose encodings package, imported at every start, also creates the
// marker.
func fakeStdlib(t *testing.T, w *hijackWork, dir string) {
	t.Helper()
	_, _, _, stdlib := python(t)
	if err := os.MkdirAll(filepath.Join(dir, "encodings"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := func(from, to string) {
		if err := os.Symlink(from, to); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(stdlib)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "encodings" {
			link(filepath.Join(stdlib, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	enc, err := os.ReadDir(filepath.Join(stdlib, "encodings"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range enc {
		if e.Name() != "__init__.py" && e.Name() != "__pycache__" {
			link(filepath.Join(stdlib, "encodings", e.Name()), filepath.Join(dir, "encodings", e.Name()))
		}
	}
	init, err := os.ReadFile(filepath.Join(stdlib, "encodings", "__init__.py"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(w.dir, filepath.Join(dir, "encodings", "__init__.py"))
	if err != nil {
		t.Fatal(err)
	}
	// Early in start-up: no open() yet, only the posix module.
	w.file(t, rel, string(init)+fmt.Sprintf("\nimport posix\nposix.close(posix.open(%q, posix.O_WRONLY | posix.O_CREAT, 0o600))\n", w.mark), 0o644)
}

// userSite is python's user site-packages directory under an environment.
func userSite(t *testing.T, w *hijackWork, vars ...string) string {
	t.Helper()
	exe, _, _, _ := python(t)
	cmd := exec.Command(exe, "-c", "import site; print(site.getusersitepackages())")
	cmd.Env = with(hijackBase(w), vars...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// goModHash is the go.sum hash of a go.mod file (dirhash's Hash1 over one
// file named go.mod).
func goModHash(gomod string) string {
	sum := sha256.Sum256([]byte(gomod))
	line := hex.EncodeToString(sum[:]) + "  go.mod\n"
	h := sha256.Sum256([]byte(line))
	return "h1:" + base64.StdEncoding.EncodeToString(h[:])
}

// forgedModCache writes a module cache under root holding example.com/m
// v1.0.0 whose source creates the marker, with a .ziphash that matches
// the go.sum of the module app it also writes, and returns app's directory.
func forgedModCache(t *testing.T, w *hijackWork, root string) string {
	t.Helper()
	rel := func(p string) string {
		r, err := filepath.Rel(w.dir, filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const zipHash = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	gomod := "module example.com/m\n"
	dl := "cache/download/example.com/m/@v/"
	w.file(t, rel(dl+"list"), "v1.0.0\n", 0o644)
	w.file(t, rel(dl+"v1.0.0.info"), `{"Version":"v1.0.0"}`, 0o644)
	w.file(t, rel(dl+"v1.0.0.mod"), gomod, 0o644)
	w.file(t, rel(dl+"v1.0.0.ziphash"), zipHash, 0o644)
	w.file(t, rel("example.com/m@v1.0.0/go.mod"), gomod, 0o644)
	w.file(t, rel("example.com/m@v1.0.0/m.go"), fmt.Sprintf("package m\n\nimport \"os\"\n\nfunc init() { os.WriteFile(%q, nil, 0o600) }\n", w.mark), 0o644)
	w.file(t, "app/go.mod", "module app\n\ngo 1.21\n\nrequire example.com/m v1.0.0\n", 0o644)
	w.file(t, "app/go.sum", "example.com/m v1.0.0 "+zipHash+"\nexample.com/m v1.0.0/go.mod "+goModHash(gomod)+"\n", 0o644)
	w.file(t, "app/main.go", "package main\n\nimport _ \"example.com/m\"\n\nfunc main() {}\n", 0o644)
	return filepath.Join(w.dir, "app")
}

func goModule(t *testing.T, w *hijackWork) string {
	w.file(t, "mod/go.mod", "module x\n\ngo 1.21\n", 0o644)
	w.file(t, "mod/main.go", "package main\n\nfunc main() {}\n", 0o644)
	return filepath.Join(w.dir, "mod")
}

func crate(t *testing.T, w *hijackWork) hijackRun {
	w.file(t, "crate/Cargo.toml", "[package]\nname = \"c\"\nversion = \"0.1.0\"\nedition = \"2021\"\n", 0o644)
	w.file(t, "crate/src/main.rs", "fn main() {}\n", 0o644)
	return hijackRun{
		argv: []string{"cargo", "build", "-q", "--offline"},
		dir:  filepath.Join(w.dir, "crate"),
		env:  []string{"CARGO_TARGET_DIR=" + filepath.Join(w.dir, "target")},
	}
}
