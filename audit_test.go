package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
)

// viewerPolicy lets "user:viewer" list and nothing else; everyone else may
// do anything.
func viewerPolicy(ctx context.Context, r secrets.Request) error {
	if r.Actor == "user:viewer" && r.Action != secrets.ActionList {
		return errors.New("viewers may only list")
	}
	return nil
}

func newAuditKey(t testing.TB) *secrets.AuditKey {
	t.Helper()
	k, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	ak, err := secrets.NewAuditKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return ak
}

// storeState is everything a store holds for a workspace, to compare
// before and after refused operations.
func storeState(t *testing.T, s secrets.RotationStore, ws string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, deleted := range []bool{false, true} {
		es, err := s.List(ctx, ws, secrets.ListQuery{Limit: 1000, Values: true, Deleted: deleted})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			hist, _ := s.History(ctx, ws, e.SecretID)
			fmt.Fprintf(&b, "%s:%d:%d:%q:%x|", e.Name, e.Revision, len(hist), e.Description, e.Current.Ciphertext)
		}
	}
	k, _ := s.Key(ctx, ws)
	fmt.Fprintf(&b, "key %d %x", k.Generation, k.Ciphertext)
	return b.String()
}

func TestPolicyRefusesAndChangesNothing(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: viewerPolicy, AuditKey: newAuditKey(t)})
		admin := secrets.WithActor(context.Background(), "user:admin")
		viewer := secrets.WithActor(context.Background(), "user:viewer")
		const value = "policy-canary-value-123"
		if _, err := m.Set(admin, "ws", "TOKEN", []byte(value), nil); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "ws", "GONE", "x")
		if _, err := m.Delete(admin, "ws", "GONE", nil); err != nil {
			t.Fatal(err)
		}
		before := storeState(t, s, "ws")
		eventsBefore, _ := m.Events(admin, secrets.EventQuery{})

		refused := map[secrets.Action]func() error{
			secrets.ActionReveal:          func() error { _, err := m.Get(viewer, "ws", "TOKEN"); return err },
			secrets.ActionSet:             func() error { _, err := m.Set(viewer, "ws", "TOKEN", []byte("x"), nil); return err },
			secrets.ActionDelete:          func() error { _, err := m.Delete(viewer, "ws", "TOKEN", nil); return err },
			secrets.ActionRename:          func() error { _, err := m.Rename(viewer, "ws", "TOKEN", "OTHER", nil); return err },
			secrets.ActionDestroy:         func() error { return m.Destroy(viewer, "ws", "TOKEN", nil) },
			secrets.ActionDeleteWorkspace: func() error { return m.DeleteWorkspace(viewer, "ws") },
			secrets.ActionPurge:           func() error { _, err := m.Purge(viewer); return err },
			secrets.ActionInject:          func() error { _, err := m.EnvFor(viewer, "ws"); return err },
			secrets.ActionExport:          func() error { _, err := m.Export(viewer, "ws", nil); return err },
			secrets.ActionRotate:          func() error { _, err := m.RotateKey(viewer, "ws", nil); return err },
		}
		extra := []func() error{
			func() error { _, err := m.Get(viewer, "ws", "NO_SUCH_SECRET"); return err }, // not "not found"
			func() error { _, err := m.GetVersion(viewer, "ws", "TOKEN", 1); return err },
			func() error {
				_, err := m.Set(viewer, "ws", "NEW", []byte("x"), &secrets.SetOptions{IfAbsent: true})
				return err
			},
			func() error { _, err := m.SetInfo(viewer, "ws", "TOKEN", secrets.Info{}, nil); return err },
			func() error { _, err := m.Rollback(viewer, "ws", "TOKEN", 1, nil); return err },
			func() error { _, err := m.Undelete(viewer, "ws", "GONE", nil); return err },
			func() error { _, err := m.Import(viewer, "ws", []byte("NEW=1\n"), nil); return err },
			func() error { _, err := m.Diff(viewer, "ws", []byte("NEW=1\n"), nil); return err },
			func() error { _, err := m.Apply(viewer, "ws", []byte("NEW=1\n"), secrets.Diff{}); return err },
			func() error { return m.SetKeyEnabled(viewer, "ws", 1, false) },
			func() error { _, err := m.Rewrap(viewer, nil); return err },
			func() error { _, err := m.Command(viewer, "ws", nil, "true"); return err },
			func() error { _, err := m.Run(viewer, "ws", secrets.Job{Path: "/bin/true"}); return err },
		}
		calls := 0
		for action, call := range refused {
			err := call()
			calls++
			if !errors.Is(err, secrets.ErrForbidden) {
				t.Errorf("%s by a viewer: %v, want ErrForbidden", action, err)
			}
		}
		for i, call := range extra {
			calls++
			if err := call(); !errors.Is(err, secrets.ErrForbidden) {
				t.Errorf("call %d by a viewer: %v, want ErrForbidden", i, err)
			}
		}
		if after := storeState(t, s, "ws"); after != before {
			t.Fatalf("refused operations changed the store:\n%s\n%s", before, after)
		}
		// Every refusal is audited, as denied, with no value and without
		// the hook's error (only a Refusal's Reason is public).
		events, err := m.Events(admin, secrets.EventQuery{After: eventsBefore[len(eventsBefore)-1].ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != calls {
			t.Fatalf("%d events for %d refused calls", len(events), calls)
		}
		seen := map[secrets.Action]bool{}
		for _, e := range events {
			if e.Outcome != secrets.OutcomeDenied || e.Actor != "user:viewer" || !strings.Contains(e.Detail, `"user:viewer" may not `) || strings.Contains(e.Detail, "viewers may only list") {
				t.Fatalf("event %+v", e)
			}
			for _, es := range e.Secrets {
				if es.Fingerprint != nil || es.Version != 0 {
					t.Fatalf("a denied event holds a fingerprint or version: %+v", e)
				}
			}
			seen[e.Action] = true
			if strings.Contains(fmt.Sprint(e), value) {
				t.Fatal("an event holds the value")
			}
		}
		for action := range refused {
			if !seen[action] {
				t.Errorf("no denied event for %s", action)
			}
		}
		// Listing is allowed, and shows no value.
		list, err := m.List(viewer, "ws", nil)
		if err != nil || len(list.Secrets) != 1 || list.Secrets[0].Name != "TOKEN" {
			t.Fatalf("viewer List: %+v %v", list, err)
		}
	})
}

