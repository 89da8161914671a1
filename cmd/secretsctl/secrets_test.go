package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// Values come from stdin or a file and are stored exactly, but for one
// trailing newline that --raw keeps; empty input is refused.
func TestSetValues(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, stdin string
		flags       []string
		want        string
	}{
		{"PLAIN", "tok_live_Q7x2Lm9PzR", nil, "tok_live_Q7x2Lm9PzR"},
		{"ECHOED", "tok_live_Q7x2Lm9PzR\n", nil, "tok_live_Q7x2Lm9PzR"},
		{"CRLF", "abc\r\n", nil, "abc"},
		{"TWO_NEWLINES", "abc\n\n", nil, "abc\n"},
		{"RAW", "abc\n", []string{"--raw"}, "abc\n"},
		{"KEEP_NEWLINE", "abc\n", []string{"--keep-newline"}, "abc\n"},
		{"MULTILINE", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n", nil, "-----BEGIN KEY-----\nabc\n-----END KEY-----"},
		{"BLANKS", "  spaced  \t", nil, "  spaced  \t"},
		{"UTF8", "pässwörd✓", nil, "pässwörd✓"},
		{"EMPTY_OK", "", []string{"--allow-empty"}, ""},
		{"NEWLINE_ONLY", "\n", []string{"--raw"}, "\n"},
	} {
		args := append(append([]string{"set"}, c.flags...), "ws", c.name)
		r := e.ctl(c.stdin, args...).want(t, 0)
		if r.stdout != c.name+" set: revision 1, version 1\n" {
			t.Errorf("%s: stdout %q", c.name, r.stdout)
		}
		if got := e.value("ws", c.name); got != c.want {
			t.Errorf("%s: stored %q, want %q", c.name, got, c.want)
		}
	}

	// From a file, with the same newline rule.
	pem := filepath.Join(e.dir, "key.pem")
	os.WriteFile(pem, []byte("-----BEGIN KEY-----\nabc\n-----END KEY-----\n"), 0o600)
	e.ctl("", "set", "--file", pem, "ws", "FROM_FILE").want(t, 0)
	e.ctl("", "set", "--file", pem, "--raw", "ws", "FROM_FILE_RAW").want(t, 0)
	if got := e.value("ws", "FROM_FILE"); got != "-----BEGIN KEY-----\nabc\n-----END KEY-----" {
		t.Errorf("--file: %q", got)
	}
	if got := e.value("ws", "FROM_FILE_RAW"); got != "-----BEGIN KEY-----\nabc\n-----END KEY-----\n" {
		t.Errorf("--file --raw: %q", got)
	}
	e.ctl("", "set", "--file", filepath.Join(e.dir, "missing"), "ws", "X").wantErr(t, 1, "missing")

	// Empty input stores nothing.
	e.ctl("", "set", "ws", "EMPTY").wantErr(t, 5, "empty", "--allow-empty")
	e.ctl("\n", "set", "ws", "EMPTY").wantErr(t, 5, "empty")
	e.ctl("", "meta", "ws", "EMPTY").wantErr(t, 3)

	// A value on the command line is refused and not repeated.
	r := e.ctl("", "set", "ws", "NAME", "s3cr3t-on-argv").wantErr(t, 2, "stdin")
	if strings.Contains(r.stderr, "s3cr3t") {
		t.Fatalf("the usage error repeats the value: %s", r.stderr)
	}
	// Names and values the library refuses.
	e.ctl("x", "set", "ws", "1BAD").wantErr(t, 5, "must match")
	e.ctl("x", "set", "ws", "LD_PRELOAD").wantErr(t, 5)
	e.ctl("a\x00b", "set", "ws", "NUL").wantErr(t, 5)
	big := strings.Repeat("v", secrets.MaxEnvString+100)
	e.ctl(big, "set", "ws", "BIG").wantErr(t, 5)
	if r := e.ctl("x", "set", "ws", "1BAD"); strings.Contains(r.stderr, "\"x\"") {
		t.Fatalf("error quotes the value: %s", r.stderr)
	}
}

