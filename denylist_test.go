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
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
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

// hijackGoCache is one build cache for the Go cases, so only the first
// builds the standard library.
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
	hijackGoCache = t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
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

func TestHijackLoaderAndShells(t *testing.T) {
	runHijacks(t, []hijackCase{
		{"LD_PRELOAD", []string{"LD_PRELOAD"}, []string{"gcc", "true"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"true"}, attack: []string{"LD_PRELOAD=" + w.sharedObject(t, "evil.so")}}
		}},
		{"LD_AUDIT", []string{"LD_AUDIT", "ld_audit"}, []string{"gcc", "true"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"true"}, attack: []string{"LD_AUDIT=" + w.sharedObject(t, "evil.so")}}
		}},
		{"GCONV_PATH", []string{"GCONV_PATH"}, []string{"gcc", "iconv"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.sharedObject(t, "gconv/evil.so")
			w.file(t, "gconv/gconv-modules", "module EVIL// INTERNAL evil 1\nmodule INTERNAL EVIL// evil 1\n", 0o644)
			return hijackRun{argv: []string{"iconv", "-f", "EVIL", "-t", "UTF-8"}, stdin: "x\n",
				attack: []string{"GCONV_PATH=" + filepath.Join(w.dir, "gconv")}}
		}},
		{"PATH", []string{"PATH"}, []string{"sh"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "evilbin/id")
			return hijackRun{argv: []string{"sh", "-c", "id -u"}, attack: []string{"PATH=" + filepath.Join(w.dir, "evilbin")}}
		}},
		{"BASH_ENV", []string{"BASH_ENV"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bash", "-c", ":"}, attack: []string{"BASH_ENV=" + w.script}}
		}},
		{"ENV", []string{"ENV"}, []string{"dash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"dash", "-i", "-c", ":"}, attack: []string{"ENV=" + w.script}}
		}},
		{"BASH_FUNC_", []string{"BASH_FUNC_true", "BASH_FUNC_"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			// The exploitable name has %%, which the name rule refuses.
			return hijackRun{argv: []string{"bash", "-c", "true"}, attack: []string{"BASH_FUNC_true%%=() { " + w.script + "; }"}}
		}},
		{"PS4", []string{"PS4"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bash", "-xc", "true"}, nobody: true, attack: []string{"PS4=$(" + w.script + ")+ "}}
		}},
		{"SHELLOPTS", []string{"SHELLOPTS"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			// noexec: the script's commands are skipped and it exits 0.
			return hijackRun{argv: []string{"bash", "-c", "exit 3"}, attack: []string{"SHELLOPTS=noexec"},
				took: func(_ *hijackWork, r hijackResult) bool { return r.code == 0 }}
		}},
		{"PS0", []string{"PS0"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bash", "--norc", "-i"}, stdin: "true\n", attack: []string{"PS0=$(" + w.script + ")"}}
		}},
		{"PS1", []string{"PS1"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bash", "--norc", "-i"}, attack: []string{"PS1=$(" + w.script + ")$ "}}
		}},
		{"PROMPT_COMMAND", []string{"PROMPT_COMMAND"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"bash", "--norc", "-i"}, attack: []string{"PROMPT_COMMAND=" + w.script}}
		}},
		{"CDPATH", []string{"CDPATH"}, []string{"sh"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "work/tools/build.sh", "#!/bin/sh\nexit 0\n", 0o755)
			w.markScript(t, "evil/tools/build.sh")
			return hijackRun{argv: []string{"sh", "-c", "cd tools && ./build.sh"}, dir: filepath.Join(w.dir, "work"),
				attack: []string{"CDPATH=" + filepath.Join(w.dir, "evil")}}
		}},
		{"SHELL", []string{"SHELL"}, []string{"script"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"script", "-qec", "true", "/dev/null"}, attack: []string{"SHELL=" + w.script}}
		}},
		{"ZDOTDIR", []string{"ZDOTDIR"}, []string{"zsh"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "zdot/.zshenv", ": > '"+w.mark+"'\n", 0o644)
			return hijackRun{argv: []string{"zsh", "-c", ":"}, attack: []string{"ZDOTDIR=" + filepath.Join(w.dir, "zdot")}}
		}},
		{"LESSOPEN", []string{"LESSOPEN"}, []string{"less"}, func(t *testing.T, w *hijackWork) hijackRun {
			f := w.file(t, "f.txt", "text\n", 0o644)
			return hijackRun{argv: []string{"less", f}, attack: []string{"LESSOPEN=|" + w.script + " %s"}}
		}},
		{"LESSKEYIN", []string{"LESSKEYIN"}, []string{"less"}, func(t *testing.T, w *hijackWork) hijackRun {
			f := w.file(t, "f.txt", "text\n", 0o644)
			keys := w.file(t, "lesskey", "#env\nLESSOPEN=|"+w.script+" %s\n", 0o644)
			return hijackRun{argv: []string{"less", f}, attack: []string{"LESSKEYIN=" + keys}}
		}},
		{"WGETRC", []string{"WGETRC"}, []string{"wget"}, func(t *testing.T, w *hijackWork) hijackRun {
			rc := w.file(t, "wgetrc", "use_askpass = "+w.script+"\n", 0o644)
			// Port 9 of the loopback address: refused at once, nothing leaves the machine.
			return hijackRun{argv: []string{"wget", "-q", "--tries=1", "--timeout=5", "-O", "/dev/null", "http://127.0.0.1:9/"},
				attack: []string{"WGETRC=" + rc}}
		}},
		{"SSH_ASKPASS", []string{"SSH_ASKPASS"}, []string{"ssh-keygen"}, func(t *testing.T, w *hijackWork) hijackRun {
			key := filepath.Join(w.dir, "key")
			hijackMust(t, w, w.dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-C", "", "-f", key)
			return hijackRun{argv: []string{"ssh-keygen", "-y", "-f", key}, env: []string{"SSH_ASKPASS_REQUIRE=force"},
				attack: []string{"SSH_ASKPASS=" + w.script}}
		}},
	})
}

