package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
)

// Every command records its actor: each runs here under an actor of its
// own, whose events are read back with events --by.
func TestActorRecorded(t *testing.T) {
	e := newEnv(t)
	e.ctl("alpha-value", "set", "ws", "A").want(t, 0)
	e.ctl("alpha-value-2", "set", "ws", "A").want(t, 0)
	e.ctl("bravo-value", "set", "ws", "B").want(t, 0)
	e.ctl("charlie-value", "set", "ws", "C").want(t, 0)
	newKey := e.keygen("new.json")
	as := func(actor string) *env { c := *e; c.actor = actor; return &c }
	for _, c := range []struct {
		actor  string
		action secrets.Action
		stdin  string
		args   []string
	}{
		{"t:list", secrets.ActionList, "", []string{"list", "ws"}},
		{"t:meta", secrets.ActionList, "", []string{"meta", "ws", "A"}},
		{"t:versions", secrets.ActionList, "", []string{"versions", "ws", "A"}},
		{"t:due", secrets.ActionList, "", []string{"due", "ws"}},
		{"t:dueall", secrets.ActionList, "", []string{"due", "--all"}},
		{"t:keys", secrets.ActionList, "", []string{"keys", "ws"}},
		{"t:get", secrets.ActionReveal, "", []string{"get", "ws", "A"}},
		{"t:export", secrets.ActionExport, "", []string{"export", "ws"}},
		{"t:run", secrets.ActionInject, "", []string{"run", "ws", "--", "true"}},
		{"t:set", secrets.ActionSet, "delta-value", []string{"set", "ws", "D"}},
		{"t:info", secrets.ActionSet, "", []string{"info", "--description", "d", "ws", "D"}},
		{"t:rollback", secrets.ActionSet, "", []string{"rollback", "ws", "A", "1"}},
		{"t:rename", secrets.ActionRename, "", []string{"rename", "ws", "D", "E"}},
		{"t:delete", secrets.ActionDelete, "", []string{"delete", "ws", "E"}},
		{"t:undelete", secrets.ActionSet, "", []string{"undelete", "ws", "E"}},
		{"t:destroy", secrets.ActionDestroy, "", []string{"destroy", "--yes", "ws", "E"}},
		{"t:import", secrets.ActionSet, "F=foxtrot-value\n", []string{"import", "ws"}},
		{"t:diff", secrets.ActionDiff, "H=hotel-value\n", []string{"diff", "ws"}},
		{"t:apply", secrets.ActionSet, "G=golf-value\n", []string{"apply", "--yes", "ws"}},
		{"t:rotate", secrets.ActionRotate, "", []string{"rotate", "ws"}},
		{"t:rotateall", secrets.ActionRotate, "", []string{"rotate", "--all"}},
		{"t:disable", secrets.ActionRotate, "", nil}, // key disable, below
		{"t:purge", secrets.ActionPurge, "", []string{"purge"}},
		{"t:delws", secrets.ActionDeleteWorkspace, "", []string{"delete-workspace", "--yes", "gone"}},
		{"t:rewrap", secrets.ActionRotate, "", []string{"--master-key", newKey, "--old-master-key", e.key, "--add-master-key", "rewrap"}},
	} {
		a := as(c.actor)
		args := c.args
		if args == nil {
			var keys []secrets.KeyInfo
			a.ctl("", "keys", "--json", "ws").want(t, 0).decode(t, &keys)
			old := slices.IndexFunc(keys, func(k secrets.KeyInfo) bool { return !k.Primary })
			args = []string{"key", "disable", "ws", itoa(keys[old].ID)}
		}
		a.ctl(c.stdin, args...).want(t, 0)
		evs := e.events("--by", c.actor)
		if !slices.ContainsFunc(evs, func(ev secrets.Event) bool { return ev.Action == c.action && ev.Outcome == secrets.OutcomeOK }) {
			t.Errorf("%v by %s: no %s event of that actor: %+v", args, c.actor, c.action, evs)
		}
		if c.actor == "t:rewrap" {
			e.key = newKey
		}
	}

	// Without --actor, the operator's login name.
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	e.run(call{noActor: true}, "list", "ws").want(t, 0)
	if evs := e.events("--by", "cli:"+u.Username, "--action", "list"); len(evs) != 1 {
		t.Fatalf("the default actor cli:%s: %+v", u.Username, evs)
	}
	e.ctl("", "--actor", " ", "list", "ws").wantErr(t, 2, "--actor")
}

