package secrets_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// TestPostgresTamperedRowNotSealedAnew: the calls that seal retained
// versions anew under a secret's row (RestoreAt, Rollback, Rename,
// SetInfo's re-flag, a backup's Restore) refuse, with ErrDecrypt, a row
// whose name or secret ID was changed with SQL, and no job ever gets a
// value under a name or scope it was not sealed for. An attacker trial:
// RestoreAt sealed a production-scoped value anew under the unscoped name
// (every environment got it) and a value under BASH_ENV, a name Set
// refuses; Rename and RestoreAt of a row pointed at another secret's ID
// sealed that secret's value under the row's name. And a job never gets
// a name twice: with a row's name_key moved, an editor's Set made a second
// secret of the name, and the job got the replaced value first.
func TestPostgresTamperedRowNotSealedAnew(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	type setup struct {
		m    *secrets.Manager
		then time.Time
		exec func(q string)
	}
	start := func(t *testing.T, values map[string][]string) setup {
		t.Helper()
		s := newPGStore(t, db)
		clock := &pitrClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		c := newCipher(t)
		m := newManager(t, s, c, &secrets.Config{Now: clock.Now})
		var then time.Time
		for round := range 2 {
			for name, vs := range values {
				if round < len(vs) {
					mustSet(t, m, "ws", name, vs[round])
				}
			}
			if round == 0 {
				then = clock.step()
			}
		}
		// Another replica, which remembers nothing of the writes.
		return setup{newManager(t, s, c, &secrets.Config{Now: clock.Now}), then, schemaExec(t, db, s.Schema())}
	}
	// never checks that no job, in any environment, gets a value holding
	// canary.
	never := func(t *testing.T, m *secrets.Manager, canary string) {
		t.Helper()
		for _, env := range []string{"", "production", "review/pr-1"} {
			p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: env, Base: []string{}})
			if err != nil {
				continue
			}
			for _, kv := range p.Env {
				if strings.Contains(kv, canary) {
					t.Errorf("a job in %q got %s", env, strings.SplitN(kv, "=", 2)[0])
				}
			}
			p.Close()
		}
	}
	wantDecrypt := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("%s: %v, want ErrDecrypt", what, err)
		}
	}
	restoreAt := func(t *testing.T, st setup) error {
		t.Helper()
		plan, err := st.m.PreviewRestoreAt(ctx, "ws", st.then)
		if err != nil {
			return err
		}
		_, err = st.m.RestoreAt(ctx, "ws", plan)
		return err
	}
	// swapIDs gives the rows of a and b each other's secret ID.
	swapIDs := func(st setup, a, b string) {
		st.exec(`UPDATE S.secrets SET secret_id = 'swap' WHERE workspace = 'ws' AND name = '` + a + `'`)
		st.exec(`UPDATE S.secrets SET secret_id = (SELECT DISTINCT secret_id FROM S.versions WHERE workspace = 'ws' AND name = '` + a + `')
			WHERE workspace = 'ws' AND name = '` + b + `'`)
		st.exec(`UPDATE S.secrets SET secret_id = (SELECT DISTINCT secret_id FROM S.versions WHERE workspace = 'ws' AND name = '` + b + `')
			WHERE workspace = 'ws' AND name = '` + a + `'`)
	}

	t.Run("RestoreAt of a row moved out of its scope", func(t *testing.T) {
		st := start(t, map[string][]string{"DEPLOY_KEY@production": {"prod-v1-canary", "prod-v2-canary"}, "OTHER": {"other-value"}})
		st.exec(`UPDATE S.secrets SET name = 'DEPLOY_KEY', name_key = 'deploy_key' WHERE workspace = 'ws' AND name = 'DEPLOY_KEY@production'`)
		st.exec(`UPDATE S.ledger SET name = 'DEPLOY_KEY' WHERE workspace = 'ws' AND name = 'DEPLOY_KEY@production'`)
		wantDecrypt(t, "RestoreAt", restoreAt(t, st))
		never(t, st.m, "prod-v")
	})
	t.Run("RestoreAt of a row renamed to a refused name", func(t *testing.T) {
		st := start(t, map[string][]string{"APP_HOOK": {"/tmp/hook-canary.sh", "harmless-v2"}})
		st.exec(`UPDATE S.secrets SET name = 'BASH_ENV', name_key = 'bash_env' WHERE workspace = 'ws' AND name = 'APP_HOOK'`)
		st.exec(`UPDATE S.ledger SET name = 'BASH_ENV' WHERE workspace = 'ws' AND name = 'APP_HOOK'`)
		wantDecrypt(t, "RestoreAt", restoreAt(t, st))
		if env, err := st.m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("EnvFor: %d variables, %v; want ErrDecrypt", len(env), err)
		}
	})
	t.Run("RestoreAt of a row given another secret's ID", func(t *testing.T) {
		st := start(t, map[string][]string{"DEPLOY_KEY@production": {"prod-v1-canary", "prod-v2-canary"}, "LOG_LEVEL": {"debug-1", "debug-2"}})
		swapIDs(st, "LOG_LEVEL", "DEPLOY_KEY@production")
		wantDecrypt(t, "RestoreAt", restoreAt(t, st))
		never(t, st.m, "prod-v")
	})
	t.Run("Rename of a row given another secret's ID", func(t *testing.T) {
		st := start(t, map[string][]string{"DEPLOY_KEY@production": {"prod-v1-canary"}, "LOG_LEVEL": {"debug-1"}})
		swapIDs(st, "LOG_LEVEL", "DEPLOY_KEY@production")
		_, err := st.m.Rename(ctx, "ws", "LOG_LEVEL", "APP_LOG_LEVEL", nil)
		wantDecrypt(t, "Rename", err)
		never(t, st.m, "prod-v")
	})
	t.Run("SetInfo of a row given another secret's ID", func(t *testing.T) {
		st := start(t, map[string][]string{"DEPLOY_KEY@production": {"prod-v1-canary"}, "LOG_LEVEL": {"debug-1"}})
		swapIDs(st, "LOG_LEVEL", "DEPLOY_KEY@production")
		_, err := st.m.SetInfo(ctx, "ws", "LOG_LEVEL", secrets.Info{File: true}, nil)
		wantDecrypt(t, "SetInfo", err)
		never(t, st.m, "prod-v")
	})
	t.Run("Rollback of a row given another secret's ID", func(t *testing.T) {
		st := start(t, map[string][]string{"DEPLOY_KEY@production": {"prod-v1-canary", "prod-v2-canary"}, "LOG_LEVEL": {"debug-1", "debug-2"}})
		swapIDs(st, "LOG_LEVEL", "DEPLOY_KEY@production")
		_, err := st.m.Rollback(ctx, "ws", "LOG_LEVEL", 1, nil)
		wantDecrypt(t, "Rollback", err)
		never(t, st.m, "prod-v")
	})
	t.Run("a second secret of a name whose row was moved", func(t *testing.T) {
		st := start(t, map[string][]string{"API_TOKEN": {"leaked-canary"}})
		st.exec(`UPDATE S.secrets SET name_key = 'zzz_hidden' WHERE workspace = 'ws' AND name = 'API_TOKEN'`)
		mustSet(t, st.m, "ws", "API_TOKEN", "rotated-value") // a second secret: the first is not found
		env, err := st.m.EnvFor(ctx, "ws")
		var de *secrets.DecryptError
		if !errors.As(err, &de) || len(de.Names) != 1 || de.Names[0] != "API_TOKEN" || env != nil {
			t.Fatalf("EnvFor with two rows of API_TOKEN: %d variables, %v; want ErrDecrypt naming it", len(env), err)
		}
		if _, err := st.m.Prepare(ctx, "ws", nil); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("Prepare: %v, want ErrDecrypt", err)
		}
		// A job with an environment resolves scopes (internal/scope):
		// input order would pick one of the two.
		if _, err := st.m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "production"}); !errors.As(err, &de) || de.Names[0] != "API_TOKEN" {
			t.Fatalf("Prepare in production: %v, want ErrDecrypt naming API_TOKEN", err)
		}
		if text, err := st.m.Export(ctx, "ws", nil); !errors.Is(err, secrets.ErrDecrypt) || text != nil {
			t.Fatalf("Export: %d bytes, %v; want ErrDecrypt", len(text), err)
		}
		// A backup holding both would be refused by Restore.
		if doc, err := st.m.Backup(ctx, "ws", nil); !errors.As(err, &de) || de.Names[0] != "API_TOKEN" || doc != nil {
			t.Fatalf("Backup: %d bytes, %v; want ErrDecrypt naming API_TOKEN", len(doc), err)
		}
	})
	t.Run("two rows whose names differ in case", func(t *testing.T) {
		st := start(t, map[string][]string{"api_token": {"leaked-canary"}, "B_MIDDLE": {"middle"}})
		st.exec(`UPDATE S.secrets SET name_key = 'zzz_hidden' WHERE workspace = 'ws' AND name = 'api_token'`)
		mustSet(t, st.m, "ws", "API_TOKEN", "rotated-value")
		if doc, err := st.m.Backup(ctx, "ws", nil); !errors.Is(err, secrets.ErrDecrypt) || doc != nil {
			t.Fatalf("Backup: %d bytes, %v; want ErrDecrypt", len(doc), err)
		}
		// B_MIDDLE sorts between them in byte order (a review: the
		// export compared neighbours only).
		if text, err := st.m.Export(ctx, "ws", nil); !errors.Is(err, secrets.ErrDecrypt) || text != nil {
			t.Fatalf("Export: %q, %v; want ErrDecrypt", text, err)
		}
		if _, err := st.m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: "production"}); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("Prepare in production: %v, want ErrDecrypt", err)
		}
		// What the README says of a job that reads the workspace whole
		// (no environment, protection, parents or names): it compares
		// names exactly, so both rows reach it as two variables.
		env, err := st.m.EnvFor(ctx, "ws")
		if err != nil {
			t.Fatalf("EnvFor: %v", err)
		}
		if d := cmp.Diff([]string{"API_TOKEN=rotated-value", "B_MIDDLE=middle", "api_token=leaked-canary"}, env); d != "" {
			t.Errorf("EnvFor (-want +got):\n%s", d)
		}
	})
	// Two rows of one name at a parent level, behind the workspace's own
	// value that wins: the job is refused all the same, whatever order the
	// rows come in (the resolver first reported only twins of the name's
	// winner so far, so this job ran).
	t.Run("two rows of one name behind a nearer value", func(t *testing.T) {
		s := newPGStore(t, db)
		c := newCipher(t)
		cfg := &secrets.Config{Parents: chain(map[string][]string{"ws": {"group:acme"}})}
		m := newManager(t, s, c, cfg)
		mustSet(t, m, "group:acme", "API_TOKEN", "group-old-canary")
		schemaExec(t, db, s.Schema())(`UPDATE S.secrets SET name_key = 'zzz_hidden' WHERE workspace = 'group:acme' AND name = 'API_TOKEN'`)
		m = newManager(t, s, c, cfg) // another replica, which remembers nothing of the write
		mustSet(t, m, "group:acme", "API_TOKEN", "group-new")
		mustSet(t, m, "ws", "API_TOKEN", "workspace-value")
		for _, env := range []string{"", "production"} {
			_, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: env})
			var de *secrets.DecryptError
			if !errors.As(err, &de) || de.Workspace != "group:acme" || len(de.Names) != 1 || de.Names[0] != "API_TOKEN" {
				t.Fatalf("Prepare in %q: %v, want ErrDecrypt naming group:acme's API_TOKEN", env, err)
			}
		}
	})
}