func TestHijackGit(t *testing.T) {
	status := func(t *testing.T, w *hijackWork, attack ...string) hijackRun {
		return hijackRun{argv: []string{"git", "status", "--short"}, dir: w.gitRepo(t, "repo"), attack: attack}
	}
	fsmonitor := func(w *hijackWork) string { return "[core]\n\tfsmonitor = " + w.script + "\n" }
	commit := func(t *testing.T, w *hijackWork, attack string) hijackRun {
		return hijackRun{argv: []string{"git", "commit", "-q", "--allow-empty"}, dir: w.gitRepo(t, "repo"), attack: []string{attack + "=" + w.script}}
	}
	needGit := []string{"git"}
	runHijacks(t, []hijackCase{
		{"GIT_CONFIG_COUNT", []string{"GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return status(t, w, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.fsmonitor", "GIT_CONFIG_VALUE_0="+w.script)
		}},
		{"GIT_CONFIG_PARAMETERS", []string{"GIT_CONFIG_PARAMETERS"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return status(t, w, "GIT_CONFIG_PARAMETERS='core.fsmonitor'='"+w.script+"'")
		}},
		{"GIT_CONFIG_GLOBAL", []string{"GIT_CONFIG_GLOBAL"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return status(t, w, "GIT_CONFIG_GLOBAL="+w.file(t, "gitconfig", fsmonitor(w), 0o644))
		}},
		{"HOME", []string{"HOME"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "evilhome/.gitconfig", fsmonitor(w), 0o644)
			return status(t, w, "HOME="+filepath.Join(w.dir, "evilhome"))
		}},
		{"XDG_CONFIG_HOME", []string{"XDG_CONFIG_HOME"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "xdg/git/config", fsmonitor(w), 0o644)
			return status(t, w, "XDG_CONFIG_HOME="+filepath.Join(w.dir, "xdg"))
		}},
		{"GIT_DIR", []string{"GIT_DIR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			evil := w.gitRepo(t, "evil")
			hijackMust(t, w, evil, "git", "config", "core.fsmonitor", w.script)
			return status(t, w, "GIT_DIR="+filepath.Join(evil, ".git"))
		}},
		{"GIT_EXEC_PATH", []string{"GIT_EXEC_PATH"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			repo := w.gitRepo(t, "repo")
			w.markScript(t, "exec/git-upload-pack")
			return hijackRun{argv: []string{"git", "ls-remote", repo}, attack: []string{"GIT_EXEC_PATH=" + filepath.Join(w.dir, "exec")}}
		}},
		{"GIT_TEMPLATE_DIR", []string{"GIT_TEMPLATE_DIR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			w.gitRepo(t, "repo")
			w.markScript(t, "template/hooks/post-checkout")
			return hijackRun{argv: []string{"sh", "-c", "rm -rf clone && git clone -q repo clone"},
				attack: []string{"GIT_TEMPLATE_DIR=" + filepath.Join(w.dir, "template")}}
		}},
		{"GIT_ASKPASS", []string{"GIT_ASKPASS"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"git", "credential", "fill"}, stdin: "protocol=https\nhost=example.com\n\n",
				env: []string{"GIT_TERMINAL_PROMPT=1"}, attack: []string{"GIT_ASKPASS=" + w.script}}
		}},
		{"GIT_ALLOW_PROTOCOL", []string{"GIT_ALLOW_PROTOCOL"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"git", "ls-remote", "ext::" + w.script}, attack: []string{"GIT_ALLOW_PROTOCOL=ext"}}
		}},
		{"GIT_EXTERNAL_DIFF", []string{"GIT_EXTERNAL_DIFF"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			repo := w.gitRepo(t, "repo")
			w.file(t, "repo/f", "one\n", 0o644)
			hijackMust(t, w, repo, "git", "add", "f")
			hijackMust(t, w, repo, "git", "commit", "-q", "-m", "f")
			w.file(t, "repo/f", "two\n", 0o644)
			return hijackRun{argv: []string{"git", "diff"}, dir: repo, attack: []string{"GIT_EXTERNAL_DIFF=" + w.script}}
		}},
		{"GIT_EDITOR", []string{"GIT_EDITOR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun { return commit(t, w, "GIT_EDITOR") }},
		{"EDITOR", []string{"EDITOR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun { return commit(t, w, "EDITOR") }},
		{"VISUAL", []string{"VISUAL"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			// git prefers VISUAL to EDITOR on a terminal that is not dumb.
			r := commit(t, w, "VISUAL")
			r.env = []string{"TERM=xterm", "EDITOR=false"}
			return r
		}},
		{"GIT_SEQUENCE_EDITOR", []string{"GIT_SEQUENCE_EDITOR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			w.gitRepo(t, "repo")
			return hijackRun{argv: []string{"sh", "-c", "git rebase --abort 2>/dev/null; git rebase -i --root"}, dir: filepath.Join(w.dir, "repo"),
				attack: []string{"GIT_SEQUENCE_EDITOR=" + w.script}}
		}},
		// Without the variable git would run ssh, which would try the network.
		{"GIT_SSH_COMMAND", []string{"GIT_SSH_COMMAND"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"git", "ls-remote", "ssh://example.invalid/x"}, noControl: true, attack: []string{"GIT_SSH_COMMAND=" + w.script}}
		}},
		{"GIT_SSH", []string{"GIT_SSH"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"git", "ls-remote", "ssh://example.invalid/x"}, noControl: true, attack: []string{"GIT_SSH=" + w.script}}
		}},
		{"GIT_PROXY_COMMAND", []string{"GIT_PROXY_COMMAND"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"git", "ls-remote", "git://example.invalid/x"}, noControl: true, attack: []string{"GIT_PROXY_COMMAND=" + w.script}}
		}},
	})
}

