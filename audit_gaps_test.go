package secrets_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// recordRefusing fails every Store.Record while fail is set: a read's
// event cannot be recorded. It keeps the Store's ledger (RestoreAt).
type recordRefusing struct {
	secrets.Store
	ledger secrets.LedgerStore
	fail   atomic.Bool
}

func (s *recordRefusing) Record(ctx context.Context, events []secrets.Event) error {
	if s.fail.Load() {
		return errors.New("the audit table is away")
	}
	return s.Store.Record(ctx, events)
}

func (s *recordRefusing) LedgerAt(ctx context.Context, ws string, at time.Time) ([]secrets.LedgerEntry, error) {
	return s.ledger.LedgerAt(ctx, ws, at)
}

// TestAuditFailClosedPreviews: in AuditFailClosed mode (the default),
// Backup, Diff, PreviewRestore, PreviewRestoreAt, Export and GetVersion
// whose event cannot be recorded fail with ErrAudit and return nothing:
// no document, no difference, no plan, no value (the README's table of
// audit modes). Each returns
// its result once the event can be recorded again.
func TestAuditFailClosedPreviews(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		rs := &recordRefusing{Store: s, ledger: s.(secrets.LedgerStore)}
		var lost []secrets.Action
		m := newManager(t, rs, newCipher(t), &secrets.Config{
			OnAuditError: func(_ context.Context, es []secrets.Event, _ error) {
				for _, e := range es {
					lost = append(lost, e.Action)
				}
			}})
		mustSet(t, m, "ws", "A", "value-a1")
		mustSet(t, m, "ws", "B", "value-b1")
		mustSet(t, m, "src", "A", "value-a2")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		at := time.Now()
		time.Sleep(20 * time.Millisecond)
		mustSet(t, m, "ws", "B", "value-b2")

		calls := func() (got map[string]any, errs map[string]error) {
			got, errs = map[string]any{}, map[string]error{}
			got["Backup"], errs["Backup"] = m.Backup(ctx, "ws", nil)
			got["Diff"], errs["Diff"] = m.Diff(ctx, "ws", []byte("A=value-a3\n"), nil)
			got["PreviewRestore"], errs["PreviewRestore"] = m.PreviewRestore(ctx, "ws", doc, nil)
			got["PreviewRestoreAt"], errs["PreviewRestoreAt"] = m.PreviewRestoreAt(ctx, "ws", at)
			got["Export"], errs["Export"] = m.Export(ctx, "ws", nil)
			got["GetVersion"], errs["GetVersion"] = m.GetVersion(ctx, "ws", "A", 1)
			// A job's event is recorded by Postgres in its read's statement,
			// not through Record: TestAuditFailure fails that table.
			return got, errs
		}
		rs.fail.Store(true)
		got, errs := calls()
		for name, err := range errs {
			if !errors.Is(err, secrets.ErrAudit) {
				t.Errorf("%s without its audit event: %v", name, err)
			}
			if v := reflect.ValueOf(got[name]); !v.IsZero() {
				t.Errorf("%s without its audit event returned a %T", name, got[name])
			}
			if err != nil && strings.Contains(err.Error(), "value-") {
				t.Errorf("%s: the error shows a value: %v", name, err)
			}
		}
		if len(lost) < len(errs) {
			t.Errorf("OnAuditError heard of %v", lost)
		}

		// The same calls with the event recorded: each has a result (the
		// zero values above are no accident of the data).
		rs.fail.Store(false)
		got, errs = calls()
		for name, err := range errs {
			if err != nil || reflect.ValueOf(got[name]).IsZero() {
				t.Errorf("%s with its audit event: a zero %T, %v", name, got[name], err)
			}
		}
	})
}

// cancelingRecord cancels a caller's context (cancel, when set) as its
// read's event is written, then records it: the caller's ctx is done
// before its event is durable.
type cancelingRecord struct {
	secrets.Store
	cancel atomic.Pointer[context.CancelFunc]
}

func (s *cancelingRecord) Record(ctx context.Context, events []secrets.Event) error {
	if f := s.cancel.Load(); f != nil {
		(*f)()
	}
	return s.Store.Record(ctx, events)
}

// TestReadCanceledWhileRecorded: a read whose caller's context ends while
// its event is written (by the caller itself, leading the batch) gets
// ctx's error and no value, in every mode that records reads, though the
// event is recorded.
func TestReadCanceledWhileRecorded(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		cr := &cancelingRecord{Store: s}
		c := newCipher(t)
		mustSet(t, newManager(t, s, c, nil), "ws", "TOKEN", "tok-value")
		for name, mode := range map[string]secrets.AuditReads{"fail-closed": secrets.AuditFailClosed, "best-effort": secrets.AuditBestEffort, "relaxed": secrets.AuditRelaxed} {
			m := newManager(t, cr, c, &secrets.Config{AuditReads: mode})
			ctx, cancel := context.WithCancel(context.Background())
			cr.cancel.Store(&cancel)
			sec, err := m.Get(ctx, "ws", "TOKEN")
			cr.cancel.Store(nil)
			cancel()
			if !errors.Is(err, context.Canceled) || sec.Value.Len() != 0 {
				t.Errorf("%s: a Get whose caller left while its event was written: %v, value of %d bytes", name, err, sec.Value.Len())
			}
		}
	})
}