func TestGet(t *testing.T) {
	e := newEnv(t)
	e.ctl("v1-value", "set", "ws", "TOKEN").want(t, 0)
	e.ctl("v2-value", "set", "ws", "TOKEN").want(t, 0)
	if got := e.ctl("", "get", "ws", "token").want(t, 0).stdout; got != "v2-value" {
		t.Fatalf("get by another spelling: %q", got)
	}
	if got := e.ctl("", "get", "--version", "1", "ws", "TOKEN").want(t, 0).stdout; got != "v1-value" {
		t.Fatalf("get --version 1: %q", got)
	}
	var got struct {
		secrets.Meta
		Value string `json:"value"`
	}
	e.ctl("", "get", "--json", "ws", "TOKEN").want(t, 0).decode(t, &got)
	if got.Value != "v2-value" || got.Name != "TOKEN" || got.Version != 2 || got.Revision != 2 {
		t.Fatalf("get --json: %+v", got)
	}
	e.ctl("", "get", "--version", "7", "ws", "TOKEN").wantErr(t, 3, "version")
	e.ctl("", "get", "ws", "NOPE").wantErr(t, 3, "NOPE")

	// Write-only secrets are injected, never revealed.
	e.ctl("deploy-key-material", "set", "--write-only", "ws", "DEPLOY_KEY").want(t, 0)
	r := e.ctl("", "get", "ws", "DEPLOY_KEY").wantErr(t, 5, "write-only")
	if strings.Contains(r.stdout+r.stderr, "deploy-key-material") {
		t.Fatal("a write-only value was revealed")
	}
	e.ctl("", "info", "--write-only=false", "ws", "DEPLOY_KEY").wantErr(t, 5, "write-only")

	// A value that is not UTF-8 is got as it is, and get --json, which
	// cannot carry it, refuses (exit 5), not an operational failure.
	e.ctl("bin\xff\xfevalue", "set", "ws", "BINARY").want(t, 0)
	if got := e.value("ws", "BINARY"); got != "bin\xff\xfevalue" {
		t.Fatalf("get of a binary value: %q", got)
	}
	e.ctl("", "get", "--json", "ws", "BINARY").wantErr(t, 5, "not UTF-8", "without --json")
}

// Commands that decrypt nothing work without the master key, even with
// a key file that does not exist; the others say they need it.
func TestNoMasterKey(t *testing.T) {
	e := newEnv(t)
	e.ctl("value-1", "set", "--description", "CI token", "--expires", "2d", "ws", "A").want(t, 0)
	e.ctl("value-2", "set", "ws", "B").want(t, 0)
	e.ctl("value-3", "set", "ws", "C").want(t, 0)
	for _, c := range []call{{noKey: true}, {noKey: true, env: []string{"SECRETS_MASTER_KEY_FILE=/nonexistent/key.json"}}} {
		for _, args := range [][]string{
			{"list", "ws"},
			{"list", "--json", "ws"},
			{"meta", "ws", "A"},
			{"versions", "ws", "A"},
			{"events", "ws"},
			{"due", "ws"},
			{"due", "--all"},
			{"info", "--description", "still CI", "ws", "A"},
			{"delete", "ws", "B"},
			{"undelete", "ws", "B"},
			{"purge"},
			{"migrate"},
		} {
			if r := e.run(c, args...); r.code != 0 {
				t.Fatalf("%v without the master key: exit %d: %s", args, r.code, r.stderr)
			}
		}
	}
	e.run(call{noKey: true}, "destroy", "--yes", "ws", "C").want(t, 0)
	e.run(call{noKey: true}, "delete-workspace", "--yes", "other").want(t, 0)
	for _, args := range [][]string{
		{"get", "ws", "A"}, {"export", "ws"}, {"rotate", "ws"}, {"rename", "ws", "A", "Z"},
		{"info", "--write-only", "ws", "A"}, {"info", "--as-file", "ws", "A"}, {"info", "--protected", "ws", "A"},
		{"info", "--expand", "ws", "A"}, {"keys", "ws"},
	} {
		e.run(call{noKey: true, stdin: "x"}, args...).wantErr(t, 2, "needs the master key")
	}
	e.run(call{noKey: true, stdin: "x"}, "set", "ws", "D").wantErr(t, 2, "--master-key")
}

