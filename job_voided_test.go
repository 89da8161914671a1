package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestJobVoided: a job whose read recorded its inject event but that got
// nothing after all (its files could not be written, its program not
// started) is recorded so: a failed inject event names the read's event,
// which stays; a job that ran and failed is not voided.
func TestJobVoided(t *testing.T) {
	sh := needProgram(t, "sh")
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), nil)
		mustSet(t, m, "ws", "TOKEN", "v")
		if _, err := m.Set(ctx, "ws", "CERT", []byte("-----CERT-----"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(t.TempDir(), "no", "such", "folder")
		voids := func() []secrets.Event {
			t.Helper()
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		check := func(what string, call func() error) {
			t.Helper()
			before := len(voids())
			if err := call(); err == nil {
				t.Fatalf("%s: no error", what)
			}
			evs := voids()[before:]
			if len(evs) != 2 || evs[0].Outcome != secrets.OutcomeOK || evs[1].Outcome != secrets.OutcomeFailed ||
				!strings.Contains(evs[1].Detail, fmt.Sprintf("inject event %d, recorded with the read", evs[0].ID)) || !strings.Contains(evs[1].Detail, "it got nothing") {
				t.Fatalf("%s: events %s", what, describeEvents(evs))
			}
		}
		check("Prepare, files in a folder that does not exist", func() error {
			_, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: missing})
			return err
		})
		check("Run of a program that does not exist", func() error {
			_, err := m.Run(ctx, "ws", secrets.Job{Path: filepath.Join(missing, "prog"), Stdout: io.Discard})
			return err
		})
		// A job that ran got its secrets, whatever its exit status.
		before := len(voids())
		res, err := m.Run(ctx, "ws", secrets.Job{Path: sh, Args: []string{"-c", "exit 3"}, Stdout: io.Discard})
		if err != nil || res.ExitCode != 3 {
			t.Fatalf("a job that failed: %+v, %v", res, err)
		}
		if evs := voids()[before:]; len(evs) != 1 || evs[0].Outcome != secrets.OutcomeOK {
			t.Fatalf("a job that ran: events %s", describeEvents(evs))
		}
	})
}

// heldRecord holds each Record until released, once it has said that it
// started.
type heldRecord struct {
	secrets.Store
	started, release chan struct{}
}

func (s heldRecord) Record(ctx context.Context, events []secrets.Event) error {
	s.started <- struct{}{}
	<-s.release
	return s.Store.Record(context.WithoutCancel(ctx), events)
}

// TestJobVoidedWhenCallerGone: a job with a parent whose caller's context
// ends while its event's batch is written gets nothing; its event,
// recorded with the batch, is voided as any other's, whether the caller
// wrote the batch or waited for another's (a race trial's finding).
func TestJobVoidedWhenCallerGone(t *testing.T) {
	ctx := context.Background()
	held := heldRecord{Store: secrets.NewMemoryStore(), started: make(chan struct{}, 8), release: make(chan struct{})}
	m := newManager(t, held, newCipher(t), &secrets.Config{Parents: func(_ context.Context, ws string) ([]string, error) {
		return []string{"group:acme"}, nil
	}})
	mustSet(t, m, "ws", "TOKEN", "v")
	job := func(ctx context.Context, actor string) chan error {
		done := make(chan error, 1)
		go func() {
			p, err := m.Prepare(secrets.WithActor(ctx, actor), "ws", &secrets.PrepareOptions{Base: []string{}})
			if err == nil {
				p.Close()
			}
			done <- err
		}()
		return done
	}
	voided := func(actor string) {
		t.Helper()
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Actor: actor, Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Outcome != secrets.OutcomeOK || evs[1].Outcome != secrets.OutcomeFailed ||
			!strings.Contains(evs[1].Detail, fmt.Sprintf("inject event %d, recorded with the read", evs[0].ID)) {
			t.Fatalf("events of %s: %s", actor, describeEvents(evs))
		}
	}
	// The caller writes its own batch, and its context ends meanwhile.
	leadCtx, cancelLead := context.WithCancel(ctx)
	lead := job(leadCtx, "job:lead")
	<-held.started
	cancelLead()
	held.release <- struct{}{}
	<-held.started // the void
	held.release <- struct{}{}
	if err := <-lead; err == nil {
		t.Fatal("a job whose context ended while its event was written got its secrets")
	}
	voided("job:lead")

	// Two callers in one batch, the next after a held one, both of
	// whose contexts end while it is written: one writes the batch, the
	// other waits for it and leaves; both are voided (the one that left by
	// the writer's flush).
	first := job(ctx, "job:first")
	<-held.started
	bothCtx, cancelBoth := context.WithCancel(ctx)
	a, b := job(bothCtx, "job:a"), job(bothCtx, "job:b")
	waitFor(t, "job:a and job:b to queue", func() bool { return secrets.QueuedReads(m) == 2 })
	held.release <- struct{}{} // the first batch
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-held.started // the next batch: job:a's and job:b's events
	cancelBoth()
	// The one that waits leaves at once; the writer cannot until the
	// batch is written.
	var errA, errB error
	var writer chan error
	select {
	case errA = <-a:
		writer = b
	case errB = <-b:
		writer = a
	}
	held.release <- struct{}{}
	for range 2 { // the voids: the one that left, by the writer's flush; the writer's
		<-held.started
		held.release <- struct{}{}
	}
	if writer == a {
		errA = <-a
	} else {
		errB = <-b
	}
	if errA == nil || errB == nil {
		t.Fatalf("jobs whose contexts ended while their events were written: %v, %v", errA, errB)
	}
	close(held.release)
	voided("job:a")
	voided("job:b")
}

// TestJobVoidedByDecryptFailure: a read that recorded its inject event in
// its own statement, then could not decrypt a value (a ciphertext swapped
// in the database), voids that event as a job that could not start does:
// a failed event names it (a CLI trial: an "inject ok" event stood for a
// job that got nothing, beside a failed one that did not say so).
func TestJobVoidedByDecryptFailure(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ts := &tamperStore{Store: b.replica(t)}
		m := newManager(t, ts, newCipher(t), nil)
		mustSet(t, m, "ws", "TOKEN", "token-value")
		ts.version = func(v *secrets.Version) { v.Ciphertext[len(v.Ciphertext)-1] ^= 1 }
		if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("EnvFor of a tampered value: %v", err)
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Outcome != secrets.OutcomeOK || evs[1].Outcome != secrets.OutcomeFailed ||
			!strings.Contains(evs[1].Detail, fmt.Sprintf("inject event %d, recorded with the read", evs[0].ID)) || !strings.Contains(evs[1].Detail, "it got nothing") {
			t.Fatalf("events %s", describeEvents(evs))
		}
	})
}
