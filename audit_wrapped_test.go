package secrets_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// TestKeyChangesUnrecorded: the key changes TestKeyChangeUnrecorded does
// not make (Destroy's rotation, Rewrap, RetireMasterKey) return an error
// matching ErrAudit, the change made, when their event cannot be
// recorded, and OnAuditError gets the event.
func TestKeyChangesUnrecorded(t *testing.T) {
	ctx := context.Background()
	rs := &memRecordRefusing{MemoryStore: secrets.NewMemoryStore()}
	var lost []secrets.Action
	cfg := func(c *secrets.Config) *secrets.Config {
		c.OnAuditError = func(_ context.Context, es []secrets.Event, _ error) {
			for _, e := range es {
				lost = append(lost, e.Action)
			}
		}
		return c
	}
	oldKey, newKey := newCipher(t), newCipher(t)
	m := newManager(t, rs, oldKey, cfg(&secrets.Config{DestroyRotates: true}))
	mustSet(t, m, "ws", "A", "value-a1")
	mustSet(t, m, "ws", "B", "value-b1")
	before := primaryOf(t, m, "ws")

	rs.fail.Store(true)
	if err := m.Destroy(ctx, "ws", "B", nil); !errors.Is(err, secrets.ErrAudit) {
		t.Errorf("Destroy with its rotation unrecorded: %v, want ErrAudit", err)
	}
	if _, err := m.Meta(ctx, "ws", "B"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("B after Destroy: %v, want ErrNotFound", err)
	}
	if after := primaryOf(t, m, "ws"); after == before {
		t.Errorf("Destroy did not rotate: the primary key is still %d", after)
	}

	rs.fail.Store(false)
	moving := newManager(t, rs, newKey, cfg(&secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true}))
	rs.fail.Store(true)
	res, err := moving.Rewrap(ctx, nil)
	if !errors.Is(err, secrets.ErrAudit) || res.Rewrapped != 1 {
		t.Errorf("Rewrap unrecorded: %+v, %v; want ErrAudit and the workspace's key moved", res, err)
	}
	if err := moving.RetireMasterKey(ctx, oldKey.ID()); !errors.Is(err, secrets.ErrAudit) {
		t.Errorf("RetireMasterKey unrecorded: %v, want ErrAudit", err)
	}
	rs.fail.Store(false)
	// Retired: a Manager still writing with the old key is refused.
	stale := newManager(t, rs, oldKey, nil)
	var mk *secrets.MasterKeyError
	if _, err := stale.Set(ctx, "other", "C", []byte("value-c1"), nil); !errors.As(err, &mk) || !mk.Retired {
		t.Errorf("a write with the retired key: %v, want a *MasterKeyError, Retired", err)
	}
	// Destroy's rotation, Rewrap and RetireMasterKey, all ActionRotate
	// (and the list events of the Keys calls above).
	rotations := 0
	for _, a := range lost {
		if a == secrets.ActionRotate {
			rotations++
		}
	}
	if rotations != 3 {
		t.Errorf("OnAuditError got %v: %d rotate events, want 3", lost, rotations)
	}
}

// countingRecorder is a host's store that wraps the memory store and
// counts the events that go through its own Record.
type countingRecorder struct {
	*secrets.MemoryStore
	fail     atomic.Bool
	recorded atomic.Int64
}

func (s *countingRecorder) Record(ctx context.Context, events []secrets.Event) error {
	if s.fail.Load() {
		return errors.New("the audit sink is away")
	}
	s.recorded.Add(int64(len(events)))
	return s.MemoryStore.Record(ctx, events)
}

// TestRelaxedJobThroughHostRecord: under AuditRelaxed, the event of a job
// with parents goes through the Record of a host's store that embeds this
// package's memory store (not past it, through the embedded store's own
// methods), and one that cannot be recorded is told to OnAuditError while
// the job gets its values, as AuditBestEffort says.
func TestRelaxedJobThroughHostRecord(t *testing.T) {
	ctx := context.Background()
	s := &countingRecorder{MemoryStore: secrets.NewMemoryStore()}
	var told []secrets.Event
	m := newManager(t, s, newCipher(t), &secrets.Config{AuditReads: secrets.AuditRelaxed,
		Parents: func(_ context.Context, ws string) ([]string, error) {
			if ws == "ws" {
				return []string{"group"}, nil
			}
			return nil, nil
		},
		OnAuditError: func(_ context.Context, es []secrets.Event, _ error) { told = append(told, es...) }})
	mustSet(t, m, "group", "A", "value-a-1")

	before := s.recorded.Load()
	env, err := m.EnvFor(ctx, "ws")
	if err != nil || len(env) != 1 {
		t.Fatalf("EnvFor: %q, %v", env, err)
	}
	if got := s.recorded.Load() - before; got != 1 {
		t.Errorf("the host's Record got %d events of the job, want 1", got)
	}

	s.fail.Store(true)
	env, err = m.EnvFor(ctx, "ws")
	if err != nil || len(env) != 1 {
		t.Fatalf("EnvFor with the host's Record failing: %q, %v; want the values (AuditRelaxed)", env, err)
	}
	if len(told) != 1 || told[0].Action != secrets.ActionInject {
		t.Fatalf("OnAuditError got %+v, want the job's inject event", told)
	}
	s.fail.Store(false)
	evs, err := s.MemoryStore.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject})
	if err != nil || len(evs) != 1 {
		t.Errorf("inject events in the store: %d, %v; want the first job's only (the second was not recorded past the host's Record)", len(evs), err)
	}
}