func TestWriteOnly(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := secrets.WithActor(context.Background(), "user:admin")
		m := newManager(t, s, newCipher(t), nil)
		const value = "write-only-canary-987"
		meta, err := m.Set(ctx, "ws", "DEPLOY_KEY", []byte(value), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true, Description: "deploy key"}})
		if err != nil || !meta.WriteOnly || meta.Version != 1 {
			t.Fatalf("Set write-only: %+v %v", meta, err)
		}
		mustSet(t, m, "ws", "PLAIN", "plain-value")
		for i, call := range []func() error{
			func() error { _, err := m.Get(ctx, "ws", "DEPLOY_KEY"); return err },
			func() error { _, err := m.GetVersion(ctx, "ws", "DEPLOY_KEY", 1); return err },
		} {
			if err := call(); !errors.Is(err, secrets.ErrWriteOnly) {
				t.Errorf("read %d of a write-only secret: %v", i, err)
			}
		}
		// It stays write-only through every write.
		mustSet(t, m, "ws", "DEPLOY_KEY", value+"-v2")
		if _, err := m.Rename(ctx, "ws", "DEPLOY_KEY", "DEPLOY", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rollback(ctx, "ws", "DEPLOY", 1, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.SetInfo(ctx, "ws", "DEPLOY", secrets.Info{Description: "readable now?"}, nil); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("clearing WriteOnly: %v", err)
		}
		if _, err := m.GetVersion(ctx, "ws", "DEPLOY", 2); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("an older version after renames: %v", err)
		}
		// Injected into jobs all the same.
		if got := envMap(t, m, "ws")["DEPLOY"]; got != value {
			t.Fatalf("EnvFor: %q", got)
		}
		// Export names it without its value.
		text, err := m.Export(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(text), value) || !strings.Contains(string(text), "# DEPLOY is write-only") ||
			!strings.Contains(string(text), "PLAIN='plain-value'") {
			t.Fatalf("export:\n%s", text)
		}
		// Its own output is still masked.
		var out bytes.Buffer
		if _, err := m.Run(ctx, "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", `echo "$DEPLOY"`}, Stdout: &out}); err != nil {
			t.Fatal(err)
		}
		if out.String() != "***\n" {
			t.Fatalf("job output %q", out.String())
		}
	})
}