func TestHijackInterpreters(t *testing.T) {
	py := func(t *testing.T, args ...string) []string {
		exe, _, _, _ := python(t)
		return append([]string{exe}, args...)
	}
	needPy := []string{"python3"}
	pip := func(t *testing.T, w *hijackWork, attack func(req string) []string) hijackRun {
		exe, _, _, _ := python(t)
		if exec.Command(exe, "-c", "import setuptools").Run() != nil || exec.Command(exe, "-m", "pip", "--version").Run() != nil {
			t.Skip("python3 has no pip or setuptools")
		}
		w.file(t, "pkg/setup.py", w.markPython()+"from setuptools import setup\nsetup(name='evilpkg', version='1')\n", 0o644)
		req := w.file(t, "req.txt", filepath.Join(w.dir, "pkg")+"\n", 0o644)
		return hijackRun{argv: py(t, "-m", "pip", "install", "--dry-run", "--no-build-isolation", "-q"), attack: attack(req)}
	}
	runHijacks(t, []hijackCase{
		{"PYTHONWARNINGS and BROWSER", []string{"PYTHONWARNINGS", "BROWSER"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONWARNINGS=ignore::antigravity.x", "BROWSER=" + w.script}}
		}},
		{"PYTHONPATH", []string{"PYTHONPATH"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "pp/sitecustomize.py", w.markPython(), 0o644)
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONPATH=" + filepath.Join(w.dir, "pp")}}
		}},
		{"PYTHONHOME", []string{"PYTHONHOME"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			_, ver, _, _ := python(t)
			fakeStdlib(t, w, filepath.Join(w.dir, "pyhome", "lib", "python"+ver))
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONHOME=" + filepath.Join(w.dir, "pyhome")}}
		}},
		{"PYTHONPLATLIBDIR", []string{"PYTHONPLATLIBDIR"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			_, ver, prefix, _ := python(t)
			fakeStdlib(t, w, filepath.Join(w.dir, "plat", "python"+ver))
			rel, err := filepath.Rel(prefix, filepath.Join(w.dir, "plat"))
			if err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{"PYTHONPLATLIBDIR=" + rel}}
		}},
		{"PYTHONUSERBASE", []string{"PYTHONUSERBASE"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			base := "PYTHONUSERBASE=" + filepath.Join(w.dir, "userbase")
			site := userSite(t, w, base)
			if err := os.MkdirAll(site, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(site, "evil.pth"), []byte("import os; "+w.markPython()), 0o644); err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{base}}
		}},
		{"HOME (python user site)", []string{"HOME"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			home := "HOME=" + filepath.Join(w.dir, "evilhome")
			site := userSite(t, w, home)
			if err := os.MkdirAll(site, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(site, "evil.pth"), []byte("import os; "+w.markPython()), 0o644); err != nil {
				t.Fatal(err)
			}
			return hijackRun{argv: py(t, "-c", "pass"), attack: []string{home}}
		}},
		{"PYTHONSTARTUP", []string{"PYTHONSTARTUP"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: py(t, "-i"), attack: []string{"PYTHONSTARTUP=" + w.file(t, "startup.py", w.markPython(), 0o644)}}
		}},
		{"PYTHONBREAKPOINT", []string{"PYTHONBREAKPOINT"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "hookmod.py", "def hook(*a, **k):\n    "+w.markPython(), 0o644)
			return hijackRun{argv: py(t, "-c", "breakpoint()"), attack: []string{"PYTHONBREAKPOINT=hookmod.hook"}}
		}},
		{"PYTHONPYCACHEPREFIX", []string{"PYTHONPYCACHEPREFIX"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			src := w.file(t, "src/m.py", "x = 1\n", 0o644)
			evil := w.file(t, "evil.py", w.markPython(), 0o644)
			forge := w.file(t, "forge.py", `import importlib.util, marshal, os, sys
src, evil = sys.argv[1], sys.argv[2]
st = os.stat(src)
code = compile(open(evil).read(), src, "exec")
path = importlib.util.cache_from_source(src)
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
            + (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
            + (st.st_size & 0xFFFFFFFF).to_bytes(4, "little") + marshal.dumps(code))
`, 0o644)
			prefix := "PYTHONPYCACHEPREFIX=" + filepath.Join(w.dir, "pyc")
			exe, _, _, _ := python(t)
			cmd := exec.Command(exe, forge, src, evil)
			cmd.Env = with(hijackBase(w), prefix)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("forging the .pyc: %v\n%s", err, out)
			}
			return hijackRun{argv: py(t, "-c", "import m"), dir: filepath.Dir(src), attack: []string{prefix}}
		}},
		{"PIP_REQUIREMENT", []string{"PIP_REQUIREMENT"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return pip(t, w, func(req string) []string { return []string{"PIP_REQUIREMENT=" + req} })
		}},
		{"PIP_CONFIG_FILE", []string{"PIP_CONFIG_FILE"}, needPy, func(t *testing.T, w *hijackWork) hijackRun {
			return pip(t, w, func(req string) []string {
				return []string{"PIP_CONFIG_FILE=" + w.file(t, "pip.conf", "[install]\nrequirement = "+req+"\n", 0o644)}
			})
		}},
		{"PYENV_HOOK_PATH", []string{"PYENV_HOOK_PATH"}, []string{"pyenv"}, func(t *testing.T, w *hijackWork) hijackRun {
			root, err := exec.Command("pyenv", "root").Output()
			if err != nil {
				t.Skipf("pyenv root: %v", err)
			}
			w.file(t, "hooks/exec/evil.bash", ": > '"+w.mark+"'\n", 0o644)
			return hijackRun{argv: []string{"pyenv", "exec", "python", "-c", "pass"},
				env:    []string{"PYENV_ROOT=" + strings.TrimSpace(string(root))},
				attack: []string{"PYENV_HOOK_PATH=" + filepath.Join(w.dir, "hooks")}}
		}},
		{"NODE_OPTIONS", []string{"NODE_OPTIONS"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"node", "-e", "0"}, attack: []string{"NODE_OPTIONS=--require=" + w.file(t, "r.js", w.markJS(), 0o644)}}
		}},
		{"NODE_PATH", []string{"NODE_PATH"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "mods/optional-dep/index.js", w.markJS(), 0o644)
			return hijackRun{argv: []string{"node", "-e", "try { require('optional-dep') } catch (e) {}"},
				attack: []string{"NODE_PATH=" + filepath.Join(w.dir, "mods")}}
		}},
		{"NODE_REPL_EXTERNAL_MODULE", []string{"NODE_REPL_EXTERNAL_MODULE"}, []string{"node"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"node", "-i"}, attack: []string{"NODE_REPL_EXTERNAL_MODULE=" + w.file(t, "repl.js", w.markJS(), 0o644)}}
		}},
		{"NPM_CONFIG_SCRIPT_SHELL", []string{"NPM_CONFIG_SCRIPT_SHELL"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"NPM_CONFIG_SCRIPT_SHELL=" + w.script}}
		}},
		{"npm_config_script_shell", []string{"npm_config_script_shell"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"npm_config_script_shell=" + w.script}}
		}},
		{"NPM_CONFIG_USERCONFIG", []string{"NPM_CONFIG_USERCONFIG"}, []string{"npm"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "package.json", `{"name": "x", "version": "1.0.0", "scripts": {"build": "true"}}`, 0o644)
			rc := w.file(t, "npmrc", "script-shell="+w.script+"\n", 0o644)
			return hijackRun{argv: []string{"npm", "run", "-s", "build"}, attack: []string{"NPM_CONFIG_USERCONFIG=" + rc}}
		}},
		{"PERL5OPT", []string{"PERL5OPT"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "lib/Evil.pm", "package Evil;\n"+w.markPerl()+"1;\n", 0o644)
			return hijackRun{argv: []string{"perl", "-e", "1"}, attack: []string{"PERL5OPT=-I" + filepath.Join(w.dir, "lib") + " -MEvil"}}
		}},
		{"PERL5LIB", []string{"PERL5LIB", "PERLLIB"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			// A script's "use strict" loads the editor's strict.pm.
			w.file(t, "lib/strict.pm", "package strict;\n"+w.markPerl()+"sub import {}\nsub unimport {}\n1;\n", 0o644)
			return hijackRun{argv: []string{"perl", "-e", "use strict; 1"}, attack: []string{"PERL5LIB=" + filepath.Join(w.dir, "lib")}}
		}},
		{"PERL5DB", []string{"PERL5DB"}, []string{"perl"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"perl", "-d", "-e", "1"}, attack: []string{"PERL5DB=BEGIN { " + strings.TrimSpace(w.markPerl()) + " }"}}
		}},
	})
}