func itoa[N uint32 | int64](n N) string { return strconv.FormatInt(int64(n), 10) }

// events filters and pages; --json gives the library's field names.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"A", "B", "C"} {
		e.ctl("value-of-"+name, "set", "ws", name).want(t, 0)
	}
	e.ctl("value-other", "set", "other", "A").want(t, 0)
	e.ctl("", "get", "ws", "B").want(t, 0)
	e.ctl("", "run", "ws", "--", "true").want(t, 0)
	e.ctl("", "get", "ws", "NOPE").want(t, 3)

	all := e.events()
	if len(all) != 7 || all[0].ID < all[len(all)-1].ID {
		t.Fatalf("events, newest first: %+v", all)
	}
	if evs := e.events("ws"); len(evs) != 6 {
		t.Fatalf("events ws: %+v", evs)
	}
	if evs := e.events("--action", "reveal"); len(evs) != 2 || evs[0].Outcome != secrets.OutcomeFailed || evs[1].Secrets[0].Name != "B" {
		t.Fatalf("--action reveal: %+v", evs)
	}
	// --name finds the writes of A and the injection that delivered it.
	evs := e.events("--name", "a", "ws")
	if len(evs) != 2 || evs[0].Action != secrets.ActionInject || evs[1].Action != secrets.ActionSet {
		t.Fatalf("--name a: %+v", evs)
	}
	if evs := e.events("--since", "1h"); len(evs) != 7 {
		t.Fatalf("--since 1h: %d events", len(evs))
	}
	if evs := e.events("--since", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); len(evs) != 0 {
		t.Fatalf("--since in an hour: %+v", evs)
	}
	if evs := e.events("--until", "2000-01-01"); len(evs) != 0 {
		t.Fatalf("--until 2000: %+v", evs)
	}
	if evs := e.events("--by", "someone-else"); len(evs) != 0 {
		t.Fatalf("--by someone-else: %+v", evs)
	}

	// Paging newest first with --before, oldest first with --after.
	var page eventsPage
	var ids []int64
	for before := int64(0); ; {
		args := []string{"events", "--json", "--limit", "3"}
		if before != 0 {
			args = append(args, "--before", itoa(before))
		}
		e.ctl("", args...).want(t, 0).decode(t, &page)
		for _, ev := range page.Events {
			ids = append(ids, ev.ID)
		}
		if page.Next == 0 {
			break
		}
		before = page.Next
	}
	if len(ids) != 7 || !slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("pages newest first: %v", ids)
	}
	e.ctl("", "events", "--json", "--oldest", "--limit", "2", "--after", itoa(ids[6])).want(t, 0).decode(t, &page)
	if len(page.Events) != 2 || page.Events[0].ID != ids[5] || page.Next != ids[4] {
		t.Fatalf("--oldest --after: %+v", page)
	}
	r := e.ctl("", "events", "--limit", "2").want(t, 0)
	if !strings.Contains(r.stderr, "more: --before") || !strings.Contains(r.stdout, "ACTOR") || !strings.Contains(r.stdout, e.actor) {
		t.Fatalf("events text:\n%s\n%s", r.stdout, r.stderr)
	}

	e.ctl("", "events", "--action", "peek").wantErr(t, 2, "--action")
	e.ctl("", "events", "--since", "yesterday").wantErr(t, 2, "--since")
	e.ctl("", "events", "--after", "3").wantErr(t, 2, "--oldest")
	e.ctl("", "events", "--limit", "0").wantErr(t, 2, "--limit")
}

