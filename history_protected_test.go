package secrets_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// protectedHistory is a workspace where a maintainer (who may unprotect)
// wrote TOK's production value protected, then replaced it with a
// development value and unprotected it in the same Set (the time-travel
// trial). It returns the Manager, the maintainer's and an editor's
// contexts (the editor may do anything but unprotect) and a time
// between the two writes.
func protectedHistory(t *testing.T, s secrets.Store, unprotect func(context.Context, *secrets.Manager)) (*secrets.Manager, context.Context, context.Context, time.Time) {
	t.Helper()
	clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	m := newManager(t, s, newCipher(t), &secrets.Config{Now: clock.Now, Authorize: func(ctx context.Context, r secrets.Request) error {
		if r.Action == secrets.ActionUnprotect && secrets.ActorFrom(ctx) != "maint" {
			return &secrets.Refusal{Reason: "only maintainers unprotect"}
		}
		return nil
	}})
	maint := secrets.WithActor(context.Background(), "maint")
	editor := secrets.WithActor(context.Background(), "editor")
	if _, err := m.Set(maint, "ws", "TOK", []byte("PROD-SECRET-111"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
		t.Fatal(err)
	}
	at := clock.step()
	unprotect(maint, m)
	clock.step()
	return m, maint, editor, at
}

// unprotectBySet replaces TOK's value and unprotects it in one Set.
func unprotectBySet(t *testing.T) func(context.Context, *secrets.Manager) {
	return func(maint context.Context, m *secrets.Manager) {
		t.Helper()
		if _, err := m.Set(maint, "ws", "TOK", []byte("dev-value-222"), &secrets.SetOptions{Info: &secrets.Info{Protected: false}}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkHistoryProtected checks what follows the maintainer's authorized
// unprotect of the current value: an unprotected job gets the new value,
// and version 1, written protected, is still protected.
func checkHistoryProtected(t *testing.T, m *secrets.Manager, editor context.Context) {
	t.Helper()
	if env := envMap(t, m, "ws"); env["TOK"] != "dev-value-222" {
		t.Fatalf("after the authorized unprotect an unprotected job got %v, want the new value", env)
	}
	sec, err := m.GetVersion(editor, "ws", "TOK", 1)
	if err != nil || !sec.Protected || string(sec.Value.Reveal()) != "PROD-SECRET-111" {
		t.Fatalf("GetVersion 1: protected %v, %v", sec.Protected, err)
	}
	if sec, err := m.GetVersion(editor, "ws", "TOK", 2); err != nil || sec.Protected {
		t.Fatalf("GetVersion 2: protected %v, %v", sec.Protected, err)
	}
	vs, err := m.Versions(editor, "ws", "TOK")
	if err != nil || len(vs) != 2 || vs[0].Protected || !vs[1].Protected {
		t.Fatalf("Versions: %+v, %v", vs, err)
	}
}

// checkBackProtected checks that the production value came back
// protected: the secret is, and no unprotected job gets it.
func checkBackProtected(t *testing.T, m *secrets.Manager, metas ...secrets.Meta) {
	t.Helper()
	for _, meta := range metas {
		if !meta.Protected || meta.Version != 3 {
			t.Fatalf("the secret brought back: %+v", meta)
		}
	}
	env, err := m.EnvFor(context.Background(), "ws")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		if strings.Contains(kv, "PROD-SECRET") {
			t.Fatalf("an unprotected job got the production value: %s", kv[:strings.IndexByte(kv, '=')])
		}
	}
	if _, ok := envMap(t, m, "ws")["TOK"]; ok {
		t.Fatal("an unprotected job got TOK")
	}
	job, err := m.Prepare(context.Background(), "ws", &secrets.PrepareOptions{Protected: true, Base: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	if !slices.Contains(job.Env, "TOK=PROD-SECRET-111") {
		t.Fatal("a protected job did not get the production value")
	}
	if meta, err := m.Meta(context.Background(), "ws", "TOK"); err != nil || !meta.Protected {
		t.Fatalf("Meta after: %+v, %v", meta, err)
	}
}

// TestProtectedHistoryRollback: unprotecting a secret unprotects its
// current value only. After an authorized Set that replaces the value and
// unprotects it, version 1 (written protected) is still protected, and an
// editor who may not unprotect rolls back to it: the secret comes back
// protected, and an unprotected job does not get the production value
// (the time-travel trial's history-unprotect, which delivered it). A
// maintainer's Rollback brings it back protected too, and a Rollback from
// a protected value never unprotects.
func TestProtectedHistoryRollback(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m, maint, editor, _ := protectedHistory(t, b.replica(t), unprotectBySet(t))
		checkHistoryProtected(t, m, editor)
		meta, err := m.Rollback(editor, "ws", "TOK", 1, nil)
		if err != nil {
			t.Fatalf("the editor's Rollback: %v", err)
		}
		checkBackProtected(t, m, meta)
		// A Rollback never unprotects: the development value, rolled back
		// to from the protected current one, is protected too.
		if meta, err := m.Rollback(editor, "ws", "TOK", 2, nil); err != nil || !meta.Protected {
			t.Fatalf("Rollback to the development value: %+v, %v", meta, err)
		}
		if _, ok := envMap(t, m, "ws")["TOK"]; ok {
			t.Fatal("after the Rollback to version 2 an unprotected job got TOK")
		}
		if meta, err := m.Rollback(maint, "ws", "TOK", 1, nil); err != nil || !meta.Protected {
			t.Fatalf("the maintainer's Rollback to version 1: %+v, %v", meta, err)
		}
	})
}

// TestProtectedHistoryRestoreAt: as TestProtectedHistoryRollback, by a
// point-in-time restore to a time before the unprotect (the trial's
// restoreat-unprotect); its preview says so (RestoreAtChange.Protects).
func TestProtectedHistoryRestoreAt(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m, _, editor, at := protectedHistory(t, b.replica(t), unprotectBySet(t))
		checkHistoryProtected(t, m, editor)
		plan, err := m.PreviewRestoreAt(editor, "ws", at)
		// The preview says that the secret becomes protected.
		if err != nil || len(plan.Versions) != 1 || plan.Versions[0].To != 1 || !plan.Versions[0].Protects {
			t.Fatalf("PreviewRestoreAt: %+v, %v", plan.Versions, err)
		}
		metas, err := m.RestoreAt(editor, "ws", plan)
		if err != nil || len(metas) != 1 {
			t.Fatalf("the editor's RestoreAt: %+v, %v", metas, err)
		}
		checkBackProtected(t, m, metas...)
	})
}

// TestProtectedHistoryUnprotectBySetInfo: a SetInfo that unprotects
// unprotects the current version only (an unprotected job gets it); an
// older version written protected comes back protected.
func TestProtectedHistoryUnprotectBySetInfo(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m, _, editor, _ := protectedHistory(t, b.replica(t), func(maint context.Context, m *secrets.Manager) {
			if _, err := m.Set(maint, "ws", "TOK", []byte("dev-value-222"), nil); err != nil { // still protected
				t.Fatal(err)
			}
			if _, err := m.SetInfo(maint, "ws", "TOK", secrets.Info{Description: "dev"}, nil); err != nil {
				t.Fatal(err)
			}
		})
		checkHistoryProtected(t, m, editor)
		// Making it a file secret seals every version again: version 1
		// stays protected.
		if _, err := m.SetInfo(editor, "ws", "TOK", secrets.Info{File: true}, nil); err != nil {
			t.Fatal(err)
		}
		if vs, err := m.Versions(editor, "ws", "TOK"); err != nil || vs[0].Protected || !vs[1].Protected {
			t.Fatalf("Versions after another re-seal: %+v, %v", vs, err)
		}
		meta, err := m.Rollback(editor, "ws", "TOK", 1, nil)
		if err != nil || !meta.Protected || !meta.File {
			t.Fatalf("Rollback: %+v, %v", meta, err)
		}
	})
}

