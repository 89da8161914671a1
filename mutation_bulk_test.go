package secrets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/dataspace/secrets"
)

// TestDiffRemoveOnlyItsScope: with Remove, only the secrets of the
// diff's scope are removed; the text says nothing of the others. A text
// for every environment that names A leaves A@staging live, and a text
// for staging that names A (A@staging) removes no secret of another
// scope, even one whose scope starts with "staging".
func TestDiffRemoveOnlyItsScope(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		for _, n := range []string{"A", "A@staging", "B", "B@staging-eu", "C@staging"} {
			mustSet(t, m, "ws", n, "value-of-"+n)
		}
		text := []byte("A=a\nB=value-of-B\n")
		d, err := m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Removed) != 0 {
			t.Fatalf("a text for every environment removes %v", d.Removed)
		}
		if _, err := m.Apply(ctx, "ws", text, d); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"A@staging", "B@staging-eu", "C@staging"} {
			if meta, err := m.Meta(ctx, "ws", n); err != nil || !meta.Deleted.IsZero() {
				t.Fatalf("%s after Apply: %+v %v", n, meta, err)
			}
		}

		// Scope staging: the text's A is A@staging; C@staging, not named,
		// is the only one removed.
		text = []byte("A=a2\n")
		d, err = m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true, Scope: "staging"})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Removed) != 1 || d.Removed[0] != "C@staging" || len(d.Changed) != 1 || d.Changed[0] != "A@staging" {
			t.Fatalf("a text for staging: %+v", d)
		}
		if _, err := m.Apply(ctx, "ws", text, d); err != nil {
			t.Fatal(err)
		}
		for n, live := range map[string]bool{"A": true, "B": true, "B@staging-eu": true, "A@staging": true, "C@staging": false} {
			if meta, err := m.Meta(ctx, "ws", n); err != nil || meta.Deleted.IsZero() != live {
				t.Fatalf("%s after Apply for staging: %+v %v, want live %t", n, meta, err, live)
			}
		}
	})
}

// TestImportDeletedName: a name that belongs to a soft-deleted secret is
// a *DotenvError with Reason ErrExists, for Import and Diff alike, and
// nothing is written: the secret stays deleted at its revision.
func TestImportDeletedName(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "ws", "X", "old")
		mustSet(t, m, "ws", "KEEP", "k")
		gone, err := m.Delete(ctx, "ws", "X", nil)
		if err != nil {
			t.Fatal(err)
		}
		text := []byte("KEEP=k2\nX=1\n")
		check := func(what string, err error) {
			t.Helper()
			var de *secrets.DotenvError
			if !errors.As(err, &de) || !errors.Is(de.Reason, secrets.ErrExists) || de.Line != 2 {
				t.Fatalf("%s of a deleted secret's name: %v, want a *DotenvError of line 2 with Reason ErrExists", what, err)
			}
		}
		_, err = m.Import(ctx, "ws", text, nil)
		check("Import", err)
		_, err = m.Diff(ctx, "ws", text, nil)
		check("Diff", err)
		_, err = m.Diff(ctx, "ws", text, &secrets.DiffOptions{Remove: true})
		check("Diff with Remove", err)
		if meta, err := m.Meta(ctx, "ws", "X"); err != nil || meta.Deleted.IsZero() || meta.Revision != gone.Revision {
			t.Fatalf("X after the refusals: %+v %v (was revision %d)", meta, err, gone.Revision)
		}
		if got := mustGet(t, m, "ws", "KEEP"); got != "k" {
			t.Fatalf("KEEP after the refusals: %q", got)
		}
	})
}