func TestDue(t *testing.T) {
	e := newEnv(t)
	e.ctl("v-expired", "set", "--expires", "-1d", "ws", "EXPIRED").want(t, 0)
	e.ctl("v-soon", "set", "--rotate-by", "3d", "ws", "SOON").want(t, 0)
	e.ctl("v-later", "set", "--expires", "60d", "ws", "LATER").want(t, 0)
	e.ctl("v-never", "set", "ws", "NEVER").want(t, 0)
	e.ctl("v-other", "set", "--expires", "1d", "other", "OTHER").want(t, 0)

	var due []secrets.DueSecret
	e.ctl("", "due", "--json", "ws").want(t, 0).decode(t, &due)
	if len(due) != 2 || due[0].Name != "EXPIRED" || due[1].Name != "SOON" || due[0].Workspace != "ws" {
		t.Fatalf("due ws: %+v", due)
	}
	e.ctl("", "due", "--json", "--within", "90d", "ws").want(t, 0).decode(t, &due)
	if len(due) != 3 {
		t.Fatalf("due --within 90d: %+v", due)
	}
	e.ctl("", "due", "--json", "--all").want(t, 0).decode(t, &due)
	if len(due) != 3 || due[0].Workspace != "other" || due[1].Name != "EXPIRED" {
		t.Fatalf("due --all: %+v", due)
	}
	e.ctl("", "due", "--json", "--all", "--before", "2000-01-01").want(t, 0).decode(t, &due)
	if due == nil || len(due) != 0 {
		t.Fatalf("due before 2000: %+v", due)
	}
	r := e.ctl("", "due", "ws").want(t, 0)
	if !strings.Contains(r.stdout, "EXPIRED") || !strings.Contains(r.stdout, "expired") {
		t.Fatalf("due text:\n%s", r.stdout)
	}
	e.ctl("", "due").wantErr(t, 2, "--all")
	e.ctl("", "due", "--all", "ws").wantErr(t, 2)
	e.ctl("", "due", "--within", "soon", "ws").wantErr(t, 2, "--within")
}

func TestPurge(t *testing.T) {
	e := newEnv(t)
	e.ctl("old-value", "set", "ws", "OLD").want(t, 0)
	e.ctl("keep-value", "set", "ws", "KEEP").want(t, 0)
	e.ctl("", "delete", "ws", "OLD").want(t, 0)
	e.ctl("", "delete", "ws", "KEEP").want(t, 0)
	// Make OLD look deleted long ago, and every event older than the
	// library's default event retention: without --event-retention,
	// purge keeps them (the retention trial's purge dropped them all).
	e.sql(`UPDATE {{schema}}.secrets SET deleted = now() - interval '40 days' WHERE name = 'OLD'`)
	e.sql(`UPDATE {{schema}}.audit SET at = now() - interval '500 days'`)
	var res secrets.PurgeResult
	e.ctl("", "purge", "--json").want(t, 0).decode(t, &res)
	if res.Destroyed != 1 || res.EventsDropped != 0 {
		t.Fatalf("purge: %+v", res)
	}
	e.ctl("", "meta", "ws", "OLD").wantErr(t, 3)
	e.meta("ws", "KEEP")
	e.ctl("", "purge", "--retention", "0s").wantErr(t, 2, "--retention")
	// Days past what a duration holds are not a duration (they wrapped to a
	// negative one: "more than 0").
	for _, d := range []string{"200000d", "1e300d", "NaNd"} {
		e.ctl("", "purge", "--retention", d).wantErr(t, 2, "is not a duration")
	}
	// A retention shorter than 7 days asks first (a trial's 1ns dropped
	// the whole audit trail): off a terminal, only with --yes.
	e.ctl("", "purge", "--event-retention", "1ns").wantErr(t, 2, "--yes")
	if evs := e.ctl("", "events", "ws", "--json").want(t, 0).stdout; !strings.Contains(evs, `"delete"`) {
		t.Fatalf("a refused purge dropped events: %s", evs)
	}
	r := e.ctl("", "purge", "--retention", "1h", "--event-retention", "365d", "--yes").want(t, 0)
	if r.stdout != "0 deleted secrets destroyed, 4 audit events dropped\n" { // the two sets and deletes, made 500 days old
		t.Fatalf("purge: %q", r.stdout)
	}
}