// renameDuringHistory is a Store whose first History call, before it
// reads, lets another replica rename the secret: the history then holds
// versions sealed under the new name.
type renameDuringHistory struct {
	secrets.Store
	once   sync.Once
	rename func()
}

func (s *renameDuringHistory) History(ctx context.Context, ws, id string) ([]secrets.Version, error) {
	s.once.Do(s.rename)
	return s.Store.History(ctx, ws, id)
}

// TestRenameDuringRollbackIsARace: a history sealed under another name than
// the row read before it, because another replica renamed the secret in
// between, is a race the write reads again for (here the secret is gone
// under its old name: ErrNotFound), not tampering (ErrDecrypt).
func TestRenameDuringRollbackIsARace(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		c := newCipher(t)
		other := newManager(t, s, c, nil)
		mustSet(t, other, "ws", "TOKEN", "token-v1")
		mustSet(t, other, "ws", "TOKEN", "token-v2")
		paused := &renameDuringHistory{Store: s}
		paused.rename = func() {
			if _, err := other.Rename(ctx, "ws", "TOKEN", "API_TOKEN", nil); err != nil {
				t.Error(err)
			}
		}
		m := newManager(t, paused, c, nil)
		_, err := m.Rollback(ctx, "ws", "TOKEN", 1, nil)
		if !errors.Is(err, secrets.ErrNotFound) || errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("Rollback during a rename: %v, want ErrNotFound", err)
		}
		if got := mustGet(t, m, "ws", "API_TOKEN"); got != "token-v2" {
			t.Fatalf("API_TOKEN is %q", got)
		}
	})
}
