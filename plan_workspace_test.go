package secrets_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestPlansBoundToWorkspace: a preview made for one workspace (a Diff, a
// restore plan, a restore-at plan) is refused for another, and so is one
// that names none, changing nothing, though both workspaces have the same
// names at the same revisions (a data-loss trial applied a staging
// restore-at plan to production: it deleted production's secrets).
func TestPlansBoundToWorkspace(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		now := time.Now()
		clock := func() time.Time { return now }
		m := newManager(t, s, newCipher(t), &secrets.Config{Now: clock})
		for _, ws := range []string{"staging", "prod"} {
			mustSet(t, m, ws, "KEEP", ws+"-keep")
		}
		at := now
		now = now.Add(time.Minute)
		for _, ws := range []string{"staging", "prod"} {
			mustSet(t, m, ws, "API_TOKEN", ws+"-token")
		}
		now = now.Add(time.Minute)
		unchanged := func() {
			t.Helper()
			checkAll(t, m, "prod", map[string]string{"KEEP": "prod-keep", "API_TOKEN": "prod-token"})
		}

		d, err := m.Diff(ctx, "staging", []byte("KEEP=new\n"), &secrets.DiffOptions{Remove: true})
		if err != nil || d.Workspace != "staging" {
			t.Fatalf("Diff: %+v %v", d, err)
		}
		if _, err := m.Apply(ctx, "prod", []byte("KEEP=new\n"), d); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Apply of staging's Diff to prod: %v, want ErrConflict", err)
		}
		d.Workspace = ""
		if _, err := m.Apply(ctx, "staging", []byte("KEEP=new\n"), d); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Apply of a Diff naming no workspace: %v, want ErrConflict", err)
		}
		unchanged()

		p, err := m.PreviewRestoreAt(ctx, "staging", at)
		if err != nil || p.Workspace != "staging" || len(p.Deleted) != 1 {
			t.Fatalf("PreviewRestoreAt: %+v %v", p, err)
		}
		if _, err := m.RestoreAt(ctx, "prod", p); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("RestoreAt of staging's plan to prod: %v, want ErrConflict", err)
		}
		unchanged()

		doc, err := m.Backup(ctx, "staging", nil)
		if err != nil {
			t.Fatal(err)
		}
		rp, err := m.PreviewRestore(ctx, "staging", doc, &secrets.RestoreOptions{Remove: true})
		if err != nil || rp.Workspace != "staging" {
			t.Fatalf("PreviewRestore: %+v %v", rp, err)
		}
		if _, err := m.Restore(ctx, "prod", doc, rp, nil); !errors.Is(err, secrets.ErrConflict) {
			t.Errorf("Restore of staging's plan to prod: %v, want ErrConflict", err)
		}
		unchanged()
		// The plans still apply where they were made.
		if _, err := m.Apply(ctx, "staging", []byte("KEEP=new\n"), func() secrets.Diff { d.Workspace = "staging"; return d }()); err != nil {
			t.Fatalf("Apply to staging: %v", err)
		}
	})
}