// A write with a stale --if-revision exits 4 and prints the current
// revision; so does a name that is taken.
func TestConflicts(t *testing.T) {
	e := newEnv(t)
	e.ctl("first-value", "set", "ws", "TOKEN").want(t, 0)
	e.ctl("second-value", "set", "--if-revision", "1", "ws", "TOKEN").want(t, 0)
	m := e.meta("ws", "TOKEN")
	if m.Revision != 2 || m.Version != 2 {
		t.Fatalf("meta after two sets: %+v", m)
	}
	for _, args := range [][]string{
		{"set", "--if-revision", "1", "ws", "TOKEN"},
		{"info", "--if-revision", "1", "--description", "x", "ws", "TOKEN"},
		{"rename", "--if-revision", "1", "ws", "TOKEN", "NEW_TOKEN"},
		{"rollback", "--if-revision", "1", "ws", "TOKEN", "1"},
		{"delete", "--if-revision", "1", "ws", "TOKEN"},
		{"destroy", "--yes", "--if-revision", "1", "ws", "TOKEN"},
	} {
		e.ctl("third-value", args...).wantErr(t, 4, "revision 2")
	}
	if got := e.value("ws", "TOKEN"); got != "second-value" {
		t.Fatalf("a refused write changed the value: %q", got)
	}
	e.ctl("x-value", "set", "--create", "ws", "TOKEN").wantErr(t, 4, "TOKEN")
	e.ctl("x-value", "set", "ws", "token").wantErr(t, 4, "TOKEN")
	e.ctl("x-value", "set", "--create", "--if-revision", "2", "ws", "TOKEN").wantErr(t, 2)
	e.ctl("", "rename", "ws", "TOKEN", "TOKEN").want(t, 0)
	e.ctl("new-value", "set", "--create", "ws", "OTHER").want(t, 0)
	e.ctl("", "rename", "ws", "OTHER", "token").wantErr(t, 4, "TOKEN")
	e.ctl("", "undelete", "--if-revision", "2", "ws", "TOKEN").wantErr(t, 4, "not deleted")
	e.ctl("", "set", "--if-revision", "0", "ws", "TOKEN").wantErr(t, 2, "--if-revision")
	// A secret that is gone: a conflict for a conditional write.
	e.ctl("v", "set", "--if-revision", "3", "ws", "GONE").wantErr(t, 4, "GONE")
}