// TestProtectedHistoryUnprotectByRestore: a backup's restore that
// replaces a protected secret's value with an unprotected one (asking
// ActionUnprotect) leaves the version it replaces protected.
func TestProtectedHistoryUnprotectByRestore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := b.replica(t)
		var doc []byte
		m, _, editor, _ := protectedHistory(t, s, func(maint context.Context, m *secrets.Manager) {
			doc = restoreDevBackup(t, maint, m, []string{"value", "protected"})
		})
		checkHistoryProtected(t, m, editor)
		meta, err := m.Rollback(editor, "ws", "TOK", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkBackProtected(t, m, meta)
		// The editor may not restore the backup over it now: that would
		// unprotect.
		plan, err := m.PreviewRestore(editor, "ws", doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(editor, "ws", doc, plan, nil); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatalf("the editor's restore that unprotects: %v", err)
		}
	})
}

// TestProtectedHistoryUnprotectByRestoreFlagsOnly: a backup's restore that
// changes only the flag (its value is the current one) unprotects the
// current version only; the older one written protected stays so (the
// restore's branch without a new version).
func TestProtectedHistoryUnprotectByRestoreFlagsOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		m, _, editor, _ := protectedHistory(t, b.replica(t), func(maint context.Context, m *secrets.Manager) {
			if _, err := m.Set(maint, "ws", "TOK", []byte("dev-value-222"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
				t.Fatal(err)
			}
			restoreDevBackup(t, maint, m, []string{"protected"})
		})
		checkHistoryProtected(t, m, editor)
		meta, err := m.Rollback(editor, "ws", "TOK", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkBackProtected(t, m, meta)
	})
}

// restoreDevBackup restores, as maint, a backup of another workspace that
// holds TOK's development value unprotected over ws, checking that the
// plan changes TOK's fields want, and returns the backup.
func restoreDevBackup(t *testing.T, maint context.Context, m *secrets.Manager, want []string) []byte {
	t.Helper()
	if _, err := m.Set(maint, "src", "TOK", []byte("dev-value-222"), nil); err != nil {
		t.Fatal(err)
	}
	doc, err := m.Backup(maint, "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := m.PreviewRestore(maint, "ws", doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changed) != 1 || !slices.Equal(plan.Changed[0].Fields, want) {
		t.Fatalf("the restore would change %+v, want TOK's %v", plan.Changed, want)
	}
	if _, err := m.Restore(maint, "ws", doc, plan, nil); err != nil {
		t.Fatal(err)
	}
	return doc
}