func TestHijackBuildTools(t *testing.T) {
	agent := func(name string, argv ...string) func(t *testing.T, w *hijackWork) hijackRun {
		return func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: argv, attack: []string{name + "=-agentpath:" + w.sharedObject(t, "agent.so")}}
		}
	}
	makefile := func(w *hijackWork, t *testing.T) {
		w.file(t, "Makefile", "all:\n\t@true\nclean:\n\t$(RM) nothing\n", 0o644)
	}
	toolexec := func(w *hijackWork) string { return "-toolexec=" + w.script }
	runHijacks(t, []hijackCase{
		{"JAVA_TOOL_OPTIONS", []string{"JAVA_TOOL_OPTIONS"}, []string{"gcc", "java"}, agent("JAVA_TOOL_OPTIONS", "java", "-version")},
		{"_JAVA_OPTIONS", []string{"_JAVA_OPTIONS"}, []string{"gcc", "java"}, agent("_JAVA_OPTIONS", "java", "-version")},
		{"JDK_JAVA_OPTIONS", []string{"JDK_JAVA_OPTIONS"}, []string{"gcc", "java"}, agent("JDK_JAVA_OPTIONS", "java", "-version")},
		{"MAVEN_OPTS", []string{"MAVEN_OPTS"}, []string{"gcc", "mvn"}, agent("MAVEN_OPTS", "mvn", "-v")},
		{"MAVEN_DEBUG_OPTS", []string{"MAVEN_DEBUG_OPTS"}, []string{"gcc", "mvn"}, agent("MAVEN_DEBUG_OPTS", "mvn", "-v")},
		{"JAVA_HOME", []string{"JAVA_HOME"}, []string{"mvn"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "jdk/bin/java")
			return hijackRun{argv: []string{"mvn", "-v"}, attack: []string{"JAVA_HOME=" + filepath.Join(w.dir, "jdk")}}
		}},
		{"OPENSSL_CONF", []string{"OPENSSL_CONF"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			conf := w.file(t, "openssl.cnf", "openssl_conf = init\n[init]\nproviders = providers\n[providers]\nevil = evil\n[evil]\nmodule = "+
				w.sharedObject(t, "provider.so")+"\nactivate = 1\n", 0o644)
			return hijackRun{argv: []string{"openssl", "version"}, attack: []string{"OPENSSL_CONF=" + conf}}
		}},
		{"OPENSSL_MODULES", []string{"OPENSSL_MODULES"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.sharedObject(t, "modules/evil.so")
			return hijackRun{argv: []string{"openssl", "list", "-providers", "-provider", "evil"}, attack: []string{"OPENSSL_MODULES=" + filepath.Join(w.dir, "modules")}}
		}},
		{"OPENSSL_ENGINES", []string{"OPENSSL_ENGINES"}, []string{"gcc", "openssl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.sharedObject(t, "engines/evil.so")
			return hijackRun{argv: []string{"openssl", "engine", "evil"}, attack: []string{"OPENSSL_ENGINES=" + filepath.Join(w.dir, "engines")}}
		}},
		{"GOFLAGS", []string{"GOFLAGS"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			return hijackRun{argv: []string{"go", "build", "-o", os.DevNull, "."}, dir: goModule(t, w), attack: []string{"GOFLAGS=" + toolexec(w)}}
		}},
		{"GOENV", []string{"GOENV"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			env := w.file(t, "goenv", "GOFLAGS="+toolexec(w)+"\n", 0o644)
			return hijackRun{argv: []string{"go", "build", "-o", os.DevNull, "."}, dir: goModule(t, w), attack: []string{"GOENV=" + env}}
		}},
		{"GOROOT", []string{"GOROOT"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			out, err := exec.Command("go", "env", "GOHOSTOS", "GOHOSTARCH").Output()
			f := strings.Fields(string(out))
			if err != nil || len(f) != 2 {
				t.Fatalf("go env: %v", err)
			}
			w.markScript(t, "goroot/pkg/tool/"+f[0]+"_"+f[1]+"/evil")
			return hijackRun{argv: []string{"go", "tool", "evil"}, attack: []string{"GOROOT=" + filepath.Join(w.dir, "goroot")}}
		}},
		{"GOMODCACHE", []string{"GOMODCACHE"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			cache := filepath.Join(w.dir, "modcache")
			return hijackRun{argv: []string{"go", "run", "."}, dir: forgedModCache(t, w, cache), attack: []string{"GOMODCACHE=" + cache}}
		}},
		{"GOPATH", []string{"GOPATH"}, []string{"go"}, func(t *testing.T, w *hijackWork) hijackRun {
			gopath := filepath.Join(w.dir, "evilgopath")
			return hijackRun{argv: []string{"go", "run", "."}, dir: forgedModCache(t, w, filepath.Join(gopath, "pkg", "mod")), attack: []string{"GOPATH=" + gopath}}
		}},
		{"MAKEFLAGS", []string{"MAKEFLAGS"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"MAKEFLAGS=SHELL=" + w.script}}
		}},
		{"GNUMAKEFLAGS", []string{"GNUMAKEFLAGS"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"GNUMAKEFLAGS=SHELL=" + w.script}}
		}},
		{"MAKEFILES", []string{"MAKEFILES"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s"}, attack: []string{"MAKEFILES=" + w.file(t, "extra.mk", "$(shell "+w.script+")\n", 0o644)}}
		}},
		{"RM", []string{"RM"}, []string{"make"}, func(t *testing.T, w *hijackWork) hijackRun {
			makefile(w, t)
			return hijackRun{argv: []string{"make", "-s", "clean"}, attack: []string{"RM=" + w.script}}
		}},
		{"CC", []string{"CC"}, []string{"make", "cc"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "x.c", "int main(void) { return 0; }\n", 0o644)
			return hijackRun{argv: []string{"make", "-s", "-B", "x"}, attack: []string{"CC=" + w.script}}
		}},
		{"CFLAGS", []string{"CFLAGS"}, []string{"make", "gcc"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "x.c", "int main(void) { return 0; }\n", 0o644)
			return hijackRun{argv: []string{"make", "-s", "-B", "x"}, env: []string{"CC=gcc"}, attack: []string{"CFLAGS=-wrapper " + w.script}}
		}},
		{"RUSTC_WRAPPER", []string{"RUSTC_WRAPPER"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			r.attack = []string{"RUSTC_WRAPPER=" + w.script}
			return r
		}},
		{"RUSTFLAGS", []string{"RUSTFLAGS"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			r.attack = []string{"RUSTFLAGS=-C linker=" + w.script}
			return r
		}},
		{"CARGO_HOME", []string{"CARGO_HOME"}, []string{"cargo"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			w.file(t, "cargohome/config.toml", "[build]\nrustc-wrapper = \""+w.script+"\"\n", 0o644)
			r.attack = []string{"CARGO_HOME=" + filepath.Join(w.dir, "cargohome")}
			return r
		}},
		{"CARGO_TARGET_<triple>_RUNNER", []string{"CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER"}, []string{"cargo", "rustc"}, func(t *testing.T, w *hijackWork) hijackRun {
			r := crate(t, w)
			out, err := exec.Command("rustc", "-vV").Output()
			_, host, found := strings.Cut(string(out), "host: ")
			if err != nil || !found {
				t.Skipf("rustc -vV names no host: %v", err)
			}
			host, _, _ = strings.Cut(host, "\n")
			r.argv = []string{"cargo", "run", "-q", "--offline"}
			r.attack = []string{"CARGO_TARGET_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(host)) + "_RUNNER=" + w.script}
			return r
		}},
		{"RUSTUP_TOOLCHAIN", []string{"RUSTUP_TOOLCHAIN"}, []string{"cargo", "rustup"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "toolchain/bin/cargo")
			w.markScript(t, "toolchain/bin/rustc")
			return hijackRun{argv: []string{"cargo", "--version"}, attack: []string{"RUSTUP_TOOLCHAIN=" + filepath.Join(w.dir, "toolchain")}}
		}},
	})
}