// With --audit-key, writes and reads record keyed fingerprints of values,
// as the platform's own do.
func TestAuditKey(t *testing.T) {
	e := newEnv(t)
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "audit.json")
	os.WriteFile(file, ak, 0o600)
	e.ctl("fingerprinted-value", "--audit-key", file, "set", "ws", "A").want(t, 0)
	e.ctl("plain-value", "set", "ws", "B").want(t, 0)
	for _, c := range []struct {
		name string
		want bool
	}{{"A", true}, {"B", false}} {
		evs := e.events("--name", c.name, "--action", "set")
		if len(evs) != 1 || len(evs[0].Secrets) != 1 || (len(evs[0].Secrets[0].Fingerprint) > 0) != c.want {
			t.Fatalf("set of %s: fingerprint %v? %+v", c.name, c.want, evs)
		}
	}
	os.WriteFile(file, []byte("not a keyset"), 0o600)
	e.ctl("", "--audit-key", file, "list", "ws").wantErr(t, 1, "audit key")
}

// events --action takes every action the audit trail records, diff and
// audit among them.
func TestEventsEveryAction(t *testing.T) {
	e := newEnv(t)
	e.ctl("alpha-value", "set", "ws", "A").want(t, 0)
	e.ctl("A=other-value\n", "diff", "ws").want(t, 0)
	// Every Action constant of the library, as its API listing names them.
	api, err := os.ReadFile("../../api.txt")
	if err != nil {
		t.Fatal(err)
	}
	var all []secrets.Action
	for _, m := range regexp.MustCompile(`(?m)^\tAction[A-Za-z]+ Action = "([^"]+)"$`).FindAllStringSubmatch(string(api), -1) {
		all = append(all, secrets.Action(m[1]))
	}
	if len(all) < 15 {
		t.Fatalf("api.txt lists %d actions", len(all))
	}
	for _, a := range all {
		for _, ev := range e.events("--action", string(a)) {
			if ev.Action != a {
				t.Fatalf("--action %s gave a %s event", a, ev.Action)
			}
		}
	}
	if evs := e.events("--action", "diff"); len(evs) != 1 || evs[0].Workspace != "ws" {
		t.Fatalf("--action diff: %+v", evs)
	}
	e.ctl("", "events", "--action", "peek").wantErr(t, 2, "--action", "peek")
	help := e.ctl("", "events", "--help").want(t, 0).stdout
	for _, a := range all {
		if !strings.Contains(help, string(a)) {
			t.Fatalf("help does not name the action %s: %s", a, help)
		}
	}
}