func TestLifecycleInfo(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		day := 24 * time.Hour
		now := time.Now().UTC().Truncate(time.Second)
		mustSet(t, m, "ws", "EXPIRING", "a")
		mustSet(t, m, "ws", "ROTATE_SOON", "b")
		mustSet(t, m, "ws", "LATER", "c")
		mustSet(t, m, "ws", "PLAIN", "d")
		infos := map[string]secrets.Info{
			"EXPIRING":    {Description: "CI token", Expires: now.Add(2 * day)},
			"ROTATE_SOON": {RotateBy: now.Add(3 * day)},
			"LATER":       {Expires: now.Add(40 * day), RotateBy: now.Add(30 * day)},
		}
		for n, info := range infos {
			meta, err := m.SetInfo(ctx, "ws", n, info, nil)
			if err != nil || meta.Version != 1 || meta.Revision != 2 {
				t.Fatalf("SetInfo(%s): %+v %v", n, meta, err)
			}
		}
		// The value is unchanged; Set keeps the Info.
		if got := mustGet(t, m, "ws", "EXPIRING"); got != "a" {
			t.Fatal(got)
		}
		mustSet(t, m, "ws", "EXPIRING", "a2")
		for _, meta := range listAll(t, m, "ws") {
			if d := cmp.Diff(infos[meta.Name], meta.Info); d != "" {
				t.Errorf("%s info (-want +got):\n%s", meta.Name, d)
			}
		}
		due, err := m.Due(ctx, "ws", now.Add(7*day))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range due {
			names = append(names, d.Name)
		}
		if d := cmp.Diff([]string{"EXPIRING", "ROTATE_SOON"}, names); d != "" {
			t.Fatalf("due within a week (-want +got):\n%s", d)
		}
		if _, err := m.SetInfo(ctx, "ws", "MISSING", secrets.Info{}, nil); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("SetInfo of a missing secret: %v", err)
		}
		// Across workspaces.
		mustSet(t, m, "other", "OTHER_TOKEN", "e")
		if _, err := m.SetInfo(ctx, "other", "OTHER_TOKEN", secrets.Info{RotateBy: now.Add(day)}, nil); err != nil {
			t.Fatal(err)
		}
		all, err := m.DueAll(ctx, now.Add(7*day), nil)
		if err != nil {
			t.Fatal(err)
		}
		var where []string
		for _, d := range all {
			where = append(where, d.Workspace+"/"+d.Name)
		}
		if d := cmp.Diff([]string{"other/OTHER_TOKEN", "ws/EXPIRING", "ws/ROTATE_SOON"}, where); d != "" {
			t.Fatalf("DueAll (-want +got):\n%s", d)
		}
	})
}

