package secrets_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// TestJobRefusesStoredRefusedNames: a secret saved under a name the rules
// accepted then and refuse now (a release that denies more names, a host
// that turns on StrictNames; here another Manager's Config.AllowNames
// stands for the earlier rules) no longer reaches jobs: every job of its
// workspace, and of the workspaces below a parent that holds it, is
// refused with ErrReservedName naming it, until it is renamed or deleted.
// Before, Set refused the name but the stored secret went on reaching
// every job, hijack and all.
func TestJobRefusesStoredRefusedNames(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		c := newCipher(t)
		parents := chain(map[string][]string{"ws": {"group:acme"}})
		then := newManager(t, s, c, &secrets.Config{AllowNames: []string{"CLOUDSDK_PYTHON", "HTTPS_PROXY"}, Parents: parents})
		mustSet(t, then, "ws", "AUTH_TOKEN", "tok")
		mustSet(t, then, "ws", "CLOUDSDK_PYTHON", "/tmp/evil")
		now := newManager(t, s, c, &secrets.Config{Parents: parents})
		refused := func(what string, err error, name, container string) {
			t.Helper()
			if !errors.Is(err, secrets.ErrReservedName) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), container) {
				t.Fatalf("%s: %v, want ErrReservedName naming %s of %s", what, err, name, container)
			}
		}
		for _, m := range []*secrets.Manager{now, newManager(t, s, c, nil)} { // with and without parents
			env, err := m.EnvFor(ctx, "ws")
			refused("EnvFor", err, "CLOUDSDK_PYTHON", "ws")
			if env != nil {
				t.Fatalf("EnvFor gave %d variables", len(env))
			}
			_, err = m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "production"})
			refused("Prepare in production", err, "CLOUDSDK_PYTHON", "ws")
		}
		// An export still reads it: the way to move it elsewhere.
		if text, err := now.Export(ctx, "ws", nil); err != nil || !strings.Contains(string(text), "CLOUDSDK_PYTHON=") {
			t.Fatalf("Export: %d bytes, %v", len(text), err)
		}
		// So does a backup, which Restore then refuses as Set does.
		doc, err := now.Backup(ctx, "ws", nil)
		if err != nil || !strings.Contains(string(doc), `"CLOUDSDK_PYTHON"`) {
			t.Fatalf("Backup: %d bytes, %v", len(doc), err)
		}
		if _, err := now.PreviewRestore(ctx, "ws-copy", doc, nil); !errors.Is(err, secrets.ErrInvalidBackup) || !strings.Contains(err.Error(), "CLOUDSDK_PYTHON") {
			t.Fatalf("PreviewRestore of the backup: %v, want ErrInvalidBackup naming CLOUDSDK_PYTHON", err)
		}
		if _, err := now.Rename(ctx, "ws", "CLOUDSDK_PYTHON", "GCLOUD_INTERPRETER", nil); err != nil {
			t.Fatal(err)
		}
		if env, err := now.EnvFor(ctx, "ws"); err != nil || len(env) != 2 {
			t.Fatalf("EnvFor after the rename: %q, %v", env, err)
		}

		// A parent's secret: every job below it is refused, naming the
		// parent. The stricter preset turned on stands for the new rules.
		mustSet(t, then, "group:acme", "HTTPS_PROXY", "http://proxy.example:3128")
		strict := newManager(t, s, c, &secrets.Config{Parents: parents, StrictNames: true})
		_, err = strict.Prepare(ctx, "ws", nil)
		refused("Prepare below the parent", err, "HTTPS_PROXY", "group:acme")
		if _, err := now.Prepare(ctx, "ws", nil); err != nil {
			t.Fatalf("Prepare without the stricter preset: %v", err)
		}
		// A job that does not get the secret is not refused: one whose
		// names leave it out.
		if _, err := strict.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"AUTH_TOKEN"}}); err != nil {
			t.Fatalf("Prepare of AUTH_TOKEN alone: %v", err)
		}
	})
}

// TestJobAsksOnlyNamesEachTime: Config.OnlyNames is a host function whose
// answers may change; a job asks it each time rather than remember its
// answer (a review: a host that turned strict still had LEGACY delivered).
func TestJobAsksOnlyNamesEachTime(t *testing.T) {
	ctx := context.Background()
	var strict atomic.Bool
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		OnlyNames: func(name string) bool { return !strict.Load() || strings.HasPrefix(name, "APP_") },
	})
	mustSet(t, m, "ws", "LEGACY", "v")
	mustSet(t, m, "ws", "APP_TOKEN", "t")
	if env, err := m.EnvFor(ctx, "ws"); err != nil || len(env) != 2 {
		t.Fatalf("EnvFor before the host turned strict: %q, %v", env, err)
	}
	strict.Store(true)
	if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrReservedName) {
		t.Fatalf("EnvFor after the host turned strict: %v, want ErrReservedName", err)
	}
	strict.Store(false)
	if env, err := m.EnvFor(ctx, "ws"); err != nil || len(env) != 2 {
		t.Fatalf("EnvFor after the host relented: %q, %v", env, err)
	}
}
