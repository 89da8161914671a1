package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// bin is the secretsctl binary that TestMain builds: the tests run it as
// operators do, with its real stdin, stdout, stderr and exit status.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "secretsctl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "secretsctl")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building secretsctl:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// wantErr checks the exit status and that stderr holds one error line
// (besides progress lines), which says every part.
func (r result) wantErr(t *testing.T, code int, parts ...string) result {
	t.Helper()
	r.want(t, code)
	var errs []string
	for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
		if strings.HasPrefix(l, "secretsctl: ") {
			errs = append(errs, l)
		} else if !strings.Contains(l, "/") { // progress: "what: done/total ..."
			t.Fatalf("stderr has a line that is neither an error nor progress: %q", r.stderr)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("stderr does not have one error line: %q", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(errs[0], p) {
			t.Fatalf("stderr %q does not say %q", r.stderr, p)
		}
	}
	return r
}

// decode parses stdout as JSON into v, zeroed first (omitted fields
// must not keep an earlier decode's values).
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	reflect.ValueOf(v).Elem().SetZero()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the JSON expected (%v):\n%s", err, r.stdout)
	}
}

// env is one test's store: a fresh schema, a master key and an actor.
type env struct {
	t      *testing.T
	url    string
	schema string
	dir    string
	key    string // master key file
	actor  string
}

// newEnv returns an env with a migrated store. Without a database the
// test skips, unless CI is set.
func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set")
	}
	var b [6]byte
	rand.Read(b[:])
	e := &env{t: t, url: url, schema: "cli_" + hex.EncodeToString(b[:]), dir: t.TempDir(), actor: "ops:test"}
	t.Cleanup(func() {
		db, err := sqlx.Open("postgres", url)
		if err == nil {
			db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(e.schema) + " CASCADE")
			db.Close()
		}
	})
	e.key = e.keygen("master.json")
	if r := e.ctl("", "migrate").want(t, 0); !strings.HasPrefix(r.stdout, "schema "+e.schema+" is at version ") || !strings.HasSuffix(r.stdout, " (it had no tables when this run began)\n") {
		t.Fatalf("migrate of a new schema: %q", r.stdout)
	}
	return e
}

// keygen writes a new master key file in the env's directory.
func (e *env) keygen(name string) string {
	path := filepath.Join(e.dir, name)
	e.run(call{noKey: true}, "keygen", "--out", path).want(e.t, 0)
	return path
}

// A call is how to run secretsctl besides its arguments.
type call struct {
	stdin   string
	noKey   bool     // no SECRETS_MASTER_KEY_FILE
	env     []string // more variables
	stderr  *os.File // instead of a pipe
	noActor bool     // no --actor: the default
	via     []string // a command that runs secretsctl (and its arguments)
	// exclusive: run's check that nothing else runs as the job's user is
	// on. Off otherwise (SECRETS_SHARED_USER): the tests run in parallel,
	// and many jobs run as nobody at once.
	exclusive bool
}

func (e *env) ctl(stdin string, args ...string) result {
	e.t.Helper()
	return e.run(call{stdin: stdin}, args...)
}

// environ is a minimal environment naming the env's store.
func (e *env) environ(c call) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir,
		"DATABASE_URL=" + e.url, "SECRETS_SCHEMA=" + e.schema}
	if !c.exclusive {
		env = append(env, "SECRETS_SHARED_USER=true")
	}
	if !c.noKey && e.key != "" {
		env = append(env, "SECRETS_MASTER_KEY_FILE="+e.key)
	}
	return append(env, c.env...)
}

// run runs secretsctl with a minimal environment naming the env's store.
func (e *env) run(c call, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !c.noActor {
		args = append([]string{"--actor", e.actor}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	if c.via != nil {
		cmd = exec.CommandContext(ctx, c.via[0], append(append(c.via[1:len(c.via):len(c.via)], bin), args...)...)
	}
	cmd.Env = e.environ(c)
	cmd.Dir = e.dir
	cmd.Stdin = strings.NewReader(c.stdin)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	if c.stderr != nil {
		cmd.Stderr = c.stderr
	} else {
		cmd.Stderr = &errb
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("secretsctl %s: %v", strings.Join(args, " "), err)
	}
	return result{code, out.String(), errb.String()}
}

// events reads the audit trail through secretsctl events --json.
func (e *env) events(filters ...string) []secrets.Event {
	e.t.Helper()
	var page struct {
		Events []secrets.Event `json:"events"`
		Next   int64           `json:"next"`
	}
	r := e.run(call{noKey: true}, append([]string{"events", "--json", "--limit", "1000"}, filters...)...).want(e.t, 0)
	r.decode(e.t, &page)
	return page.Events
}

// sql runs a statement on the env's schema ({{schema}} is replaced).
func (e *env) sql(query string, args ...any) {
	e.t.Helper()
	db, err := sqlx.Open("postgres", e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(strings.ReplaceAll(query, "{{schema}}", pq.QuoteIdentifier(e.schema)), args...); err != nil {
		e.t.Fatal(err)
	}
}

// meta reads a secret's metadata through secretsctl meta --json.
func (e *env) meta(ws, name string) secrets.Meta {
	e.t.Helper()
	var m secrets.Meta
	e.run(call{noKey: true}, "meta", "--json", ws, name).want(e.t, 0).decode(e.t, &m)
	return m
}

// value reads a secret's value through secretsctl get.
func (e *env) value(ws, name string) string {
	e.t.Helper()
	return e.ctl("", "get", ws, name).want(e.t, 0).stdout
}
