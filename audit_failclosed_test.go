package secrets_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestAuditFailure: on Postgres, with the audit table gone, a write is
// rolled back, a fail-closed read (the default) returns nothing, and a best-effort read
// goes on and reports the failure.
func TestAuditFailure(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	ctx := context.Background()
	var lost []secrets.Event
	best := newManager(t, s, c, &secrets.Config{AuditReads: secrets.AuditBestEffort,
		OnAuditError: func(_ context.Context, es []secrets.Event, err error) { lost = append(lost, es...) }})
	var closedLost []secrets.Event
	// The default mode is AuditFailClosed.
	closed := newManager(t, s, c, &secrets.Config{
		OnAuditError: func(_ context.Context, es []secrets.Event, err error) { closedLost = append(closedLost, es...) }})
	mustSet(t, best, "ws", "TOKEN", "before")
	before := storeState(t, s, "ws")
	sch := pq.QuoteIdentifier(s.Schema())
	if _, err := db.Exec("ALTER TABLE " + sch + ".audit RENAME TO audit_away"); err != nil {
		t.Fatal(err)
	}
	restore := func() { db.Exec("ALTER TABLE " + sch + ".audit_away RENAME TO audit") }
	defer restore()

	if _, err := best.Set(ctx, "ws", "TOKEN", []byte("after"), nil); err == nil {
		t.Fatal("a write without its audit record succeeded")
	}
	if _, err := best.Set(ctx, "ws", "NEW", []byte("x"), nil); err == nil {
		t.Fatal("a create without its audit record succeeded")
	}
	if _, err := best.Import(ctx, "ws", []byte("A=1\nB=2\n"), nil); err == nil {
		t.Fatal("an import without its audit record succeeded")
	}
	if _, err := best.Delete(ctx, "ws", "TOKEN", nil); err == nil {
		t.Fatal("a delete without its audit record succeeded")
	}
	if _, err := best.SetInfo(ctx, "ws", "TOKEN", secrets.Info{Description: "x"}, nil); err == nil {
		t.Fatal("a metadata change without its audit record succeeded")
	}
	if after := storeState(t, s, "ws"); after != before {
		t.Fatalf("writes whose audit failed changed the store:\n%s\n%s", before, after)
	}
	sec, err := closed.Get(ctx, "ws", "TOKEN")
	if !errors.Is(err, secrets.ErrAudit) || sec.Value.Len() != 0 {
		t.Fatalf("fail-closed Get: %v", err)
	}
	if env, err := closed.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrAudit) || env != nil {
		t.Fatalf("fail-closed EnvFor: %v %v", env, err)
	}
	// A listing reveals no value: fail-closed lets it go on and tells
	// OnAuditError (the README's table of modes).
	if l, err := closed.List(ctx, "ws", nil); err != nil || len(l.Secrets) != 1 {
		t.Fatalf("fail-closed List: %v %v", l, err)
	}
	if !slices.ContainsFunc(closedLost, func(e secrets.Event) bool { return e.Action == secrets.ActionList }) {
		t.Fatalf("fail-closed List: OnAuditError got %+v", closedLost)
	}
	if got := mustGet(t, best, "ws", "TOKEN"); got != "before" {
		t.Fatalf("best-effort Get: %q", got)
	}
	if len(lost) == 0 {
		t.Fatal("OnAuditError was not called")
	}
	// A best-effort job whose event cannot be recorded: OnAuditError hears
	// of it once, with the event that says what the job got (a trial
	// found a first call with an empty event before the plain read).
	lost = nil
	if env, err := best.EnvFor(ctx, "ws"); err != nil || len(env) != 1 {
		t.Fatalf("best-effort EnvFor: %v %v", env, err)
	}
	if len(lost) != 1 || lost[0].Action != secrets.ActionInject || len(lost[0].Secrets) != 1 || lost[0].Secrets[0].Name != "TOKEN" || lost[0].State == 0 {
		t.Fatalf("OnAuditError got %+v for one job", lost)
	}
	restore()
	mustSet(t, best, "ws", "TOKEN", "after")
}

// envFailing fails every Store.Env with err while fail is set.
type envFailing struct {
	secrets.Store
	err  error
	fail atomic.Bool
}

func (s *envFailing) Env(ctx context.Context, ws string, q secrets.EnvQuery) (secrets.Snapshot, error) {
	if s.fail.Load() {
		return secrets.Snapshot{}, s.err
	}
	return s.Store.Env(ctx, ws, q)
}

// TestReadFailureIsNotAuditFailure: in the default mode (AuditFailClosed)
// a job whose read fails gets the read's error, not ErrAudit; a job whose
// read works but whose event cannot be recorded gets ErrAudit
// (TestAuditFailure), and nothing either way.
func TestReadFailureIsNotAuditFailure(t *testing.T) {
	down := errors.New("the database is down")
	s := &envFailing{Store: secrets.NewMemoryStore(), err: down}
	m := newManager(t, s, newCipher(t), nil)
	mustSet(t, m, "ws", "A", "1")
	s.fail.Store(true)
	env, err := m.EnvFor(context.Background(), "ws")
	if !errors.Is(err, down) || errors.Is(err, secrets.ErrAudit) || env != nil {
		t.Fatalf("EnvFor with the store down: %d variables, %v; want none and the store's error, not ErrAudit", len(env), err)
	}
}