// TestAuditTrail checks the events a sequence of operations leaves.
func TestAuditTrail(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		var hooked []secrets.Event
		var logs bytes.Buffer
		logHook := secrets.SlogEvents(slog.New(slog.NewJSONHandler(&logs, nil)))
		m := newManager(t, s, newCipher(t), &secrets.Config{AuditKey: newAuditKey(t), OnEvent: func(ctx context.Context, e secrets.Event) {
			hooked = append(hooked, e)
			logHook(ctx, e)
		}})
		ctx := secrets.WithActor(context.Background(), "user:7")
		const v1, v2 = "trail-value-one", "trail-value-two"
		mustSetCtx(t, m, ctx, "ws", "A", v1)
		mustSetCtx(t, m, ctx, "ws", "A", v2)
		if _, err := m.Get(ctx, "ws", "A"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.EnvFor(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rename(ctx, "ws", "A", "B", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "B", []byte("x"), &secrets.SetOptions{IfRevision: 1}); !errors.Is(err, secrets.ErrConflict) {
			t.Fatal(err)
		}
		if _, err := m.Set(ctx, "ws", "LD_PRELOAD", []byte("x"), nil); err == nil {
			t.Fatal("LD_PRELOAD accepted")
		}
		if _, err := m.Delete(ctx, "ws", "B", nil); err != nil {
			t.Fatal(err)
		}
		events, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			line := fmt.Sprintf("%s %s", e.Action, e.Outcome)
			for _, s := range e.Secrets {
				line += fmt.Sprintf(" %s@%d", s.Name, s.Version)
				if s.Fingerprint != nil {
					line += "#"
				}
			}
			got = append(got, line)
			if e.Actor != "user:7" || e.Time.IsZero() {
				t.Errorf("event %+v", e)
			}
		}
		want := []string{
			"set ok A@1#", "set ok A@2#", "reveal ok A@2#", "inject ok A@2#", "rename ok A@2 B@2#",
			"set failed B@0", "set failed", "delete ok B@2#", // a failed write names its secret, not a refused name
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("events (-want +got):\n%s", d)
		}
		fp1, fp2 := m.Fingerprint([]byte(v1)), m.Fingerprint([]byte(v2))
		if !bytes.Equal(events[0].Secrets[0].Fingerprint, fp1) || !bytes.Equal(events[2].Secrets[0].Fingerprint, fp2) {
			t.Fatal("fingerprints do not match the values")
		}
		if len(hooked) != len(events) {
			t.Fatalf("OnEvent saw %d events, %d recorded", len(hooked), len(events))
		}
		for _, leak := range []string{v1, v2, hex.EncodeToString([]byte(v1)), base64.StdEncoding.EncodeToString([]byte(v2))} {
			if strings.Contains(logs.String(), leak) || strings.Contains(fmt.Sprintf("%+v", events), leak) {
				t.Fatalf("the audit log shows %q", leak)
			}
		}
		if !strings.Contains(logs.String(), `"action":"rename"`) {
			t.Fatalf("slog output: %s", logs.String())
		}
	})
}

func mustSetCtx(t *testing.T, m *secrets.Manager, ctx context.Context, ws, name, value string) {
	t.Helper()
	if _, err := m.Set(ctx, ws, name, []byte(value), nil); err != nil {
		t.Fatal(err)
	}
}

// TestAuditHoldsNoValues scans the audit table of a Postgres store after
// operations on known values.
func TestAuditHoldsNoValues(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	m := newManager(t, s, newCipher(t), &secrets.Config{AuditKey: newAuditKey(t), Authorize: viewerPolicy})
	ctx := secrets.WithActor(context.Background(), "user:admin")
	viewer := secrets.WithActor(context.Background(), "user:viewer")
	values := []string{"audit-canary-alpha-1234", "audit-canary-beta-5678"}
	for i, v := range values {
		mustSetCtx(t, m, ctx, "ws", fmt.Sprint("S", i), v)
		m.Get(ctx, "ws", fmt.Sprint("S", i))
		m.Get(viewer, "ws", fmt.Sprint("S", i))
	}
	m.EnvFor(ctx, "ws")
	m.Export(ctx, "ws", nil)
	m.Import(ctx, "ws", []byte("S2=audit-canary-gamma-9012\n"), nil)
	m.Set(ctx, "ws", "BAD-NAME", []byte("audit-canary-delta"), nil)
	values = append(values, "audit-canary-gamma-9012", "audit-canary-delta", "BAD-NAME")
	var rows []string
	if err := db.Select(&rows, "SELECT to_jsonb(a)::text FROM "+pq.QuoteIdentifier(s.Schema())+".audit a"); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 8 {
		t.Fatalf("only %d audit rows", len(rows))
	}
	dump := strings.Join(rows, "\n")
	for _, v := range values {
		for _, form := range []string{v, hex.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(dump, form) {
				t.Fatalf("the audit table holds %q", form)
			}
		}
	}
	if !strings.Contains(dump, `"S0"`) || !strings.Contains(dump, "denied") {
		t.Fatalf("the scan found nothing at all:\n%s", dump)
	}
}

