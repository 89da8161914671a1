package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRun(t *testing.T) {
	e := newEnv(t)
	const token = "tok_live_Q7x2Lm9PzR"
	e.ctl(token+"\n", "set", "ws", "AUTH_TOKEN").want(t, 0)

	// The job sees the value exactly, its output is redacted, and its
	// exit status is secretsctl's.
	r := e.ctl("", "run", "ws", "--", "sh", "-c", `printf '%s|%s' "$AUTH_TOKEN" "${#AUTH_TOKEN}"; printf '%s' "$AUTH_TOKEN" >&2`).want(t, 0)
	if r.stdout != "***|"+strconv.Itoa(len(token)) || r.stderr != "***" {
		t.Fatalf("run output: %q / %q", r.stdout, r.stderr)
	}
	e.ctl("", "run", "ws", "--", "sh", "-c", "exit 3").want(t, 3)
	// (As secretsctl's own user: another user's job is its PID
	// namespace's first process, to which a signal it sends itself and
	// does not handle does nothing, as to a container's; see below.)
	own := []string{"run", "--user", strconv.Itoa(os.Geteuid()), "ws", "--", "sh", "-c"}
	if r := e.ctl("", append(own, "kill -KILL $$")...); r.code != 128+9 || r.stderr != "" {
		t.Fatalf("a SIGKILLed job: exit %d, stderr %q", r.code, r.stderr)
	}
	e.ctl("", append(own, "kill -TERM $$")...).want(t, 128+15)
	if os.Geteuid() == 0 {
		e.ctl("", "run", "ws", "--", "sh", "-c", "kill -KILL $$; echo still here").want(t, 0)
	}

	// Stdin reaches the job; flags before WORKSPACE and after it both work.
	r = e.run(call{stdin: "from stdin", env: []string{"EXTRA=extra-value"}},
		"run", "--pass-env", "EXTRA", "ws", "--dir", "/", "--", "sh", "-c", `cat; echo " $EXTRA $PWD"`)
	if r.want(t, 0).stdout != "from stdin extra-value /\n" {
		t.Fatalf("stdin, --pass-env, --dir: %q", r.stdout)
	}
	// Nothing of secretsctl's own environment reaches the job.
	r = e.ctl("", "run", "ws", "--", "sh", "-c", `echo "[$DATABASE_URL][$SECRETS_MASTER_KEY_FILE]"`).want(t, 0)
	if r.stdout != "[][]\n" {
		t.Fatalf("the job saw secretsctl's environment: %q", r.stdout)
	}

	// Nor through --pass-env: secretsctl's own credentials are refused,
	// named, never printed, and the job does not run.
	for _, name := range []string{"DATABASE_URL", "SECRETS_MASTER_KEY_FILE", "SECRETS_KMS_URI", "VAULT_TOKEN", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY"} {
		r = e.run(call{env: []string{"VAULT_TOKEN=hvs.tok3n-value", "PGPASSWORD=pg-pass-value", "AWS_SECRET_ACCESS_KEY=aws-secret-value"}},
			"run", "--pass-env", "EXTRA", "--pass-env", name, "ws", "--", "sh", "-c", "echo ran")
		r.wantErr(t, 2, "--pass-env "+name)
		for _, v := range []string{"ran", e.url, e.key, "tok3n", "pg-pass", "aws-secret"} {
			if strings.Contains(r.stdout+r.stderr, v) {
				t.Fatalf("--pass-env %s: %q in %q %q", name, v, r.stdout, r.stderr)
			}
		}
	}

	// Programs that cannot run exit as a shell's would.
	e.ctl("", "run", "ws", "--", "no-such-program-here").wantErr(t, 127, "not found")
	e.ctl("", "run", "ws", "--", "./no-such-file").wantErr(t, 127, "not found")
	script := filepath.Join(e.dir, "not-executable.sh")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o644)
	e.ctl("", "run", "ws", "--", script).wantErr(t, 126, "cannot be executed")
	if os.Geteuid() == 0 {
		// A program found in secretsctl's PATH, in a folder the job's
		// user may not enter: the message names both.
		private := filepath.Join(e.dir, "private")
		os.Mkdir(private, 0o700)
		syscall.ForkLock.Lock() // no fork while it is open for writing (ETXTBSY)
		os.WriteFile(filepath.Join(private, "tool"), []byte("#!/bin/sh\necho hi\n"), 0o755)
		syscall.ForkLock.Unlock()
		e.run(call{env: []string{"PATH=" + private + ":/usr/bin:/bin"}}, "run", "ws", "--", "tool").
			wantErr(t, 126, "tool ("+filepath.Join(private, "tool")+") as user nobody cannot be executed")
		// A --dir the job's user may not enter: the message names it too
		// (a CLI trial: it blamed the program alone).
		e.ctl("", "run", "--dir", private, "ws", "--", "true").wantErr(t, 126, "or --dir "+private+" cannot be entered")
	}
	e.ctl("", "run", "ws", "--", e.dir).wantErr(t, 126)

	// A mistyped workspace is refused, unless --allow-empty.
	e.ctl("", "run", "wss", "--", "true").wantErr(t, 3, `"wss" has no secrets`, "--allow-empty")
	e.ctl("", "run", "--allow-empty", "wss", "--", "true").want(t, 0)
	e.ctl("", "delete", "ws", "AUTH_TOKEN").want(t, 0)
	e.ctl("", "run", "ws", "--", "true").wantErr(t, 3, "no secrets")
	e.ctl("", "undelete", "ws", "AUTH_TOKEN").want(t, 0)

	// Usage errors: one line each, no help text.
	e.ctl("", "run", "ws", "sh", "-c", "true").wantErr(t, 2, "WORKSPACE -- COMMAND", "the -- is needed")
	e.ctl("", "run", "ws").wantErr(t, 2, "the -- is needed")
	e.ctl("", "run", "ws", "--").wantErr(t, 2, "no command after --")
	e.ctl("", "run", "--", "true").wantErr(t, 2)
	e.ctl("", "run", "--dir", "/nonexistent", "ws", "--", "true").wantErr(t, 2, "--dir")
	if r := e.ctl("", "run", "--help"); r.code != 0 || !strings.Contains(r.stdout, "WORKSPACE -- COMMAND") {
		t.Fatalf("run --help: %+v", r)
	}
}