// events --fingerprint - reads the suspected value from stdin (never from
// an argument, which ps shows) and finds the events that involved it.
func TestEventsFingerprint(t *testing.T) {
	e := newEnv(t)
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "audit.json")
	os.WriteFile(file, ak, 0o600)
	e.ctl("leaked-token-value", "--audit-key", file, "set", "ws", "A").want(t, 0)
	e.ctl("other-token-value", "--audit-key", file, "set", "ws", "B").want(t, 0)
	e.ctl("", "--audit-key", file, "run", "ws", "--", "true").want(t, 0)
	var page eventsPage
	e.run(call{stdin: "leaked-token-value\n", noKey: true}, "--audit-key", file, "events", "--json", "--fingerprint", "-").want(t, 0).decode(t, &page)
	var got []string
	for _, ev := range page.Events {
		got = append(got, string(ev.Action))
	}
	if strings.Join(got, ",") != "inject,set" || page.Events[1].Secrets[0].Name != "A" {
		t.Fatalf("--fingerprint - of A's value: %v %+v", got, page.Events)
	}
	e.run(call{stdin: "never-stored-value", noKey: true}, "--audit-key", file, "events", "--json", "--fingerprint", "-").want(t, 0).decode(t, &page)
	if len(page.Events) != 0 {
		t.Fatalf("a value never stored: %+v", page.Events)
	}
	// Not from an argument: refused without echoing it.
	r := e.ctl("", "--audit-key", file, "events", "--fingerprint", "leaked-token-value").wantErr(t, 2, "--fingerprint -")
	if strings.Contains(r.stderr, "leaked") {
		t.Fatalf("the argument was echoed: %q", r.stderr)
	}
	e.ctl("", "--audit-key", file, "events", "--fingerprint", "-").wantErr(t, 2, "--fingerprint", "empty")
	e.ctl("leaked-token-value", "events", "--fingerprint", "-").wantErr(t, 2, "--fingerprint", "--audit-key")
}

// The events table wraps a long list of secrets onto lines of their own
// under the SECRETS column, instead of widening the column for every row.
func TestEventsTableWraps(t *testing.T) {
	e := newEnv(t)
	var text strings.Builder
	var names []string
	for i := range 40 {
		n := fmt.Sprintf("SERVICE_TOKEN_NUMBER_%02d", i)
		names = append(names, n)
		fmt.Fprintf(&text, "%s=value-%d\n", n, i)
	}
	e.ctl(text.String(), "import", "ws").want(t, 0)
	e.ctl("", "export", "ws").want(t, 0)
	r := e.ctl("", "events", "ws").want(t, 0)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, l := range lines {
		if len(l) > 200 {
			t.Fatalf("a line of %d characters:\n%s", len(l), r.stdout)
		}
	}
	for _, n := range names {
		if c := strings.Count(r.stdout, n+" v1"); c != 2 { // import and export
			t.Fatalf("%s shown %d times:\n%s", n, c, r.stdout)
		}
	}
	// A continuation line starts under the SECRETS column.
	col := strings.Index(lines[0], "SECRETS")
	if len(lines) < 4 || strings.TrimSpace(lines[2][:col]) != "" || !strings.HasPrefix(lines[2][col:], "SERVICE_TOKEN") {
		t.Fatalf("not wrapped under SECRETS:\n%s", r.stdout)
	}
}

// set records what it did, one set event, and nothing more: given info
// flags it reads the secret's Info to change only those fields, and that
// read is part of the set (it once recorded a failed list, "does not
// exist", before creating a new secret, and a list before changing an
// existing one).
func TestSetRecordsOnlyTheSet(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		what, stdin string
		args        []string
		version     int64
	}{
		{"new", "set-new-value", []string{"set", "ws", "NEW"}, 1},
		{"new, with info flags", "set-info-value", []string{"set", "--description", "d", "--rotate-by", "30d", "ws", "NEW_INFO"}, 1},
		{"new, scoped, with info flags", "set-scoped-value", []string{"set", "--env", "production", "--protected", "ws", "SCOPED"}, 1},
		{"existing", "set-new-value-2", []string{"set", "ws", "NEW"}, 2},
		{"existing, with info flags", "set-info-value-2", []string{"set", "--description", "d2", "ws", "NEW_INFO"}, 2},
		{"existing, create only", "set-refused", []string{"set", "--create", "--description", "d3", "ws", "NEW"}, 0},
	} {
		before := len(e.events())
		name := c.args[len(c.args)-1]
		if slices.Contains(c.args, "--env") {
			name += "@production"
		}
		if c.version == 0 {
			e.ctl(c.stdin, c.args...).want(t, exitConflict)
		} else {
			e.ctl(c.stdin, c.args...).want(t, 0)
		}
		all := e.events() // newest first
		got := all[:len(all)-before]
		var b strings.Builder
		for _, ev := range got {
			fmt.Fprintf(&b, "%s %s", ev.Action, ev.Outcome)
			for _, s := range ev.Secrets {
				fmt.Fprintf(&b, " %s v%d", s.Name, s.Version)
			}
			b.WriteString(";")
		}
		want := fmt.Sprintf("set ok %s v%d;", name, c.version)
		if c.version == 0 {
			want = "set failed " + name + " v0;" // a failed write names its secret
		}
		if b.String() != want {
			t.Errorf("%s (%v): events %q, want %q", c.what, c.args, b.String(), want)
		}
	}
	if m := e.meta("ws", "NEW_INFO"); m.Description != "d2" || m.RotateBy.IsZero() || m.Version != 2 {
		t.Errorf("set with info flags kept %+v", m)
	}
}

