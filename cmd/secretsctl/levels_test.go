package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// The values of the levels of these tests: none may be printed.
var levelValues = map[string]string{
	"group:acme/A": "group-a-value-1",
	"group:acme/D": "group-d-value-1",
	"instance/A":   "instance-a-value",
	"instance/B":   "instance-b-value",
	"ws/C":         "ws-c-value-xyz",
	"ws/D":         "ws-d-value-xyz",
}

// newLevels returns an env whose ws inherits from group:acme and then
// instance: A from the group (over instance's), B from instance, C and D
// from ws (D over the group's).
func newLevels(t *testing.T) *env {
	e := newEnv(t)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range levelValues {
			if !yield(k) {
				return
			}
		}
	}) {
		ws, name, _ := strings.Cut(k, "/")
		e.ctl(levelValues[k], "set", ws, name).want(t, 0)
	}
	return e
}

// noValue fails if r shows any value of the levels.
func noValue(t *testing.T, r result) {
	t.Helper()
	for k, v := range levelValues {
		if strings.Contains(r.stdout+r.stderr, v) {
			t.Fatalf("the output shows the value of %s:\n%s\n%s", k, r.stdout, r.stderr)
		}
	}
}

// resolve shows, for each secret of the workspace and its --parents,
// where it is and whether a job gets it; never a value; an invalid chain
// exits 5 and a command line without a workspace 2.
func TestResolveParents(t *testing.T) {
	e := newLevels(t)
	want := "NAME  SCOPE  FROM        VERSION  PROTECTED  STATUS\n" +
		"A     *      group:acme  1        -          delivered\n" +
		"A     *      instance    1        -          overridden\n" +
		"B     *      instance    1        -          delivered\n" +
		"C     *      ws          1        -          delivered\n" +
		"D     *      ws          1        -          delivered\n" +
		"D     *      group:acme  1        -          overridden\n"
	// The chain comma-separated or repeated; no master key needed.
	for _, args := range [][]string{
		{"resolve", "ws", "--parents", "group:acme,instance"},
		{"resolve", "--parents", "group:acme", "--parents", "instance", "ws"},
	} {
		r := e.run(call{noKey: true}, args...).want(t, 0)
		noValue(t, r)
		if r.stdout != want {
			t.Fatalf("%v:\n%s\nwant:\n%s", args, r.stdout, want)
		}
	}
	// The order of the chain decides.
	r := e.ctl("", "resolve", "ws", "--parents", "instance,group:acme").want(t, 0)
	if !strings.Contains(r.stdout, "A     *      instance    1        -          delivered\n") {
		t.Fatalf("instance first:\n%s", r.stdout)
	}
	// Without --parents, the workspace's own.
	r = e.ctl("", "resolve", "ws").want(t, 0)
	if r.stdout != "NAME  SCOPE  FROM  VERSION  PROTECTED  STATUS\nC     *      ws    1        -          delivered\nD     *      ws    1        -          delivered\n" {
		t.Fatalf("no parents:\n%s", r.stdout)
	}

	// --json: the library's []Resolved.
	var got []secrets.Resolved
	r = e.ctl("", "resolve", "--json", "ws", "--parents", "group:acme,instance").want(t, 0)
	noValue(t, r)
	r.decode(t, &got)
	wantJSON := []secrets.Resolved{
		{Name: "A", Variable: "A", Scope: "*", Container: "group:acme", Level: 1, Version: 1, Status: secrets.ResolvedDelivered},
		{Name: "A", Variable: "A", Scope: "*", Container: "instance", Level: 2, Version: 1, Status: secrets.ResolvedOverridden},
		{Name: "B", Variable: "B", Scope: "*", Container: "instance", Level: 2, Version: 1, Status: secrets.ResolvedDelivered},
		{Name: "C", Variable: "C", Scope: "*", Container: "ws", Level: 0, Version: 1, Status: secrets.ResolvedDelivered},
		{Name: "D", Variable: "D", Scope: "*", Container: "ws", Level: 0, Version: 1, Status: secrets.ResolvedDelivered},
		{Name: "D", Variable: "D", Scope: "*", Container: "group:acme", Level: 1, Version: 1, Status: secrets.ResolvedOverridden},
	}
	if !reflect.DeepEqual(got, wantJSON) {
		t.Fatalf("--json: %+v", got)
	}
	// A mistyped name: an empty level is named on stderr, and with no
	// secret at any level resolve exits 3 (a trial found it silent).
	if r := e.ctl("", "resolve", "--json", "empty").wantErr(t, 3, `no secrets in "empty" (mistyped?)`); r.stdout != "[]\n" {
		t.Fatalf("--json of nothing: %q", r.stdout)
	}
	if r := e.ctl("", "resolve", "ws", "--parents", "group:acme,grop:typo").want(t, 0); !strings.Contains(r.stderr, `resolve: "grop:typo" has no secrets (mistyped?)`) ||
		!strings.Contains(r.stdout, "group:acme") {
		t.Fatalf("a mistyped parent: %+v", r)
	}
	// A new version shows; a deleted secret does not.
	e.ctl("instance-b-value", "set", "instance", "B").want(t, 0)
	e.ctl("", "delete", "ws", "D").want(t, 0)
	r = e.ctl("", "resolve", "ws", "--parents", "group:acme,instance").want(t, 0)
	if !strings.Contains(r.stdout, "B     *      instance    2        -          delivered\n") ||
		!strings.Contains(r.stdout, "D     *      group:acme  1        -          delivered\n") || strings.Contains(r.stdout, "D     *      ws ") {
		t.Fatalf("after a set and a delete:\n%s", r.stdout)
	}
	e.ctl("", "undelete", "ws", "D").want(t, 0)

	// An invalid chain is refused: a repeat, the workspace itself, more
	// than 8, an empty name.
	for _, parents := range []string{
		"group:acme,instance,group:acme",
		"group:acme,ws",
		"p1,p2,p3,p4,p5,p6,p7,p8,p9",
		"group:acme,",
	} {
		r := e.ctl("", "resolve", "ws", "--parents", parents).wantErr(t, 5, `workspace "ws"`)
		noValue(t, r)
		if r.stdout != "" {
			t.Fatalf("--parents %s: stdout %q", parents, r.stdout)
		}
	}
	e.ctl("", "resolve").wantErr(t, 2, "WORKSPACE")
	e.ctl("", "resolve", "ws", "extra").wantErr(t, 2, "WORKSPACE")

	// Audited as a listing of the workspace.
	if evs := e.events("ws", "--action", "list"); len(evs) == 0 {
		t.Fatal("resolve left no list event")
	}
}