// TestMemoryStoreBoundsEvents: the memory store keeps the newest events,
// with IDs still increasing.
func TestMemoryStoreBoundsEvents(t *testing.T) {
	t.Parallel() // a hundred thousand events, slow under -race
	s := secrets.NewMemoryStore()
	ctx := context.Background()
	batch := make([]secrets.Event, 1000)
	for i := range batch {
		batch[i] = secrets.Event{Action: secrets.ActionList, Workspace: "ws", Outcome: secrets.OutcomeOK}
	}
	for range 105 {
		if err := s.Record(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.Events(ctx, secrets.EventQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	last, _ := s.Events(ctx, secrets.EventQuery{After: 104_999, Limit: 10})
	if len(first) != 1 || first[0].ID <= 5000 || len(last) != 1 || last[0].ID != 105_000 {
		t.Fatalf("first %v, last %v", ids(first), ids(last))
	}
	all, _ := s.Events(ctx, secrets.EventQuery{Limit: 200_000})
	if len(all) > 100_000 || len(all) < 90_000 {
		t.Fatalf("%d events kept", len(all))
	}
}

func ids(es []secrets.Event) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// The authorizer sees the name as stored, whatever spelling the caller
// used, and a workspace's deletion as an action of its own.
func TestAuthorizeSeesStoredNames(t *testing.T) {
	ctx := secrets.WithActor(context.Background(), "user:9")
	var asked []secrets.Request
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		asked = append(asked, r)
		for _, n := range r.Names {
			if n == "PROD_DB_PASSWORD" && r.Action != secrets.ActionInject && r.Actor == "user:9" {
				return errors.New("PROD_DB_PASSWORD is for jobs only")
			}
		}
		if r.Action == secrets.ActionDeleteWorkspace {
			return errors.New("workspaces are deleted by the platform")
		}
		return nil
	}})
	mustSet(t, m, "ws", "PROD_DB_PASSWORD", "hunter2hunter2")
	for what, call := range map[string]func() error{
		"Get":        func() error { _, err := m.Get(ctx, "ws", "prod_db_password"); return err },
		"GetVersion": func() error { _, err := m.GetVersion(ctx, "ws", "Prod_Db_Password", 1); return err },
		"Set":        func() error { _, err := m.Set(ctx, "ws", "prod_DB_password", []byte("x"), nil); return err },
		"SetInfo":    func() error { _, err := m.SetInfo(ctx, "ws", "prod_db_PASSWORD", secrets.Info{}, nil); return err },
		"Rename":     func() error { _, err := m.Rename(ctx, "ws", "prod_db_password", "X", nil); return err },
		"Delete":     func() error { _, err := m.Delete(ctx, "ws", "PROD_db_password", nil); return err },
		"Destroy":    func() error { return m.Destroy(ctx, "ws", "prod_db_password", nil) },
		"Meta":       func() error { _, err := m.Meta(ctx, "ws", "prod_db_password"); return err },
		"Import":     func() error { _, err := m.Import(ctx, "ws", []byte("Prod_Db_Password=x\n"), nil); return err },
		"Diff":       func() error { _, err := m.Diff(ctx, "ws", []byte("Prod_Db_Password=x\n"), nil); return err },
		"Rollback":   func() error { _, err := m.Rollback(ctx, "ws", "prod_db_password", 1, nil); return err },
		"Undelete":   func() error { _, err := m.Undelete(ctx, "ws", "prod_db_password", nil); return err },
		"Versions":   func() error { _, err := m.Versions(ctx, "ws", "prod_db_password"); return err },
	} {
		if err := call(); !errors.Is(err, secrets.ErrForbidden) {
			t.Errorf("%s under another spelling: %v, want ErrForbidden", what, err)
		}
	}
	if err := m.DeleteWorkspace(ctx, "ws"); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatalf("DeleteWorkspace: %v", err)
	}
	for _, r := range asked {
		if r.Action == secrets.ActionDeleteWorkspace && len(r.Names) != 0 {
			t.Fatalf("DeleteWorkspace asked with names %v", r.Names)
		}
	}
}

