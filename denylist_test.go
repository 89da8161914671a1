//go:build linux

package secrets_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

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
		{"LESS", []string{"LESS"}, []string{"less"}, func(t *testing.T, w *hijackWork) hijackRun {
			f := w.file(t, "f.txt", "text\n", 0o644)
			keys := w.file(t, "lesskey", "#env\nLESSOPEN=|"+w.script+" %s\n", 0o644)
			return hijackRun{argv: []string{"less", f}, attack: []string{"LESS=--lesskey-src=" + keys}}
		}},
		{"SYSTEM_WGETRC", []string{"SYSTEM_WGETRC"}, []string{"wget"}, func(t *testing.T, w *hijackWork) hijackRun {
			rc := w.file(t, "wgetrc", "use_askpass = "+w.script+"\n", 0o644)
			return hijackRun{argv: []string{"wget", "-q", "--tries=1", "--timeout=5", "-O", "/dev/null", "http://127.0.0.1:9/"},
				attack: []string{"SYSTEM_WGETRC=" + rc}}
		}},
		{"CURL_HOME", []string{"CURL_HOME"}, []string{"gcc", "curl"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "curlhome/.curlrc", "engine = "+w.sharedObject(t, "engine.so")+"\n", 0o644)
			// Port 1 of the loopback address: refused at once.
			return hijackRun{argv: []string{"curl", "-s", "http://127.0.0.1:1/"}, attack: []string{"CURL_HOME=" + filepath.Join(w.dir, "curlhome")}}
		}},
		{"GROFF_BIN_PATH", []string{"GROFF_BIN_PATH"}, []string{"groff"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.markScript(t, "groffbin/troff")
			page := w.file(t, "x.1", ".TH X 1\ntext\n", 0o644)
			return hijackRun{argv: []string{"groff", "-man", "-Tutf8", page}, attack: []string{"GROFF_BIN_PATH=" + filepath.Join(w.dir, "groffbin")}}
		}},
		{"FPATH", []string{"FPATH", "fpath"}, []string{"zsh"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "functions/compinit", ": > '"+w.mark+"'\n", 0o644)
			return hijackRun{argv: []string{"zsh", "-c", "autoload -U compinit; compinit; true"}, attack: []string{"FPATH=" + filepath.Join(w.dir, "functions")}}
		}},
		{"MAILPATH", []string{"MAILPATH"}, []string{"bash"}, func(t *testing.T, w *hijackWork) hijackRun {
			box := w.file(t, "mbox", "From x\n", 0o644)
			// New mail while the shell is open: the mailbox grows and its
			// modification time moves on (further at each run, so that the
			// second shell sees a change too). MAILCHECK=0 checks at every
			// prompt instead of every minute.
			return hijackRun{argv: []string{"bash", "--norc", "-i"}, env: []string{"MAILCHECK=0"},
				stdin:  "echo more >> " + box + "; touch -m -d @$(($(stat -c %Y " + box + ") + 1000)) " + box + "\ntrue\n",
				attack: []string{"MAILPATH=" + box + "?$(" + w.script + ")"}}
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
		{"GIT_TEST_FSMONITOR", []string{"GIT_TEST_FSMONITOR"}, needGit, func(t *testing.T, w *hijackWork) hijackRun {
			return status(t, w, "GIT_TEST_FSMONITOR="+w.script)
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

// TestHijackEditors: psql and vi run a job's start-up files and editors'
// commands from these variables (issue 22): a migration step's psql -c
// runs the editor's shell command, and so does the vi that git commit
// --amend starts.
func TestHijackEditors(t *testing.T) {
	vi := func(t *testing.T, w *hijackWork, attack string) hijackRun {
		// git starts vi only on a terminal that is not dumb. vi, its stdin
		// no terminal, reads keys from stderr, here /dev/null, and exits.
		return hijackRun{argv: []string{"sh", "-c", "exec git commit -q --amend --allow-empty 2>/dev/null"}, dir: w.gitRepo(t, "repo"),
			env: []string{"TERM=xterm", "GIT_EDITOR=vi"}, attack: []string{attack + "=!" + w.script}}
	}
	runHijacks(t, []hijackCase{
		{"PSQLRC", []string{"PSQLRC", "psqlrc"}, nil, func(t *testing.T, w *hijackWork) hijackRun {
			rc := w.file(t, "psqlrc", "\\! "+w.script+"\n", 0o644)
			return hijackRun{argv: []string{psqlProgram(t), "-q", "-c", "select 1"}, env: pgEnv(t), attack: []string{"PSQLRC=" + rc}}
		}},
		{"VIMINIT", []string{"VIMINIT", "viminit"}, []string{"git", "vi"}, func(t *testing.T, w *hijackWork) hijackRun {
			return vi(t, w, "VIMINIT")
		}},
		{"EXINIT", []string{"EXINIT"}, []string{"git", "vi"}, func(t *testing.T, w *hijackWork) hijackRun {
			return vi(t, w, "EXINIT")
		}},
		{"VIM", []string{"VIM", "vim"}, []string{"vim"}, func(t *testing.T, w *hijackWork) hijackRun {
			w.file(t, "vim/vimfiles/plugin/evil.vim", "call writefile([], '"+w.mark+"')\n", 0o644)
			f := w.file(t, "f.txt", "text\n", 0o644)
			// vim reads keys from stderr when stdin is no terminal: /dev/null
			// ends a "Press ENTER" prompt at once.
			return hijackRun{argv: []string{"sh", "-c", "exec vim --not-a-term -c q " + f + " 2>/dev/null"}, attack: []string{"VIM=" + filepath.Join(w.dir, "vim")}}
		}},
		// Any libpq TCP connection asks GSSAPI for credentials first
		// (gssencmode=prefer); a listener that hangs up is enough.
		{"GSS_MECH_CONFIG", []string{"GSS_MECH_CONFIG", "KRB5_CONFIG"}, []string{"gcc"}, func(t *testing.T, w *hijackWork) hijackRun {
			mech := w.file(t, "mech", "evil 1.2.840.113554.1.2.2.99 "+w.sharedObject(t, "mech.so")+" <interposer>\n", 0o644)
			return hijackRun{argv: []string{psqlProgram(t), "-h", "127.0.0.1", "-p", hangUpListener(t), "-U", "x", "-d", "x", "-c", "select 1"},
				env: []string{"PGCONNECT_TIMEOUT=5"}, attack: []string{"GSS_MECH_CONFIG=" + mech}}
		}},
	})
}

// hangUpListener listens on a loopback port, closes every connection it
// accepts, and stops when the test ends; it returns the port.
func hangUpListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// psqlProgram is the psql of PATH, or of the PostgreSQL installation
// scripts/pg-env.sh would use: a Postgres test run has one.
func psqlProgram(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("psql"); err == nil {
		return p
	}
	if ps, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql"); len(ps) > 0 {
		return ps[len(ps)-1]
	}
	t.Fatal("no psql, though the Postgres tests run")
	return ""
}

// pgEnv gives psql the test database through libpq's variables, so that
// no password appears on a command line or in a failure message.
func pgEnv(t *testing.T) []string {
	t.Helper()
	u, err := url.Parse(pgURL(t))
	if err != nil {
		t.Fatal("DATABASE_URL does not parse")
	}
	pw, _ := u.User.Password()
	env := []string{"PGHOST=" + u.Hostname(), "PGPORT=" + u.Port(), "PGUSER=" + u.User.Username(),
		"PGPASSWORD=" + pw, "PGDATABASE=" + strings.TrimPrefix(u.Path, "/"), "PGCONNECT_TIMEOUT=10"}
	if mode := u.Query().Get("sslmode"); mode != "" {
		env = append(env, "PGSSLMODE="+mode)
	}
	return env
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
		"CC_EMAIL", "HOSTNAME", "TARGET_URL", "AR_INVOICE", "ARM_CLIENT_SECRET", "RSYNC_PASSWORD",
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
	{"INPUTRC", "readline macros insert text only when keys are pressed"},
	{"GODEBUG", "runtime settings; none loads code"},
	{"GROFF_TMAC_PATH", "groff runs macro files in its safer mode, which refuses .sy, .pso and .opena, unless -U is given (TestHijackNotGroffTmac)"},
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

// Config.StrictNames switches the stricter preset on: names that redirect
// traffic or trust are refused too, and only then.
func TestStrictNamesPreset(t *testing.T) {
	ctx := context.Background()
	plain := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	strict := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{StrictNames: true})
	for _, name := range []string{"HTTPS_PROXY", "no_proxy", "SSL_CERT_FILE", "PIP_INDEX_URL", "NODE_TLS_REJECT_UNAUTHORIZED",
		// A trial: the cloud CLIs' per-API endpoints and proxies (aws and
		// gcloud sent their credentials to a loopback listener).
		"AWS_ENDPOINT_URL_STS", "aws_endpoint_url_s3", "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "CLOUDSDK_PROXY_ADDRESS",
		"CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE", "CLOUDSDK_AUTH_DISABLE_SSL_VALIDATION"} {
		if _, err := plain.Set(ctx, "ws", name, []byte("http://proxy:3128"), nil); err != nil {
			t.Errorf("default preset refuses %s: %v", name, err)
		}
		if _, err := strict.Set(ctx, "ws", name, []byte("http://proxy:3128"), nil); !errors.Is(err, secrets.ErrReservedName) {
			t.Errorf("strict preset accepts %s: %v", name, err)
		}
	}
}