// The editing commands, each with --json parsed back.
func TestEditing(t *testing.T) {
	e := newEnv(t)
	var m secrets.Meta
	e.ctl("value-one", "set", "--json", "--description", "API token", "--rotate-by", "2030-01-02", "ws", "API").want(t, 0).decode(t, &m)
	if m.Name != "API" || m.Revision != 1 || m.Description != "API token" || !m.RotateBy.Equal(time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)) || m.CreatedBy != e.actor {
		t.Fatalf("set --json: %+v", m)
	}
	// Set with info flags keeps the fields not given.
	e.ctl("value-two", "set", "--expires", "2031-05-06T07:08:09Z", "ws", "API").want(t, 0)
	m = e.meta("ws", "API")
	if m.Description != "API token" || m.Expires.IsZero() || m.Version != 2 || m.Revision != 2 {
		t.Fatalf("set with --expires: %+v", m)
	}
	e.ctl("", "info", "--json", "--description", "the API token", "--expires", "never", "ws", "API").want(t, 0).decode(t, &m)
	if m.Description != "the API token" || !m.Expires.IsZero() || m.RotateBy.IsZero() || m.Revision != 3 || m.Version != 2 {
		t.Fatalf("info --json: %+v", m)
	}
	e.ctl("", "info", "ws", "API").wantErr(t, 2, "nothing to change")
	e.ctl("", "info", "--expires", "soon", "ws", "API").wantErr(t, 2, "--expires")

	var vs []secrets.VersionMeta
	e.ctl("", "versions", "--json", "ws", "API").want(t, 0).decode(t, &vs)
	if len(vs) != 2 || vs[0].Version != 2 || !vs[0].Current || vs[1].WrittenBy != e.actor {
		t.Fatalf("versions --json: %+v", vs)
	}
	e.ctl("", "rollback", "--json", "ws", "API", "1").want(t, 0).decode(t, &m)
	if m.Version != 3 || e.value("ws", "API") != "value-one" {
		t.Fatalf("rollback: %+v", m)
	}
	e.ctl("", "rollback", "ws", "API", "9").wantErr(t, 3, "version")
	e.ctl("", "rollback", "ws", "API", "x").wantErr(t, 2)

	e.ctl("", "rename", "--json", "--if-revision", "4", "ws", "API", "API_TOKEN").want(t, 0).decode(t, &m)
	if m.Name != "API_TOKEN" || e.value("ws", "API_TOKEN") != "value-one" {
		t.Fatalf("rename: %+v", m)
	}
	e.ctl("", "rename", "ws", "API", "X").wantErr(t, 3)
	e.ctl("", "rename", "ws", "API_TOKEN", "LD_PRELOAD").wantErr(t, 5)

	e.ctl("", "delete", "--json", "ws", "API_TOKEN").want(t, 0).decode(t, &m)
	if m.Deleted.IsZero() || m.DeletedBy != e.actor {
		t.Fatalf("delete --json: %+v", m)
	}
	e.ctl("", "get", "ws", "API_TOKEN").wantErr(t, 3)
	e.ctl("", "delete", "ws", "API_TOKEN").wantErr(t, 3)
	var page secrets.Page
	e.ctl("", "list", "--json", "--deleted", "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != 1 || page.Secrets[0].Name != "API_TOKEN" {
		t.Fatalf("list --deleted: %+v", page)
	}
	e.ctl("", "undelete", "--json", "ws", "API_TOKEN").want(t, 0).decode(t, &m)
	if !m.Deleted.IsZero() || e.value("ws", "API_TOKEN") != "value-one" {
		t.Fatalf("undelete: %+v", m)
	}
}

// list pages with --limit and --after, and --json gives the next page.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	e.ctl("A=alpha-1\nB=bravo-2\nC=charlie-3\nSEARCH_ME=delta-4\n", "import", "ws").want(t, 0)
	var page secrets.Page
	e.ctl("", "list", "--json", "--limit", "2", "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != 2 || page.Next != "B" {
		t.Fatalf("first page: %+v", page)
	}
	e.ctl("", "list", "--json", "--limit", "2", "--after", page.Next, "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != 2 || page.Secrets[0].Name != "C" || page.Next != "" {
		t.Fatalf("second page: %+v", page)
	}
	r := e.ctl("", "list", "--limit", "3", "ws").want(t, 0)
	if !strings.Contains(r.stderr, "more: --after C") || strings.Count(r.stdout, "\n") != 4 {
		t.Fatalf("list --limit 3:\n%s\n%s", r.stdout, r.stderr)
	}
	e.ctl("", "list", "--json", "--search", "search", "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != 1 || page.Secrets[0].Name != "SEARCH_ME" {
		t.Fatalf("list --search: %+v", page)
	}
	e.ctl("", "list", "--json", "nothing-here").want(t, 0).decode(t, &page)
	if page.Secrets == nil || len(page.Secrets) != 0 {
		t.Fatalf("an empty workspace lists %+v", page)
	}
	e.ctl("", "list", "--limit", "0", "ws").wantErr(t, 2, "--limit")
}

