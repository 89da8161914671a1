package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// listCountingStore counts the secrets List returns, live and deleted.
type listCountingStore struct {
	secrets.Store
	mu            sync.Mutex
	live, deleted int
}

func (s *listCountingStore) List(ctx context.Context, ws string, q secrets.ListQuery) ([]secrets.Entry, error) {
	es, err := s.Store.List(ctx, ws, q)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		if e.Deleted.IsZero() {
			s.live++
		} else {
			s.deleted++
		}
	}
	return es, err
}

// read returns what List returned since the last call.
func (s *listCountingStore) read() (live, deleted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live, deleted = s.live, s.deleted
	s.live, s.deleted = 0, 0
	return live, deleted
}

// A one-line Diff, Apply or Import reads the secrets its text names, not
// the workspace's others, live or deleted (the DoS trial: every preview
// read each secret the workspace ever had, until Purge); with Remove, it
// reads the live secrets of its scope too, never the deleted ones.
func TestBulkReadsTheTextsNames(t *testing.T) {
	eachStore(t, func(t *testing.T, st secrets.Store) {
		ctx := secrets.WithActor(context.Background(), "user:editor")
		s := &listCountingStore{Store: st}
		m := newManager(t, s, newCipher(t), nil)
		const n = 1500 // more than one List page (and batch of names)
		var gone, prod strings.Builder
		for i := range n {
			fmt.Fprintf(&gone, "GONE_%d=v%d\n", i, i)
			fmt.Fprintf(&prod, "P_%d=v%d\n", i, i)
		}
		if _, err := m.Import(ctx, "ws", []byte(gone.String()), nil); err != nil {
			t.Fatal(err)
		}
		// Every GONE_ secret is soft-deleted by a text that keeps one.
		keep := []byte("KEEP=1\n")
		d, err := m.Diff(ctx, "ws", keep, &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Removed) != n {
			t.Fatalf("removes %d, want %d", len(d.Removed), n)
		}
		if _, err := m.Apply(ctx, "ws", keep, d); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(ctx, "ws", []byte(prod.String()), &secrets.ImportOptions{Scope: "prod"}); err != nil {
			t.Fatal(err)
		}
		// A text of many names is read in batches, and found whole.
		d, err = m.Diff(ctx, "ws", []byte(prod.String()), &secrets.DiffOptions{Scope: "prod"})
		if err != nil || len(d.Unchanged) != n || len(d.Added)+len(d.Changed) != 0 {
			t.Fatalf("the text again: %d unchanged, %d added, %d changed, %v", len(d.Unchanged), len(d.Added), len(d.Changed), err)
		}
		s.read()

		check := func(what string, maxLive, maxDeleted int) {
			t.Helper()
			if live, deleted := s.read(); live > maxLive || deleted > maxDeleted {
				t.Errorf("%s read %d live and %d deleted secrets (of over %d and %d), want at most %d and %d",
					what, live, deleted, n+1, n, maxLive, maxDeleted)
			}
		}
		one := []byte("NEWONE=1\n")
		d, err = m.Diff(ctx, "ws", one, nil)
		if err != nil || len(d.Added) != 1 {
			t.Fatalf("Diff: %+v, %v", d, err)
		}
		check("a one-line Diff", 0, 0)
		if _, err := m.Apply(ctx, "ws", one, d); err != nil {
			t.Fatal(err)
		}
		check("its Apply", 0, 0)
		if _, err := m.Import(ctx, "ws", []byte("KEEP=2\nP_7=w\n"), &secrets.ImportOptions{Scope: "prod"}); err != nil {
			t.Fatal(err)
		}
		check("a two-line Import", 2, 0) // its existing name, by storedNames and diff
		_, err = m.Diff(ctx, "ws", []byte("gone_3=1\n"), nil)
		var de *secrets.DotenvError
		if !errors.As(err, &de) || de.Reason != secrets.ErrExists || de.Line != 1 || !strings.Contains(de.Msg, "GONE_3") {
			t.Fatalf("Diff of a deleted secret's name: %v", err)
		}
		check("a Diff of a deleted secret's name", 0, 2)
		// Remove reads the live secrets of its scope: of "staging", none.
		d, err = m.Diff(ctx, "ws", one, &secrets.DiffOptions{Remove: true, Scope: "staging"})
		if err != nil || len(d.Added) != 1 || len(d.Removed) != 0 {
			t.Fatalf("Diff with Remove in staging: %+v, %v", d, err)
		}
		check("a one-line Diff with Remove in an empty scope", 0, 0)
		d, err = m.Diff(ctx, "ws", []byte("P_1=v1\n"), &secrets.DiffOptions{Remove: true, Scope: "prod"})
		if err != nil || len(d.Removed) != n {
			t.Fatalf("Diff with Remove in prod: %d removed, %v", len(d.Removed), err)
		}
		check("a one-line Diff with Remove in prod", 2+n+1, 0)
	})
}

// A .env text within the size bound but of many short lines (half a
// million "A1=1") is refused with ErrTooLarge once it names more secrets than the
// workspace could hold, before each line costs an entry: parsing it whole
// took about 100 times its size in memory (the bound grew to let every
// export re-import).
func TestDotenvManyLinesBounded(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	var text []byte
	for i := 0; len(text) < 4<<20; i++ { // 4 MiB of distinct names: within the bound
		text = fmt.Appendf(text, "A%d=1\n", i)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := m.Diff(ctx, "ws", text, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, secrets.ErrTooLarge) || !strings.Contains(err.Error(), "more than 10000 secrets") {
		t.Fatalf("Diff of a million lines: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Fatalf("the refused Diff allocated %d MB", n>>20)
	}
}

// The names of flag comments count too: a text within the size bound of
// one "# expand:" line of a million names, or of a line each, is refused
// with ErrTooLarge once a kind of flag names more than the workspace could
// hold, before each name costs a map entry (a trial: 138 MB for 4.8 MB of
// text).
func TestDotenvFlagNamesBounded(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	for _, tc := range []struct {
		name string
		sep  string
	}{{"one line", " "}, {"a line each", "\n# protected:"}} {
		t.Run(tc.name, func(t *testing.T) {
			text := []byte("A=1\n# protected:")
			if tc.sep == " " {
				text = []byte("A=1\n# expand:")
			}
			for i := 0; len(text) < 4<<20; i++ {
				text = fmt.Appendf(text, "%sN%d", tc.sep, i)
			}
			text = append(text, '\n')
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := m.Diff(ctx, "ws", text, nil)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, secrets.ErrTooLarge) {
				t.Fatalf("Diff of flags naming half a million names: %v", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
				t.Fatalf("the refused Diff allocated %d MB", n>>20)
			}
		})
	}
	// As many as the workspace may hold (10,000) are read; one more is not.
	text := []byte("A=1\n# expand: A")
	for i := range 9_999 {
		text = fmt.Appendf(text, " N%d", i)
	}
	if _, err := m.Diff(ctx, "ws", append(text, '\n'), nil); err != nil {
		t.Fatalf("a flag comment of 10,000 names: %v", err)
	}
	if _, err := m.Diff(ctx, "ws", append(text, " N10000\n"...), nil); !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("a flag comment of 10,001 names: %v, want ErrTooLarge", err)
	}
}