// run --parents gives the job the inherited values, masked in its
// output, and records where each came from; an invalid chain runs
// nothing; a parent or workspace with no secrets is refused unless
// --allow-empty.
func TestRunParents(t *testing.T) {
	e := newLevels(t)
	check := `test "$A" = group-a-value-1 && test "$B" = instance-b-value && test "$C" = ws-c-value-xyz && ` +
		`test "$D" = ws-d-value-xyz && printf '%s|%s|%s|%s' "$A" "$B" "$C" "$D"`
	r := e.ctl("", "run", "ws", "--parents", "group:acme,instance", "--", "sh", "-c", check).want(t, 0)
	if r.stdout != "***|***|***|***" {
		t.Fatalf("run --parents: %q / %q", r.stdout, r.stderr)
	}
	noValue(t, r)
	r = e.ctl("", "run", "--parents", "group:acme", "--parents", "instance", "ws", "--", "sh", "-c", `echo "$A"`).want(t, 0)
	if r.stdout != "***\n" {
		t.Fatalf("repeated --parents: %q", r.stdout)
	}
	// Without --parents the job inherits nothing.
	r = e.ctl("", "run", "ws", "--", "sh", "-c", `echo "[${A-unset}][${B-unset}]"`).want(t, 0)
	if r.stdout != "[unset][unset]\n" {
		t.Fatalf("run without --parents: %q", r.stdout)
	}

	// The job's event names the chain and where each secret came from.
	evs := e.events("ws", "--action", "inject")
	var ev *secrets.Event
	for i := range evs {
		if len(evs[i].Parents) > 0 {
			ev = &evs[i]
			break
		}
	}
	if ev == nil || !slices.Equal(ev.Parents, []string{"group:acme", "instance"}) {
		t.Fatalf("inject events: %+v", evs)
	}
	from := map[string]string{}
	for _, s := range ev.Secrets {
		from[s.Name] = s.Container
	}
	if !reflect.DeepEqual(from, map[string]string{"A": "group:acme", "B": "instance", "C": "", "D": ""}) {
		t.Fatalf("the event's containers: %+v", ev.Secrets)
	}

	// An invalid chain runs nothing and prints no value, with or without
	// the emptiness check.
	for _, args := range [][]string{
		{"run", "ws", "--parents", "group:acme,group:acme"},
		{"run", "--allow-empty", "ws", "--parents", "group:acme,group:acme"},
		{"run", "--allow-empty", "ws", "--parents", "instance,ws"},
	} {
		r := e.ctl("", append(args, "--", "sh", "-c", `echo "ran $A"`)...).wantErr(t, 5, "a cycle")
		noValue(t, r)
		if r.stdout != "" {
			t.Fatalf("%v ran: %q", args, r.stdout)
		}
	}

	// A mistyped parent, or a workspace of its own empty, is refused
	// unless --allow-empty.
	e.ctl("", "run", "ws", "--parents", "group:acme,instanse", "--", "true").wantErr(t, 3, `"instanse" has no secrets`, "--allow-empty")
	e.ctl("", "run", "new-ws", "--parents", "group:acme", "--", "true").wantErr(t, 3, `"new-ws" has no secrets`)
	r = e.ctl("", "run", "--allow-empty", "new-ws", "--parents", "group:acme,instanse", "--", "sh", "-c", `echo "$A ${B-unset}"`).want(t, 0)
	if r.stdout != "*** unset\n" {
		t.Fatalf("--allow-empty: %q", r.stdout)
	}
}
