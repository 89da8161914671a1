package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// The values of the scope tests: none may be printed but by get and
// export.
var scopeValues = map[string]string{
	"DEPLOY":              "any-deploy-canary",
	"DEPLOY@production":   "prod-deploy-canary",
	"DEPLOY@review/*":     "review-deploy-canary",
	"ONLYPROT@production": "only-protected-canary",
	"TOKEN@production":    "prod-token-canary",
}

// newScopes returns an env whose ws holds scopeValues, the protected
// ones set with set --env SCOPE --protected.
func newScopes(t *testing.T) *env {
	e := newEnv(t)
	e.ctl(scopeValues["DEPLOY"], "set", "ws", "DEPLOY").want(t, 0)
	r := e.ctl(scopeValues["DEPLOY@production"], "set", "--env", "production", "--protected", "ws", "DEPLOY").want(t, 0)
	if r.stdout != "DEPLOY@production set: revision 1, version 1\n" {
		t.Fatalf("set --env --protected: %q", r.stdout)
	}
	e.ctl(scopeValues["DEPLOY@review/*"], "set", "--env", "review/*", "ws", "DEPLOY").want(t, 0)
	e.ctl(scopeValues["ONLYPROT@production"], "set", "--protected", "ws", "ONLYPROT@production").want(t, 0)
	e.ctl(scopeValues["TOKEN@production"], "set", "--env", "production", "ws", "TOKEN").want(t, 0)
	return e
}

// noScopeValue fails if r shows any value of scopeValues.
func noScopeValue(t *testing.T, r result) {
	t.Helper()
	for k, v := range scopeValues {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Fatalf("the output shows the value of %s:\n%s\n%s", k, r.stdout, r.stderr)
		}
	}
}