// TestDenyCommonSecretNamesAccepted: names companies commonly give real
// secrets are accepted by default, and the stricter preset leaves them
// alone too.
func TestDenyCommonSecretNamesAccepted(t *testing.T) {
	m := secrets.NewDenyTestManager(t)
	for _, name := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
		"GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "NPM_TOKEN", "NODE_AUTH_TOKEN",
		"DATABASE_URL", "REDIS_URL", "PGPASSWORD", "MYSQL_PASSWORD",
		"API_KEY", "AUTH_TOKEN", "SECRET_KEY", "JWT_SECRET", "SENTRY_DSN", "SLACK_WEBHOOK_URL",
		"STRIPE_SECRET_KEY", "OPENAI_API_KEY", "DOCKER_PASSWORD", "DOCKER_USERNAME",
		"CARGO_REGISTRY_TOKEN", "TWINE_PASSWORD", "PYPI_TOKEN", "CODECOV_TOKEN",
		"GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET", "SSH_PRIVATE_KEY",
		"GPG_PRIVATE_KEY", "SONAR_TOKEN", "NPM_CONFIG__AUTH", "LDAP_PASSWORD", "PATH_PREFIX",
	} {
		if err := secrets.DenyValidName(m, name); err != nil {
			t.Errorf("%s is refused: %v", name, err)
		}
		if entry, _, ok := secrets.DenyLookup(name, true); ok {
			t.Errorf("%s is refused by the stricter preset (by %s)", name, entry)
		}
	}
}