// Allowed asks the Manager's hook as the caller, on the names given, and
// records nothing; Limits are the Manager's, defaults applied.
func TestAllowedAndLimits(t *testing.T) {
	ctx := context.Background()
	var asked []secrets.Request
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		MaxEnvBytes: 4096,
		Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Action == secrets.ActionAudit {
				return nil // the test's own look at the audit trail
			}
			asked = append(asked, r)
			if r.Actor != "user:admin" {
				return errors.New("admins only")
			}
			return nil
		},
	})
	if err := m.Allowed(secrets.WithActor(ctx, "user:admin"), "ws", secrets.ActionReveal, "TOKEN"); err != nil {
		t.Fatal(err)
	}
	err := m.Allowed(secrets.WithActor(ctx, "user:eve"), "ws", secrets.ActionSet)
	// The hook's own text is not the caller's to read (see Refusal).
	if !errors.Is(err, secrets.ErrForbidden) || strings.Contains(err.Error(), "admins only") {
		t.Fatalf("a refusal: %v", err)
	}
	want := []secrets.Request{{Actor: "user:admin", Action: secrets.ActionReveal, Workspace: "ws", Names: []string{"TOKEN"}},
		{Actor: "user:eve", Action: secrets.ActionSet, Workspace: "ws"}}
	if d := cmp.Diff(want, asked); d != "" {
		t.Fatalf("the hook was asked (-want +got):\n%s", d)
	}
	// An invalid workspace or name (a value pasted into a name field) is
	// refused as every other call refuses it, unquoted, the hook not asked.
	const pasted = "sk_live_MARKER value"
	for _, c := range []struct {
		ws, name string
		want     error
	}{
		{"ws", pasted, secrets.ErrInvalidName},
		{"ws", "A" + strings.Repeat("B", 300), secrets.ErrInvalidName},
		{"ws", "TOKEN@", secrets.ErrInvalidScope},
		{"ws", "TOKEN@*", secrets.ErrInvalidScope},
		{"", "TOKEN", secrets.ErrInvalidWorkspace},
	} {
		err := m.Allowed(secrets.WithActor(ctx, "user:admin"), c.ws, secrets.ActionReveal, "TOKEN", c.name)
		if !errors.Is(err, c.want) || strings.Contains(err.Error(), "MARKER") || strings.Contains(err.Error(), "BBBB") {
			t.Fatalf("Allowed(%q, %.20q): %v, want %v, the name not quoted", c.ws, c.name, err, c.want)
		}
	}
	if d := cmp.Diff(want, asked); d != "" {
		t.Fatalf("the hook was asked about invalid input (-want +got):\n%s", d)
	}
	if es := mustEvents(t, m); len(es) != 0 {
		t.Fatalf("Allowed recorded %+v", es)
	}
	if got := m.Limits(); got != (secrets.Limits{MaxNameLength: 256, MaxEnvString: secrets.MaxEnvString, MaxEnvBytes: 4096, KeepVersions: 10, MaxSecrets: 10_000, MaxDotenvBytes: 4*4096 + 1365*43 + 256<<10}) {
		t.Fatalf("limits %+v", got)
	}
	defaults := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	if got := defaults.Limits(); got != (secrets.Limits{MaxNameLength: 256, MaxEnvString: 128 << 10, MaxEnvBytes: 1 << 20, KeepVersions: 10, MaxSecrets: secrets.DefaultMaxSecrets, MaxDotenvBytes: 4_886_448}) {
		t.Fatalf("default limits %+v", got)
	}
}