// destroy asks on a terminal; elsewhere it needs --yes.
func TestDestroy(t *testing.T) {
	e := newEnv(t)
	e.ctl("value-1", "set", "ws", "GONE_SOON").want(t, 0)
	e.ctl("", "destroy", "ws", "GONE_SOON").wantErr(t, 2, "--yes", "not a terminal")
	e.meta("ws", "GONE_SOON")
	r := e.ctl("", "destroy", "--yes", "ws", "GONE_SOON").want(t, 0)
	if r.stdout != "GONE_SOON destroyed\n" {
		t.Fatalf("destroy: %q", r.stdout)
	}
	e.ctl("", "meta", "ws", "GONE_SOON").wantErr(t, 3)
	e.ctl("", "destroy", "--yes", "ws", "GONE_SOON").wantErr(t, 3)
	// The name is free again.
	e.ctl("value-2", "set", "--create", "ws", "GONE_SOON").want(t, 0)

	e.ctl("", "delete-workspace", "ws").wantErr(t, 2, "--yes")
	if r := e.ctl("", "delete-workspace", "--yes", "ws").want(t, 0); r.stdout != "workspace ws deleted\n" {
		t.Fatalf("delete-workspace: %q", r.stdout)
	}
	e.ctl("", "get", "ws", "GONE_SOON").wantErr(t, 3)
	// A workspace with nothing (deleted, or a mistyped name) is no error,
	// and secretsctl says so rather than that it deleted it.
	for _, ws := range []string{"ws", "nonexist"} {
		if r := e.ctl("", "delete-workspace", "--yes", ws).want(t, 0); r.stdout != "workspace "+ws+" had nothing to delete (no secret, no key: mistyped?)\n" {
			t.Fatalf("delete-workspace of an empty workspace: %q", r.stdout)
		}
	}
	e.ctl("", "delete-workspace", "--yes", "bad\xffname").wantErr(t, 5, "UTF-8")
	// Only deleted secrets, or only a key, are something to delete.
	e.ctl("v\n", "set", "deleted-only", "A").want(t, 0)
	e.ctl("", "delete", "deleted-only", "A").want(t, 0)
	e.sql("DELETE FROM {{schema}}.workspace_keys WHERE workspace = 'deleted-only'")
	if r := e.ctl("", "delete-workspace", "--yes", "deleted-only").want(t, 0); r.stdout != "workspace deleted-only deleted\n" {
		t.Fatalf("delete-workspace of deleted secrets: %q", r.stdout)
	}
}

// set warns on stderr, and still sets, when a value is too short for a
// job's output to mask it; a value of the minimum length is not warned
// about.
func TestSetShortValueWarns(t *testing.T) {
	e := newEnv(t)
	r := e.ctl("1234", "set", "ws", "PIN").want(t, 0)
	if r.stderr != "secretsctl: warning: PIN's value is shorter than 6 bytes: a job's output does not mask it\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	if e.value("ws", "PIN") != "1234" {
		t.Fatal("the short value was not set")
	}
	if r := e.ctl("123456", "set", "ws", "PIN").want(t, 0); r.stderr != "" {
		t.Fatalf("stderr for a long enough value: %q", r.stderr)
	}
}

// "help" is a workspace like any other: a command acts on it rather than
// printing help (delete-workspace --yes help printed help and exited 0,
// deleting nothing: an identifier trial); -h and --help still ask for it.
func TestWorkspaceNamedHelp(t *testing.T) {
	e := newEnv(t)
	e.ctl("token-value-1", "set", "help", "TOKEN").want(t, 0)
	if r := e.ctl("", "list", "help").want(t, 0); !strings.Contains(r.stdout, "TOKEN") {
		t.Fatalf("list help: %q", r.stdout)
	}
	if r := e.ctl("", "delete-workspace", "--yes", "help").want(t, 0); r.stdout != "workspace help deleted\n" {
		t.Fatalf("delete-workspace help: %q", r.stdout)
	}
	e.ctl("", "meta", "help", "TOKEN").wantErr(t, 3)
	if r := e.ctl("", "list", "--help").want(t, 0); !strings.Contains(r.stdout, "secretsctl list") {
		t.Fatalf("list --help: %q", r.stdout)
	}
}
