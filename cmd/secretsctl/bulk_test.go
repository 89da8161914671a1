package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

func TestImportExport(t *testing.T) {
	e := newEnv(t)
	text := "# comment\nAUTH_TOKEN=tok_live_Q7x2Lm9PzR\nexport PEM='-----BEGIN KEY-----\nabc\n-----END KEY-----\n'\nQUOTED=\"it's \\\"x\\\"\"\n"
	var metas []secrets.Meta
	e.ctl(text, "import", "--json", "ws").want(t, 0).decode(t, &metas)
	if len(metas) != 3 || metas[0].CreatedBy != e.actor {
		t.Fatalf("import --json: %+v", metas)
	}
	exp := e.ctl("", "export", "ws").want(t, 0)
	if !strings.Contains(exp.stdout, "AUTH_TOKEN='tok_live_Q7x2Lm9PzR'\n") || !strings.Contains(exp.stdout, "abc\n-----END KEY-----\n'") {
		t.Fatalf("export:\n%s", exp.stdout)
	}
	file := filepath.Join(e.dir, "ws.env")
	os.WriteFile(file, []byte(exp.stdout), 0o600)
	r := e.ctl("", "import", "--file", file, "copy").want(t, 0)
	if r.stdout != "imported 3: AUTH_TOKEN PEM QUOTED\n" {
		t.Fatalf("import: %q", r.stdout)
	}
	if again := e.ctl("", "export", "copy").want(t, 0); again.stdout != exp.stdout {
		t.Fatalf("the export of the import differs:\n%s\n%s", again.stdout, exp.stdout)
	}
	// export -o writes a file only its owner reads, also over a file that
	// others could read, and prints nothing.
	out := filepath.Join(e.dir, "out.env")
	for _, before := range []os.FileMode{0, 0o644, 0o666} {
		os.Remove(out)
		if before != 0 {
			if err := os.WriteFile(out, []byte("OLD=1\n"), before); err != nil {
				t.Fatal(err)
			}
			os.Chmod(out, before) // whatever the umask
		}
		r := e.ctl("", "export", "-o", out, "ws").want(t, 0)
		got, err := os.ReadFile(out)
		fi, serr := os.Stat(out)
		if err != nil || serr != nil || string(got) != exp.stdout || r.stdout != "" || fi.Mode() != 0o600 {
			t.Fatalf("export -o over mode %v: mode %v, %v %v, stdout %q, file:\n%s", before, fi.Mode(), err, serr, r.stdout, got)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(e.dir, ".out.env*")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	e.ctl("", "export", "--out", filepath.Join(e.dir, "no-such-dir", "x.env"), "ws").wantErr(t, 1, "export")
	if e.value("copy", "QUOTED") != `it's "x"` {
		t.Fatalf("QUOTED: %q", e.value("copy", "QUOTED"))
	}
	// A bad text is refused whole, with its line, never its value.
	r = e.ctl("GOOD=value-one\nBAD LINE s3cr3t\n", "import", "ws").wantErr(t, 5, "line 2")
	if strings.Contains(r.stderr, "s3cr3t") {
		t.Fatalf("the error quotes the text: %s", r.stderr)
	}
	e.ctl("", "meta", "ws", "GOOD").wantErr(t, 3)
	e.ctl("", "import", "--file", filepath.Join(e.dir, "missing.env"), "ws").wantErr(t, 1)
}

func TestDiffApply(t *testing.T) {
	e := newEnv(t)
	e.ctl("KEEP=same-value\nCHANGE=old-value\nDROP=drop-value\n", "import", "ws").want(t, 0)
	text := "KEEP=same-value\nCHANGE=new-value\nADD=added-value\n"
	file := filepath.Join(e.dir, "new.env")
	os.WriteFile(file, []byte(text), 0o600)

	r := e.ctl(text, "diff", "ws").want(t, 0)
	if r.stdout != "+ ADD     (added)\n~ CHANGE  (changed)\n1 added, 1 changed, 0 removed, 1 unchanged\n" {
		t.Fatalf("diff:\n%q", r.stdout)
	}
	var d secrets.Diff
	e.ctl("", "diff", "--json", "--remove", "--file", file, "ws").want(t, 0).decode(t, &d)
	if len(d.Added) != 1 || len(d.Changed) != 1 || len(d.Unchanged) != 1 || len(d.Removed) != 1 || !d.Remove || d.Revisions["CHANGE"] != 1 {
		t.Fatalf("diff --json --remove: %+v", d)
	}
	if strings.Contains(r.stdout+e.ctl(text, "diff", "--json", "ws").stdout, "value") {
		t.Fatal("diff shows a value")
	}

	// Not on a terminal, apply needs --yes or a plan.
	e.ctl(text, "apply", "ws").wantErr(t, 2, "--yes", "--plan")
	e.ctl("", "apply", "--file", file, "ws").wantErr(t, 2, "--yes")

	// A plan applies exactly what was reviewed, or nothing.
	plan := filepath.Join(e.dir, "plan.json")
	os.WriteFile(plan, []byte(e.ctl("", "diff", "--json", "--remove", "--file", file, "ws").stdout), 0o600)
	e.ctl("changed-meanwhile", "set", "ws", "DROP").want(t, 0)
	e.ctl("", "apply", "--plan", plan, "--file", file, "ws").wantErr(t, 4, "preview again")
	if e.value("ws", "CHANGE") != "old-value" {
		t.Fatal("a refused apply changed something")
	}
	os.WriteFile(plan, []byte(e.ctl("", "diff", "--json", "--remove", "--file", file, "ws").stdout), 0o600)
	var done struct {
		Diff    secrets.Diff   `json:"diff"`
		Secrets []secrets.Meta `json:"secrets"`
	}
	e.ctl("", "apply", "--json", "--plan", plan, "--file", file, "ws").want(t, 0).decode(t, &done)
	if len(done.Diff.Removed) != 1 || len(done.Secrets) != 3 {
		t.Fatalf("apply --json --plan: %+v", done)
	}
	if e.value("ws", "CHANGE") != "new-value" || e.value("ws", "ADD") != "added-value" {
		t.Fatal("apply --plan did not apply")
	}
	e.ctl("", "get", "ws", "DROP").wantErr(t, 3)
	e.ctl("", "apply", "--plan", plan, "--file", file, "ws").wantErr(t, 4)
	e.ctl("", "apply", "--plan", plan, "--remove", "--file", file, "ws").wantErr(t, 2, "--remove")
	os.WriteFile(plan, []byte(`{"bogus": true}`), 0o600)
	e.ctl("", "apply", "--plan", plan, "--file", file, "ws").wantErr(t, 5, "diff --json")

	// --yes previews and applies; nothing to change applies nothing.
	r = e.ctl("ADD=added-value-2\n", "apply", "--yes", "ws").want(t, 0)
	if r.stdout != "~ ADD  (changed)\n0 added, 1 changed, 0 removed, 0 unchanged\napplied to ws: 0 added, 1 changed, 0 removed\n" {
		t.Fatalf("apply --yes:\n%q", r.stdout)
	}
	r = e.ctl("ADD=added-value-2\n", "apply", "--yes", "ws").want(t, 0)
	if !strings.HasPrefix(r.stdout, "0 added, 0 changed, 0 removed, 1 unchanged\n") || strings.Contains(r.stdout, "applied") {
		t.Fatalf("apply with nothing to change:\n%q", r.stdout)
	}
	e.ctl("BAD LINE\n", "diff", "ws").wantErr(t, 5, "line 1")
}

// The text preview of diff and apply says a write-only secret was not
// compared, as the JSON's uncompared does, rather than that it changed.
func TestDiffWriteOnly(t *testing.T) {
	e := newEnv(t)
	e.ctl("same-value\n", "set", "--write-only", "ws", "WO").want(t, 0)
	e.ctl("old-value\n", "set", "ws", "PLAIN").want(t, 0)
	text := "WO=same-value\nPLAIN=new-value\n"
	r := e.ctl(text, "diff", "ws").want(t, 0)
	if r.stdout != "~ PLAIN  (changed)\n~ WO     (not compared: write-only, may or may not change)\n"+
		"0 added, 2 changed (1 of them write-only, not compared), 0 removed, 0 unchanged\n" {
		t.Fatalf("diff:\n%q", r.stdout)
	}
	r = e.ctl(text, "apply", "--yes", "ws").want(t, 0)
	if !strings.Contains(r.stdout, "~ WO     (not compared: write-only, may or may not change)") {
		t.Fatalf("apply:\n%q", r.stdout)
	}
}