// TestEventsOmittedShown: an injection whose secrets a page left out
// (secrets.MaxEventPageSecrets) is not shown as one that got none: the
// table says so and how to list them; read alone, it lists them all.
func TestEventsOmittedShown(t *testing.T) {
	e := newEnv(t)
	var text strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&text, "S%04d=v\n", i)
	}
	e.ctl(text.String(), "import", "ws").want(t, 0)
	// Injections as a job's read records them (its state, no names).
	e.sql(`INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, outcome, detail)
		SELECT now(), 'job', 'inject', w.workspace, w.state, NULL, 'ok', '' FROM {{schema}}.workspaces w, generate_series(1, $1)
		WHERE w.workspace = 'ws'`, secrets.MaxEventPageSecrets/1000+3)
	r := e.ctl("", "events", "ws", "--action", "inject", "--limit", "200").want(t, 0)
	hint := regexp.MustCompile(`\(too many on this page to list: --oldest --after (\d+) --limit 1 lists them\)`)
	m := hint.FindAllStringSubmatch(r.stdout, -1)
	if len(m) != 3 {
		t.Fatalf("%d events marked as not listed, want 3:\n%s", len(m), r.stdout)
	}
	alone := e.events("ws", "--action", "inject", "--oldest", "--after", m[0][1], "--limit", "1")
	if len(alone) != 1 || alone[0].SecretsOmitted || len(alone[0].Secrets) != 1000 {
		t.Fatalf("the event read alone: %d events, %+v", len(alone), alone)
	}
}

// TestInvalidNameNotQuoted: a name that fails validation (a value pasted
// into its place) is not shown back with --env (destroy's prompt:
// TestTerminalConfirm).
func TestInvalidNameNotQuoted(t *testing.T) {
	e := newEnv(t)
	const pasted = "tok_PASTED-val!ue"
	for _, args := range [][]string{
		{"get", "--env", "prod", "ws", pasted + "@x"},
		{"set", "--env", "prod", "ws", pasted + "@x"},
	} {
		r := e.ctl("y\n", args...)
		if r.code == 0 || strings.Contains(r.stdout+r.stderr, "PASTED") {
			t.Errorf("secretsctl %s: exit %d, output %q %q", args[0], r.code, r.stdout, r.stderr)
		}
	}
}