// TestRestorePreviewGrowsPastBudget: a restore that adds no secret but
// grows an existing one past Config.MaxEnvBytes, with another secret
// that the restore keeps, is refused by the preview (ErrTooLarge), as the
// store would refuse its growing write.
func TestRestorePreviewGrowsPastBudget(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: 64 << 10})
		mustSet(t, m, "dst", "A", "small")
		mustSet(t, m, "dst", "B", strings.Repeat("b", 30<<10))
		mustSet(t, m, "src", "A", strings.Repeat("a", 40<<10))
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		if plan, err := m.PreviewRestore(ctx, "dst", doc, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("a restore that grows A to 40 KiB beside B's 30 KiB, budget 64 KiB: %+v, %v", plan, err)
		}
		// Within the budget, the same restore is planned.
		mustSet(t, m, "dst", "B", "small")
		if plan, err := m.PreviewRestore(ctx, "dst", doc, nil); err != nil || len(plan.Changed) != 1 {
			t.Fatalf("the restore within the budget: %+v, %v", plan, err)
		}
	})
}

// TestExpandedAuditCanceledBestEffort: in AuditBestEffort mode, a job
// whose expanded values' fingerprints cannot be recorded because its
// caller's context ended meanwhile fails with ctx's error and gets
// nothing (best effort goes on only for a failure of the audit itself).
func TestExpandedAuditCanceledBestEffort(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		c, key := newCipher(t), newAuditKey(t)
		setup := newManager(t, s, c, &secrets.Config{AuditKey: key})
		mustSet(t, setup, "ws", "PW", "s3cretpassw0rd")
		setExpand(t, setup, "ws", "URL", "postgres://app:${PW}@db/app")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var asked atomic.Int32
		best := newManager(t, s, c, &secrets.Config{AuditKey: key, AuditReads: secrets.AuditBestEffort,
			// The second question, after the read (its event recorded)
			// and before the fingerprints are: the caller leaves.
			Authorize: func(_ context.Context, r secrets.Request) error {
				if len(r.Ingredients) > 0 {
					asked.Add(1)
					cancel()
				}
				return nil
			}})
		env, err := best.EnvFor(ctx, "ws")
		if asked.Load() != 1 {
			t.Fatalf("Authorize was asked about ingredients %d times", asked.Load())
		}
		if !errors.Is(err, context.Canceled) || env != nil {
			t.Fatalf("a best-effort job whose caller left before its fingerprints were recorded: %v, %d values", err, len(env))
		}
		if strings.Contains(err.Error(), "s3cretpassw0rd") {
			t.Fatalf("the error shows a value: %v", err)
		}
	})
}

// A key change and a purge record their event right after the change, not
// with it: one whose event cannot be recorded returns an error matching
// ErrAudit, and the change stays made (OnAuditError gets the event). A
// chaos trial had SetKeyEnabled return nil, its key enabled and no event
// anywhere.
func TestKeyChangeUnrecorded(t *testing.T) {
	ctx := context.Background()
	rs := &memRecordRefusing{MemoryStore: secrets.NewMemoryStore()}
	var lost []string
	m := newManager(t, rs, newCipher(t), &secrets.Config{KeepFormerKeys: 1,
		OnAuditError: func(_ context.Context, es []secrets.Event, _ error) {
			for _, e := range es {
				if e.Action != secrets.ActionList {
					lost = append(lost, string(e.Action)+" "+e.Detail)
				}
			}
		}})
	mustSet(t, m, "ws", "A", "value-a1")
	first, err := m.RotateKey(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.fail.Store(true)
	second, err := m.RotateKey(ctx, "ws", nil)
	if !errors.Is(err, secrets.ErrAudit) || second.Primary == first.Primary || second.Primary == 0 {
		t.Fatalf("RotateKey without its event: %+v, %v; want ErrAudit and a new primary", second, err)
	}
	keys, _ := m.Keys(ctx, "ws")
	var off uint32
	for _, k := range keys {
		if k.Primary != (k.ID == second.Primary) {
			t.Fatalf("keys after the rotation %+v: the new primary is not %d", keys, second.Primary)
		}
		if !k.Enabled {
			off = k.ID
		}
	}
	if off == 0 {
		t.Fatalf("no disabled key to enable: %+v", keys)
	}
	if err := m.SetKeyEnabled(ctx, "ws", off, true); !errors.Is(err, secrets.ErrAudit) {
		t.Fatalf("SetKeyEnabled without its event: %v, want ErrAudit", err)
	}
	keys, _ = m.Keys(ctx, "ws")
	for _, k := range keys {
		if k.ID == off && !k.Enabled {
			t.Fatalf("the key was not enabled: %+v", keys)
		}
	}
	if _, err := m.Purge(ctx); !errors.Is(err, secrets.ErrAudit) {
		t.Fatalf("Purge without its event: %v, want ErrAudit", err)
	}
	if len(lost) != 3 {
		t.Fatalf("OnAuditError got %q", lost)
	}
	rs.fail.Store(false)
	if err := m.SetKeyEnabled(ctx, "ws", off, false); err != nil {
		t.Fatalf("with the audit back: %v", err)
	}
}

// memRecordRefusing is recordRefusing over the memory store, with all its
// methods (key rotation's among them).
type memRecordRefusing struct {
	*secrets.MemoryStore
	fail atomic.Bool
}

func (s *memRecordRefusing) Record(ctx context.Context, events []secrets.Event) error {
	if s.fail.Load() {
		return errors.New("the audit table is away")
	}
	return s.MemoryStore.Record(ctx, events)
}