// set --env and --protected write the scoped, protected secret; get
// --env reads it; list shows the scope and the protection.
func TestScopesSetGetList(t *testing.T) {
	e := newScopes(t)
	m := e.meta("ws", "DEPLOY@production")
	if m.Scope != "production" || m.Variable != "DEPLOY" || !m.Protected {
		t.Fatalf("meta of DEPLOY@production: %+v", m)
	}
	if m := e.meta("ws", "DEPLOY"); m.Scope != "*" || m.Protected {
		t.Fatalf("meta of DEPLOY: %+v", m)
	}
	for args, want := range map[string]string{
		"get --env production ws DEPLOY": scopeValues["DEPLOY@production"],
		"get ws DEPLOY@production":       scopeValues["DEPLOY@production"],
		"get --env review/* ws DEPLOY":   scopeValues["DEPLOY@review/*"],
		"get --env * ws DEPLOY":          scopeValues["DEPLOY"],
		"get ws DEPLOY":                  scopeValues["DEPLOY"],
	} {
		if r := e.ctl("", strings.Fields(args)...).want(t, 0); r.stdout != want {
			t.Errorf("%s: %q, want %q", args, r.stdout, want)
		}
	}
	e.ctl("", "get", "--env", "production", "ws", "DEPLOY@production").wantErr(t, 2, "not both")
	e.ctl("", "get", "--env", "staging", "ws", "DEPLOY").wantErr(t, 3)
	// --protected=false clears the flag (info, like set, takes it).
	e.ctl("", "info", "--protected=false", "ws", "TOKEN@production").want(t, 0)
	e.ctl("", "info", "--protected", "ws", "TOKEN@production").want(t, 0)
	if !e.meta("ws", "TOKEN@production").Protected {
		t.Fatal("info --protected did not protect")
	}
	e.ctl("", "info", "--protected=false", "ws", "TOKEN@production").want(t, 0)

	r := e.run(call{noKey: true}, "list", "ws").want(t, 0)
	noScopeValue(t, r)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "SCOPE") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		name, scope := f[0], f[1]
		if _, sc := secrets.SplitName(name); sc != scope {
			t.Errorf("list: %s in the SCOPE column of %s", scope, name)
		}
		if protected := strings.Contains(l, "protected"); protected != (name == "DEPLOY@production" || name == "ONLYPROT@production") {
			t.Errorf("list: the protected marker of %s: %q", name, l)
		}
	}
	r = e.run(call{noKey: true}, "list", "--env", "production", "ws").want(t, 0)
	var names []string
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	if strings.Join(names, " ") != "DEPLOY@production ONLYPROT@production TOKEN@production" {
		t.Fatalf("list --env production:\n%s", r.stdout)
	}
	var page secrets.Page
	e.run(call{noKey: true}, "list", "--json", "--env", "review/*", "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != 1 || page.Secrets[0].Name != "DEPLOY@review/*" || page.Secrets[0].Scope != "review/*" {
		t.Fatalf("list --json --env review/*: %+v", page)
	}
}

// jobSays is a job that prints which value of scopeValues it got for
// DEPLOY, ONLYPROT and TOKEN (the values themselves would be masked).
const jobSays = `for v in "$DEPLOY" "$ONLYPROT" "$TOKEN"; do
	case "$v" in
	any-deploy-canary) printf 'any ' ;;
	prod-deploy-canary) printf 'prod ' ;;
	review-deploy-canary) printf 'review ' ;;
	only-protected-canary) printf 'onlyprot ' ;;
	prod-token-canary) printf 'token ' ;;
	'') printf 'unset ' ;;
	*) printf 'other ' ;;
	esac
done`

// run --env picks the environment and --protected lets the job have the
// protected secrets: a job without it never gets one, and gets the wider
// scope's value instead.
func TestScopesRun(t *testing.T) {
	e := newScopes(t)
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--env", "production", "--protected"}, "prod onlyprot token "},
		{[]string{"--env", "production"}, "any unset token "},
		{[]string{"--protected"}, "any unset unset "},
		{nil, "any unset unset "},
		{[]string{"--env", "review/feature-1"}, "review unset unset "},
		{[]string{"--env", "staging", "--protected"}, "any unset unset "},
	} {
		args := append(append([]string{"run"}, c.flags...), "ws", "--", "sh", "-c", jobSays)
		r := e.ctl("", args...).want(t, 0)
		noScopeValue(t, r)
		if r.stdout != c.want {
			t.Errorf("run %v: %q, want %q", c.flags, r.stdout, c.want)
		}
	}
	// The job's event names its environment and protection.
	evs := e.events("ws", "--action", "inject")
	found := false
	for _, ev := range evs {
		if ev.Environment == "production" && ev.Protected {
			found = true
		}
	}
	if !found {
		t.Fatalf("no inject event of a protected production job: %+v", evs)
	}
	// So does the table's DETAIL column.
	r := e.ctl("", "events", "--action", "inject", "ws").want(t, 0)
	if !strings.Contains(r.stdout, "[environment production, protected]") || !strings.Contains(r.stdout, "[environment review/feature-1]") {
		t.Fatalf("events does not say which job an event's was:\n%s", r.stdout)
	}
}

// resolve --env and --protected show which scope wins, and why the others
// do not, never a value.
func TestScopesResolve(t *testing.T) {
	e := newScopes(t)
	r := e.run(call{noKey: true}, "resolve", "--env", "production", "ws").want(t, 0)
	noScopeValue(t, r)
	want := "NAME      SCOPE       FROM  VERSION  PROTECTED  STATUS\n" +
		"DEPLOY    production  ws    1        yes        protected\n" +
		"DEPLOY    *           ws    1        -          delivered\n" +
		"DEPLOY    review/*    ws    1        -          other-environment\n" +
		"ONLYPROT  production  ws    1        yes        protected\n" +
		"TOKEN     production  ws    1        -          delivered\n"
	if r.stdout != want {
		t.Fatalf("resolve --env production:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = e.run(call{noKey: true}, "resolve", "--env", "production", "--protected", "ws").want(t, 0)
	want = "NAME      SCOPE       FROM  VERSION  PROTECTED  STATUS\n" +
		"DEPLOY    production  ws    1        yes        delivered\n" +
		"DEPLOY    *           ws    1        -          overridden\n" +
		"DEPLOY    review/*    ws    1        -          other-environment\n" +
		"ONLYPROT  production  ws    1        yes        delivered\n" +
		"TOKEN     production  ws    1        -          delivered\n"
	if r.stdout != want {
		t.Fatalf("resolve --env production --protected:\n%s\nwant:\n%s", r.stdout, want)
	}
	var got []secrets.Resolved
	e.run(call{noKey: true}, "resolve", "--json", "--env", "review/x", "ws").want(t, 0).decode(t, &got)
	status := map[string]string{}
	for _, x := range got {
		status[x.Name] = x.Status
	}
	if status["DEPLOY@review/*"] != secrets.ResolvedDelivered || status["DEPLOY"] != secrets.ResolvedOverridden ||
		status["TOKEN@production"] != secrets.ResolvedOtherEnvironment {
		t.Fatalf("resolve --json --env review/x: %+v", got)
	}
}

// resolve says which delivered secrets compose others: it reads no
// value, and a reference the job does not get fails the job.
func TestScopesResolveExpanding(t *testing.T) {
	e := newScopes(t)
	e.ctl("url:${ONLYPROT}", "set", "--expand", "ws", "URL").want(t, 0)
	r := e.run(call{noKey: true}, "resolve", "--env", "production", "ws").want(t, 0)
	if !strings.Contains(r.stdout, "URL       *           ws    1        -          delivered\n") {
		t.Fatalf("resolve:\n%s", r.stdout)
	}
	if want := "resolve: URL compose others (${NAME}): a reference the job does not get fails the job when it starts"; !strings.Contains(r.stderr, want) {
		t.Fatalf("resolve's stderr %q does not say %q", r.stderr, want)
	}
	var got []secrets.Resolved
	e.run(call{noKey: true}, "resolve", "--json", "--env", "production", "ws").want(t, 0).decode(t, &got)
	for _, x := range got {
		if x.Expands != (x.Name == "URL") {
			t.Errorf("resolve --json: %+v", x)
		}
	}
	e.ctl("", "run", "--env", "production", "ws", "--", "true").want(t, exitRefused)
}

// export --env and import --env round-trip one scope; diff --env names its
// scope; a plan applies to its own scope only.
func TestScopesDotenv(t *testing.T) {
	e := newScopes(t)
	exp := e.ctl("", "export", "--env", "production", "ws").want(t, 0)
	// The protected flags travel as a comment: the copy's secrets are
	// protected as the original's.
	want := "# protected: DEPLOY ONLYPROT\nDEPLOY='prod-deploy-canary'\nONLYPROT='only-protected-canary'\nTOKEN='prod-token-canary'\n"
	if exp.stdout != want {
		t.Fatalf("export --env production:\n%s", exp.stdout)
	}
	r := e.ctl(exp.stdout, "import", "--env", "production", "copy").want(t, 0)
	if r.stdout != "imported 3: DEPLOY@production ONLYPROT@production TOKEN@production\n" {
		t.Fatalf("import --env: %q", r.stdout)
	}
	if again := e.ctl("", "export", "--env", "production", "copy").want(t, 0); again.stdout != want {
		t.Fatalf("the round trip:\n%s", again.stdout)
	}
	if star := e.ctl("", "export", "copy").want(t, 0); star.stdout != "" {
		t.Fatalf("import --env production wrote scope *:\n%s", star.stdout)
	}

	text := "DEPLOY=prod-deploy-canary\nNEW=new-prod-value\n"
	r = e.ctl(text, "diff", "--remove", "--env", "production", "ws").want(t, 0)
	noScopeValue(t, r)
	if r.stdout != "+ NEW@production       (added)\n- ONLYPROT@production  (removed)\n- TOKEN@production     (removed)\n"+
		"1 added, 0 changed, 2 removed, 1 unchanged in scope production\n" {
		t.Fatalf("diff --env:\n%q", r.stdout)
	}
	file := filepath.Join(e.dir, "prod.env")
	os.WriteFile(file, []byte(text), 0o600)
	plan := filepath.Join(e.dir, "plan.json")
	os.WriteFile(plan, []byte(e.ctl("", "diff", "--json", "--remove", "--env", "production", "--file", file, "ws").want(t, 0).stdout), 0o600)
	var d secrets.Diff
	e.ctl("", "diff", "--json", "--remove", "--env", "production", "--file", file, "ws").want(t, 0).decode(t, &d)
	if d.Scope != "production" {
		t.Fatalf("diff --json --env: %+v", d)
	}
	// A plan of production is not applied to another scope.
	e.ctl("", "apply", "--plan", plan, "--file", file, "ws").wantErr(t, 4, "scope production", "nothing applied")
	e.ctl("", "apply", "--plan", plan, "--env", "staging", "--file", file, "ws").wantErr(t, 4, "scope production")
	if !e.meta("ws", "TOKEN@production").Deleted.IsZero() {
		t.Fatal("a refused apply changed something")
	}
	r = e.ctl("", "apply", "--plan", plan, "--env", "production", "--file", file, "ws").want(t, 0)
	if r.stdout != "applied to ws in scope production: 1 added, 0 changed, 2 removed\n" {
		t.Fatalf("apply --env: %q", r.stdout)
	}
	if e.value("ws", "NEW@production") != "new-prod-value" || e.meta("ws", "TOKEN@production").Deleted.IsZero() {
		t.Fatal("apply --env did not apply")
	}
	// The other scopes are untouched.
	for _, n := range []string{"DEPLOY", "DEPLOY@review/*"} {
		if m := e.meta("ws", n); !m.Deleted.IsZero() || m.Version != 1 {
			t.Fatalf("%s after apply --env production: %+v", n, m)
		}
	}
}

// A malformed or empty --env exits with the usage status, prints no
// value, runs no job and writes nothing.
func TestScopesBadEnv(t *testing.T) {
	e := newScopes(t)
	file := filepath.Join(e.dir, "in.env")
	os.WriteFile(file, []byte("DEPLOY=bad-env-canary\n"), 0o600)
	for _, env := range []string{"a*b", "**", "prod uction", ""} {
		for _, c := range []struct {
			stdin string
			args  []string
		}{
			{"bad-env-canary", []string{"set", "ws", "NEWONE"}},
			{"", []string{"get", "ws", "DEPLOY"}},
			{"", []string{"list", "ws"}},
			{"", []string{"export", "ws"}},
			{"", []string{"import", "--file", file, "ws"}},
			{"", []string{"diff", "--file", file, "ws"}},
			{"", []string{"apply", "--yes", "--file", file, "ws"}},
			{"", []string{"resolve", "ws"}},
			{"", []string{"run", "ws", "--", "sh", "-c", "echo ran; " + jobSays}},
			{"", []string{"run", "--protected", "ws", "--", "sh", "-c", "echo ran; " + jobSays}},
		} {
			args := append([]string{c.args[0], "--env", env}, c.args[1:]...)
			r := e.ctl(c.stdin, args...).wantErr(t, 2, "")
			noScopeValue(t, r)
			if r.stdout != "" || strings.Contains(r.stderr, "bad-env-canary") {
				t.Fatalf("%q: stdout %q, stderr %q", args, r.stdout, r.stderr)
			}
		}
	}
	// A job environment is never a pattern.
	e.ctl("", "run", "--env", "review/*", "ws", "--", "sh", "-c", "echo ran").wantErr(t, 2)
	e.ctl("", "resolve", "--env", "*", "ws").wantErr(t, 2)
	// Nothing was written.
	var page secrets.Page
	e.run(call{noKey: true}, "list", "--json", "ws").want(t, 0).decode(t, &page)
	if len(page.Secrets) != len(scopeValues) {
		t.Fatalf("bad --env wrote: %+v", page.Secrets)
	}
	for _, m := range page.Secrets {
		if m.Version != 1 {
			t.Fatalf("bad --env wrote %s: %+v", m.Name, m)
		}
	}
}

// TestVersionsShowProtected: versions says which versions are sealed
// protected, and a point-in-time restore's preview and a rollback say that
// they make the secret protected again, so that an operator sees it before
// unprotected jobs stop getting it.
func TestVersionsShowProtected(t *testing.T) {
	e := newEnv(t)
	e.ctl("value-one", "set", "--protected", "ws", "API").want(t, 0)
	time.Sleep(20 * time.Millisecond)
	at := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	e.ctl("value-two", "set", "--protected=false", "ws", "API").want(t, 0)
	r := e.ctl("", "versions", "ws", "API").want(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "VERSION WRITTEN BY CURRENT PROTECTED" {
		t.Fatalf("versions:\n%s", r.stdout)
	}
	// Each row ends CURRENT PROTECTED; WRITTEN has spaces in it.
	for i, want := range []string{"2 yes -", "1 - yes"} {
		f := strings.Fields(lines[i+1])
		if got := f[0] + " " + strings.Join(f[len(f)-2:], " "); got != want {
			t.Errorf("row %d: %q, want version, current, protected %q\n%s", i+1, got, want, r.stdout)
		}
	}
	r = e.ctl("", "restore", "--preview", "ws", "--at", at).want(t, 0)
	if !strings.Contains(r.stdout, "~ API") || !strings.Contains(r.stdout, "with the value of version 1, which makes it protected)") {
		t.Errorf("the restore preview does not say API becomes protected:\n%s", r.stdout)
	}
	if r := e.ctl("", "rollback", "ws", "API", "1").want(t, 0); r.stdout != "API rolled back to version 1's value (protected): revision 3, version 3\n" {
		t.Errorf("rollback: %q", r.stdout)
	}
}
