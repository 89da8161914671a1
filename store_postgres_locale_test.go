package secrets_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dataspace/secrets"
)

// pgCLocaleURL is a database whose LC_CTYPE is C (scripts/pg-env.sh makes
// one), where Postgres's lower() changes ASCII letters only.
func pgCLocaleURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL_C_LOCALE")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL_C_LOCALE is empty: the test of a C-locale database must run in CI (use scripts/test)")
		}
		t.Skip("DATABASE_URL_C_LOCALE is not set; run scripts/test to start a local Postgres")
	}
	return u
}

// TestPostgresCLocale: on a database whose LC_CTYPE is C, a secret whose
// scope has a capital letter outside ASCII is found by name as on any
// other (the store lower-cases what it compares in SQL, as it made the
// stored key, never in Go): Get and Set of it, a page of List after it,
// a search, Events by its name, and a .env text of its scope, with
// Remove (a trial had Diff see it as new and keep its sibling live, and
// every Import of the scope fail as "the name is taken").
func TestPostgresCLocale(t *testing.T) {
	u := pgCLocaleURL(t)
	for _, driver := range []string{"postgres", "pgx"} {
		t.Run(driver, func(t *testing.T) {
			db := pgPool{driver: driver}.openDSN(t, u)
			m := newManager(t, newPGStore(t, db), newCipher(t), nil)
			ctx := context.Background()
			const ws = "ws"
			mustSet(t, m, ws, "A@Été", "one")
			mustSet(t, m, ws, "B@Été", "two")
			mustSet(t, m, ws, "C@Été", "three")
			mustSet(t, m, ws, "A@Été", "one") // an update of it, found by name
			if s, err := m.Get(ctx, ws, "a@Été"); err != nil || string(s.Value.Reveal()) != "one" || s.Version != 2 {
				t.Fatalf("Get: %+v %v", s, err)
			}
			var paged []string
			for after := ""; ; {
				page, err := m.List(ctx, ws, &secrets.ListOptions{Limit: 1, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page.Secrets {
					paged = append(paged, s.Name)
				}
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			if d := cmp.Diff([]string{"A@Été", "B@Été", "C@Été"}, paged); d != "" {
				t.Errorf("List a page at a time (-want +got):\n%s", d)
			}
			if page, err := m.List(ctx, ws, &secrets.ListOptions{Search: "b@Été"}); err != nil || len(page.Secrets) != 1 {
				t.Errorf("List with a search: %+v %v", page.Secrets, err)
			}
			if evs, err := m.Events(ctx, secrets.EventQuery{Workspace: ws, Name: "A@Été", Action: secrets.ActionSet}); err != nil || len(evs) != 2 {
				t.Errorf("Events by name: %d, %v", len(evs), err)
			}
			d, err := m.Diff(ctx, ws, []byte("A=one\nC=changed\n"), &secrets.DiffOptions{Scope: "Été", Remove: true})
			if err != nil {
				t.Fatal(err)
			}
			want := secrets.Diff{Workspace: ws, Scope: "Été", Remove: true, Added: []string{}, Changed: []string{"C@Été"}, Unchanged: []string{"A@Été"},
				Removed: []string{"B@Été"}, Uncompared: []string{}, Revisions: d.Revisions}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Fatalf("Diff with Remove (-want +got):\n%s", diff)
			}
			if _, err := m.Apply(ctx, ws, []byte("A=one\nC=changed\n"), d); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Import(ctx, ws, []byte("A=changed\n"), &secrets.ImportOptions{Scope: "Été"}); err != nil {
				t.Fatalf("Import into the scope: %v", err)
			}
			if got := envMap(t, m, ws); len(got) != 0 {
				t.Errorf("a job without an environment got %v", got)
			}
			deleted, err := m.List(ctx, ws, &secrets.ListOptions{Deleted: true})
			if err != nil || len(deleted.Secrets) != 1 || deleted.Secrets[0].Name != "B@Été" {
				t.Errorf("deleted: %+v %v", deleted.Secrets, err)
			}
		})
	}
}

// TestPostgresCLocaleScopesDifferInCase: in a C-locale database, "A@Été"
// and "A@été" are two secrets (lower() folds ASCII only), for two
// environments (scopes are matched byte for byte): a job of each gets its
// own, and Backup and Export hold both, never mistaking them for two rows
// of one name (ErrDecrypt: a review found Backup refusing them so).
func TestPostgresCLocaleScopesDifferInCase(t *testing.T) {
	db := pgPool{driver: "postgres"}.openDSN(t, pgCLocaleURL(t))
	m := newManager(t, newPGStore(t, db), newCipher(t), nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "A@Été", "upper-value")
	mustSet(t, m, "ws", "A@été", "lower-value")
	for env, want := range map[string]string{"Été": "A=upper-value", "été": "A=lower-value"} {
		p, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Environment: env, Base: []string{}})
		if err != nil || len(p.Env) != 1 || p.Env[0] != want {
			t.Fatalf("a job in %s: %d variables, %v", env, len(p.Env), err)
		}
		p.Close()
	}
	if doc, err := m.Backup(ctx, "ws", nil); err != nil || !bytes.Contains(doc, []byte("A@été")) || !bytes.Contains(doc, []byte("A@Été")) {
		t.Fatalf("Backup: %v", err)
	}
	for _, sc := range []string{"Été", "été"} {
		if text, err := m.Export(ctx, "ws", &secrets.ExportOptions{Scope: sc}); err != nil || !bytes.HasPrefix(text, []byte("A=")) {
			t.Fatalf("Export of %s: %q, %v", sc, text, err)
		}
	}
}