// notHijacks are names considered for the default list and left out, with
// the reason; they stay accepted by default (a few are in the stricter
// preset) until new evidence moves them.
var notHijacks = []struct{ name, why string }{
	{"IFS", "bash and dash set IFS at start and ignore the environment's (POSIX allows it; TestHijackNotIFS)"},
	{"PYTHONINSPECT", "python enters its prompt after the script only when stdin is a terminal, and then reads the person's input; it runs nothing of the editor's (PYTHONSTARTUP is not read in that mode)"},
	{"GIT_CONFIG", "only the git config command reads it (git-config(1)); other git commands ignore it"},
	{"GIT_TRACE", "writes a trace to a file; it runs no code (GIT_TRACE_* alike)"},
	{"GIT_WORK_TREE", "moves the work tree, not the config or hooks"},
	{"GIT_ALTERNATE_OBJECT_DIRECTORIES", "objects are addressed by hash; another store cannot change what a commit holds"},
	{"TMPDIR", "where temporary files go; no program loads code from it by name"},
	{"MALLOC_ARENA_MAX", "glibc malloc tuning; MALLOC_* run no code, and MALLOC_TRACE works only with libc_malloc_debug.so preloaded (LD_PRELOAD, denied)"},
	{"LOCPATH", "locale data files, not code"},
	{"NLSPATH", "message catalogs, not code"},
	{"RESOLV_HOST_CONF", "host.conf holds only multi, reorder and trim, which change no address a name resolves to"},
	{"TZ", "time zone data, not code"},
	{"LANG", "names a locale; data, not code"},
	{"SSH_AUTH_SOCK", "selects the agent ssh signs with; runs nothing (ssh reads ~/.ssh/config from the passwd home, not HOME)"},
	{"SSH_ASKPASS_REQUIRE", "only decides whether SSH_ASKPASS (denied) runs"},
	{"PYTHONSAFEPATH", "removes a path entry; only protects"},
	{"NPM_CONFIG_IGNORE_SCRIPTS", "false re-enables dependencies' install scripts, but those are the repository's code, not the editor's"},
	{"GOCACHE", "entries are keyed by hashes of all their inputs; not reproduced as a one-variable attack"},
	{"PIP_CACHE_DIR", "a forged wheel-cache entry was not reproduced"},
	{"INPUTRC", "readline macros insert text only when keys are pressed"},
	{"GODEBUG", "runtime settings; none loads code"},
}

func TestDenyLeftOutAreAccepted(t *testing.T) {
	m := secrets.NewDenyTestManager(t)
	for _, n := range notHijacks {
		if err := secrets.DenyValidName(m, n.name); err != nil {
			t.Errorf("%s was left out (%s) but is refused: %v", n.name, n.why, err)
		}
	}
}

// TestHijackNotIFS is the evidence for leaving IFS out: the shells a job
// runs reset it at start.
func TestHijackNotIFS(t *testing.T) {
	for _, sh := range []string{"bash", "dash"} {
		t.Run(sh, func(t *testing.T) {
			if _, err := exec.LookPath(sh); err != nil {
				t.Skipf("%s is not installed", sh)
			}
			cmd := exec.Command(sh, "-c", `printf '%s' "$IFS"`)
			cmd.Env = []string{"IFS=x", "PATH=" + os.Getenv("PATH")}
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != " \t\n" {
				t.Errorf("%s took IFS from the environment: %q", sh, out)
			}
		})
	}
}