// TestEventsTableProvenance: the events table says, of each secret a job
// was given, where it came from (the container, quoted, when a parent's)
// and marks the ones it did not get (withheld, or only an ingredient of an
// expanded value), with the job's environment (quoted when it holds a
// comma) and protection in DETAIL: an audit trial read "API_TOKEN v1" as
// the workspace's own, and a withheld value as delivered. --json is the
// library's Event, as it was.
func TestEventsTableProvenance(t *testing.T) {
	e := newEnv(t)
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	akFile := filepath.Join(e.dir, "audit.json")
	os.WriteFile(akFile, ak, 0o600)
	const group = "group: acme, eu" // a space and a comma
	e.ctl("group-api-token-value", "--audit-key", akFile, "set", group, "API_TOKEN").want(t, 0)
	e.ctl("prod-db-value-xyz", "--audit-key", akFile, "set", "ws", "PROD_DB").want(t, 0)
	e.ctl("pw-ingredient-value", "--audit-key", akFile, "set", "ws", "PW").want(t, 0)
	e.ctl("u:${PW}", "--audit-key", akFile, "set", "--expand", "ws", "DATABASE_URL").want(t, 0)

	// The job, as a host that withholds runs it (secretsctl has no
	// Withhold): in process, over the same schema.
	ctx := secrets.WithActor(t.Context(), "host:ci")
	db, err := sqlx.Open("postgres", e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: e.schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c, err := secrets.LoadLocalCipher(e.key)
	if err != nil {
		t.Fatal(err)
	}
	key, err := secrets.NewAuditKey(ak)
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.New(store, c, &secrets.Config{
		AuditKey: key,
		Parents:  func(context.Context, string) ([]string, error) { return []string{group}, nil },
		Withhold: func(_ context.Context, _ secrets.Request, o secrets.Offer) bool { return o.Variable == "PROD_DB" },
	})
	if err != nil {
		t.Fatal(err)
	}
	job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{
		Names: []string{"API_TOKEN", "PROD_DB", "DATABASE_URL"}, Environment: "prod,protected", Protected: true, Base: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	job.Close()

	r := e.run(call{noKey: true}, "events", "--action", "inject", "ws").want(t, 0)
	// The event's line and its SECRETS column's continuation lines.
	row := strings.Join(strings.Fields(strings.SplitN(r.stdout, "\n", 2)[1]), " ")
	if strings.Count(r.stdout, "host:ci") != 1 {
		t.Fatalf("one inject event:\n%s", r.stdout)
	}
	for _, want := range []string{
		`API_TOKEN v1 from "group: acme, eu"`,
		"DATABASE_URL v1,", // delivered: no mark
		"PROD_DB v1 withheld",
		"PW v1 ingredient",
		`[environment "prod,protected", protected]`,
	} {
		if !strings.Contains(row, want) {
			t.Errorf("the row does not say %q:\n%s", want, r.stdout)
		}
	}
	for _, leak := range []string{"group-api-token-value", "prod-db-value-xyz", "pw-ingredient-value"} {
		if strings.Contains(r.stdout, leak) {
			t.Fatalf("the table shows a value:\n%s", r.stdout)
		}
	}

	// --json: the library's events, every field as Events gives it.
	want, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Newest: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := e.events("--action", "inject", "ws")
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Fatalf("--json:\n%s\nthe library's:\n%s", gj, wj)
	}
	if len(got) != 1 || len(got[0].Expanded) == 0 || got[0].Environment != "prod,protected" || !got[0].Protected ||
		len(got[0].Parents) != 1 || got[0].Parents[0] != group {
		t.Fatalf("--json lost the job's fields: %s", gj)
	}
	marks := map[string]string{}
	for _, s := range got[0].Secrets {
		marks[s.Name] = fmt.Sprintf("%q %v %v", s.Container, s.Withheld, s.Ingredient)
	}
	if marks["API_TOKEN"] != `"group: acme, eu" false false` || marks["PROD_DB"] != `"" true false` ||
		marks["PW"] != `"" false true` || marks["DATABASE_URL"] != `"" false false` {
		t.Fatalf("--json secrets: %v", marks)
	}
}

// An environment or container that holds what parts a list is quoted; a
// plain one is not.
func TestQuoteField(t *testing.T) {
	for in, want := range map[string]string{
		"production": "production", "review/feature-1": "review/feature-1",
		"prod,protected": `"prod,protected"`, "a b": `"a b"`, `q"`: `"q\""`, "x]": `"x]"`, "": `""`,
		"\u202eevil": `"\u202eevil"`,
	} {
		if got := quoteField(in); got != want {
			t.Errorf("quoteField(%q) = %s, want %s", in, got, want)
		}
	}
}
