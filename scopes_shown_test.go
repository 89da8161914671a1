package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestScopeShownOnlyForNewNames: a name whose scope holds a character that
// shows nothing (a trial saved six scopes that all looked like
// "production") is refused when it would create a secret, by Set, Rename
// and Import; one stored before the check (here restored from a backup
// that holds it) stays readable, writable, renamable, deletable and
// restorable (a review: the first version of the check locked such
// secrets in).
func TestScopeShownOnlyForNewNames(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		look := "DEPLOY_URL@production\ufe0f"
		if _, err := m.Set(ctx, "ws", look, []byte("v"), nil); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Fatalf("Set(%q): %v, want ErrInvalidScope", look, err)
		}
		mustSet(t, m, "ws", "DEPLOY_URL@production", "real")
		if _, err := m.Rename(ctx, "ws", "DEPLOY_URL@production", look, nil); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Fatalf("Rename to %q: %v, want ErrInvalidScope", look, err)
		}
		// A look-alike letter of another script (a panel trial: Cyrillic р).
		if _, err := m.Rename(ctx, "ws", "DEPLOY_URL@production", "DEPLOY_URL@\u0440roduction", nil); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Fatalf("Rename to a Cyrillic look-alike: %v, want ErrInvalidScope", err)
		}
		_, err := m.Import(ctx, "ws", []byte("NEW_ONE=1\n"), &secrets.ImportOptions{Scope: "production\ufe0f"})
		var de *secrets.DotenvError
		if !errors.As(err, &de) || !errors.Is(de.Reason, secrets.ErrInvalidScope) {
			t.Fatalf("Import into the scope: %v, want a DotenvError of ErrInvalidScope", err)
		}

		// A secret of such a scope stored before the check: a backup of
		// the real one with its name changed (a backup without
		// recipients binds no name).
		doc, err := m.Backup(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		old := strings.Replace(string(doc), `"DEPLOY_URL@production"`, `"DEPLOY_URL@production\ufe0f"`, 1)
		if old == string(doc) {
			t.Fatal("the backup does not name DEPLOY_URL@production as expected")
		}
		plan, err := m.PreviewRestore(ctx, "ws2", []byte(old), nil)
		if err != nil {
			t.Fatalf("PreviewRestore of a backup holding %q: %v", look, err)
		}
		if _, err := m.Restore(ctx, "ws2", []byte(old), plan, nil); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if v, err := m.Get(ctx, "ws2", look); err != nil || string(v.Value.Reveal()) != "real" {
			t.Fatalf("Get(%q): %v", look, err)
		}
		if _, err := m.Set(ctx, "ws2", look, []byte("updated"), nil); err != nil {
			t.Fatalf("Set of the stored %q: %v", look, err)
		}
		if _, err := m.Import(ctx, "ws2", []byte("DEPLOY_URL=again\n"), &secrets.ImportOptions{Scope: "production\ufe0f"}); err != nil {
			t.Fatalf("Import of the stored name in its scope: %v", err)
		}
		if _, err := m.Rename(ctx, "ws2", look, "DEPLOY_URL@staging", nil); err != nil {
			t.Fatalf("Rename from %q: %v", look, err)
		}
		if _, err := m.Rename(ctx, "ws2", "DEPLOY_URL@staging", look, nil); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Fatalf("Rename back to %q (a new name now): %v, want ErrInvalidScope", look, err)
		}
		if _, err := m.Restore(ctx, "ws3", []byte(old), mustPreview(t, m, "ws3", []byte(old)), nil); err != nil {
			t.Fatalf("Restore again: %v", err)
		}
		if _, err := m.Delete(ctx, "ws3", look, nil); err != nil {
			t.Fatalf("Delete(%q): %v", look, err)
		}
	})
}

func mustPreview(t *testing.T, m *secrets.Manager, ws string, doc []byte) secrets.RestorePlan {
	t.Helper()
	plan, err := m.PreviewRestore(context.Background(), ws, doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
