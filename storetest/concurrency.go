package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

var concurrencyTests = []test{
	{"ConcurrentCheckAndSet", testConcurrentCheckAndSet},
	{"ConcurrentCreate", testConcurrentCreate},
	{"ConcurrentReadsSeeWholeWrites", testConcurrentSnapshot},
}

// Of writers racing from the same revision, exactly one wins, whatever the
// kind of write.
func testConcurrentCheckAndSet(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	e := put(t, s, create("ws", "id1", "A"))
	for round := range 5 {
		writes := []secrets.Write{newValue(e), newInfo(e, "edited"), {Entry: next(e), Expect: e.Revision, Destroy: round == 4}}
		if round != 4 {
			del := next(e)
			del.Deleted = t0
			writes[2] = secrets.Write{Entry: del, Expect: e.Revision}
		}
		want := e.Revision + 1
		var wins atomic.Int32
		var won atomic.Value
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := writes[i%len(writes)]
				err := s.Put(ctx, w)
				switch {
				case err == nil:
					wins.Add(1)
					won.Store(w)
				case errors.Is(err, secrets.ErrNotFound) && round == 4:
					// Evaluated after a destroy won.
				case !errors.Is(err, secrets.ErrConflict):
					t.Errorf("loser: %v, want ErrConflict", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d winners", round, wins.Load())
		}
		w := won.Load().(secrets.Write)
		if w.Destroy {
			return
		}
		e = lookup(t, s, "ws", "A")
		if e.Revision != want {
			t.Fatalf("round %d: revision %d, want %d", round, e.Revision, want)
		}
		if !e.Deleted.IsZero() {
			undel := next(e)
			undel.Deleted, undel.DeletedBy = time.Time{}, ""
			e = put(t, s, secrets.Write{Entry: undel, Expect: e.Revision})
			e = lookup(t, s, "ws", "A")
		}
	}
}

// Creates of distinct names, racing, all succeed; creates of one name
// (ignoring case), racing, have exactly one winner.
func testConcurrentCreate(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var wins atomic.Int32
	for i := range 16 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.Put(ctx, create("ws", fmt.Sprint("d", i), fmt.Sprint("DISTINCT_", i))); err != nil {
				t.Errorf("create DISTINCT_%d: %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			name := "SAME"
			if i%2 == 1 {
				name = "same"
			}
			err := s.Put(ctx, create("ws", fmt.Sprint("s", i), name))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, secrets.ErrExists) && !errors.Is(err, secrets.ErrConflict):
				t.Errorf("racing create: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d creates of one name won", wins.Load())
	}
	if n := len(env(t, s, "ws", secrets.EnvQuery{}).Entries); n != 17 {
		t.Fatalf("%d secrets after the races, want 17", n)
	}
}

// Readers see a batch entirely or not at all.
func testConcurrentSnapshot(t *testing.T, s secrets.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := put(t, s, create("ws", "id1", "A"))
	b := put(t, s, create("ws", "id2", "B"))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			snap, err := s.Env(ctx, "ws", secrets.EnvQuery{})
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("Env: %v", err)
				}
				return
			}
			if len(snap.Entries) != 2 || snap.Entries[0].Version != snap.Entries[1].Version ||
				!bytes.Equal(snap.Entries[0].Ciphertext, ct("ws", "id1", "A", snap.Entries[0].Version, "")) {
				t.Errorf("a read saw half a batch: %+v", nonNil(snap.Entries))
				return
			}
		}
	}()
	for range 100 {
		wa, wb := newValue(a), newValue(b)
		if err := s.Put(context.Background(), wa, wb); err != nil {
			t.Fatal(err)
		}
		a, b = wa.Entry, wb.Entry
	}
	cancel()
	wg.Wait()
}
