package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// TestDiffRemoveKeepsWhatExportLeftOut: an export edited and applied with
// Remove does not remove the secrets the export names in a comment
// instead of a line: a write-only one ("# W is write-only: not exported")
// and a shell's variable an earlier release let in ("# OPTIND is a shell's
// own variable: not exported") and, with ExpiredOmit, an expired one
// ("# OLD is expired: not exported"; a doc audit: it was left out without
// a word, and removed), per scope. Without those comments, the same text
// removes them: the comment is what names them. With ExpiredRefuse, an
// expired secret makes Export fail.
func TestDiffRemoveKeepsWhatExportLeftOut(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), &secrets.Config{AllowNames: []string{"OPTIND"}, Expired: secrets.ExpiredOmit})
		past := &secrets.SetOptions{Info: &secrets.Info{Expires: time.Now().Add(-time.Hour)}}
		wo := &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}
		for _, sc := range []string{"*", "production"} {
			name := func(n string) string { return secrets.ScopedName(n, sc) }
			mustSet(t, m, "ws", name("A"), "a-1")
			mustSet(t, m, "ws", name("OPTIND"), "3")
			if _, err := m.Set(ctx, "ws", name("W"), []byte("w-2"), wo); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Set(ctx, "ws", name("OLD"), []byte("old-value-4"), past); err != nil {
				t.Fatal(err)
			}
			text, err := m.Export(ctx, "ws", &secrets.ExportOptions{Scope: sc})
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(text, []byte("old-value-4")) {
				t.Fatalf("%s: the export holds the expired value", sc)
			}
			for _, c := range []string{"# W is write-only: not exported\n", "# OPTIND is a shell's own variable: not exported\n", "# OLD is expired: not exported\n"} {
				if !bytes.Contains(text, []byte(c)) {
					t.Fatalf("%s: the export lacks %q:\n%s", sc, c, text)
				}
			}
			edited := append(bytes.Clone(text), "B='b-3'\n"...)
			d, err := m.Diff(ctx, "ws", edited, &secrets.DiffOptions{Remove: true, Scope: sc})
			if err != nil {
				t.Fatal(err)
			}
			want := secrets.Diff{Workspace: "ws", Scope: sc, Added: []string{name("B")}, Changed: []string{}, Unchanged: []string{name("A")},
				Removed: []string{}, Remove: true, Uncompared: []string{}}
			if diff := cmp.Diff(want, d, cmpIgnoreRevisions); diff != "" {
				t.Fatalf("%s: Diff of the edited export (-want +got):\n%s", sc, diff)
			}
			if _, err := m.Apply(ctx, "ws", edited, d); err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{"A", "B", "OPTIND", "W", "OLD"} {
				if _, err := m.Meta(ctx, "ws", name(n)); err != nil {
					t.Errorf("%s: after Apply, %s: %v", sc, name(n), err)
				}
			}
			// The same text without Export's comments names neither.
			var bare []string
			for _, l := range strings.SplitAfter(string(edited), "\n") {
				if !strings.HasSuffix(l, ": not exported\n") {
					bare = append(bare, l)
				}
			}
			d, err = m.Diff(ctx, "ws", []byte(strings.Join(bare, "")), &secrets.DiffOptions{Remove: true, Scope: sc})
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{name("OLD"), name("OPTIND"), name("W")}; !slices.Equal(d.Removed, want) {
				t.Errorf("%s: without the comments, Removed = %v, want %v", sc, d.Removed, want)
			}
		}
	})
}

// With ExpiredRefuse, Export of a workspace holding an expired secret
// fails with ErrExpired, as a job does.
func TestExportExpiredRefuse(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Expired: secrets.ExpiredRefuse})
	mustSet(t, m, "ws", "A", "a-value")
	if _, err := m.Set(ctx, "ws", "OLD", []byte("old-value"), &secrets.SetOptions{Info: &secrets.Info{Expires: time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if text, err := m.Export(ctx, "ws", nil); !errors.Is(err, secrets.ErrExpired) || text != nil {
		t.Fatalf("Export: %d bytes, %v; want ErrExpired", len(text), err)
	}
}

// TestExportWithinBudgetReimports: an export of a workspace within its
// budget is never too large for Import or Diff, however its quoting grows
// it: 8 values of 131,062 single quotes each (1 MiB, the default budget)
// are written as quote, backslash, quote, quote (4 bytes each), a 4 MB
// text, more than twice the budget. A text far beyond what an export could
// be is still ErrTooLarge, before it is parsed.
func TestExportWithinBudgetReimports(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		quotes := strings.Repeat("'", 131_062)
		want := map[string]string{}
		for i := range 8 {
			n := "QUOT" + string(rune('1'+i)) // 5 bytes, as in the trial
			want[n] = quotes
			mustSet(t, m, "ws", n, quotes)
		}
		text, err := m.Export(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(text) != 4_194_056 {
			t.Fatalf("the export takes %d bytes, want the trial's 4,194,056", len(text))
		}
		if _, err := m.Diff(ctx, "copy", text, &secrets.DiffOptions{Remove: true}); err != nil {
			t.Fatalf("Diff of an export: %v", err)
		}
		if _, err := m.Import(ctx, "copy", text, nil); err != nil {
			t.Fatalf("Import of an export: %v", err)
		}
		if d := cmp.Diff(want, envMap(t, m, "copy")); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		// Limits says the bound: a text of comments up to it is read, one
		// byte more is not.
		limit := m.Limits().MaxDotenvBytes
		if limit < int64(len(text)) {
			t.Fatalf("Limits().MaxDotenvBytes %d is less than the export's %d bytes", limit, len(text))
		}
		comments := append(bytes.Repeat([]byte("#"), int(limit)-1), '\n')
		if _, err := m.Diff(ctx, "copy", comments, nil); err != nil {
			t.Fatalf("Diff of a text at Limits().MaxDotenvBytes: %v", err)
		}
		if _, err := m.Diff(ctx, "copy", append(comments, '\n'), nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("Diff of a text a byte over Limits().MaxDotenvBytes: %v, want ErrTooLarge", err)
		}
		huge := bytes.Repeat([]byte("# a comment\n"), 6<<20/12)
		if _, err := m.Import(ctx, "copy", huge, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("Import of a 6 MiB text: %v, want ErrTooLarge", err)
		}
	})
}
