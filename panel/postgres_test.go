package panel_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// pgStore returns a migrated Postgres store in a schema of its own,
// dropped when the test ends. Without DATABASE_URL (scripts/test sets it)
// the test skips, unless CI is set.
func pgStore(t *testing.T) *secrets.PostgresStore {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but DATABASE_URL is empty (use scripts/test)")
		}
		t.Skip("DATABASE_URL is not set")
	}
	db, err := sqlx.Open("postgres", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var b [6]byte
	rand.Read(b[:])
	schema := "panel_" + hex.EncodeToString(b[:])
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		db.Exec("DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(schema) + " CASCADE")
	})
	return s
}

// A search text that no name can hold (a NUL, which Postgres refuses in
// text) finds nothing: it is not a server error. On the memory store and
// on Postgres.
func TestSearchWithNUL(t *testing.T) {
	for name, store := range map[string]func(*testing.T) secrets.Store{
		"memory":   func(*testing.T) secrets.Store { return secrets.NewMemoryStore() },
		"postgres": func(t *testing.T) secrets.Store { return pgStore(t) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnvStore(t, store(t), nil, nil)
			e.create(t, "A_TOKEN", "value-a", nil)
			for _, search := range []string{"\x00", "TOKEN\x00", "\x00A", "A_\x00TOKEN"} {
				var p secrets.Page
				e.do(t, req{actor: viewer, method: "POST", path: "/api/search", body: map[string]any{"search": search}}).want(t, 200, "").json(t, &p)
				if len(p.Secrets) != 0 || p.Next != "" {
					t.Errorf("search %q: %+v", search, p)
				}
			}
			if log := e.log.String(); log != "" {
				t.Errorf("logged: %s", log)
			}
			var p secrets.Page
			e.do(t, req{actor: viewer, method: "POST", path: "/api/search", body: map[string]any{"search": "token"}}).want(t, 200, "").json(t, &p)
			if len(p.Secrets) != 1 {
				t.Errorf("search token: %+v", p)
			}
		})
	}
}
