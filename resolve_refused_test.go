package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// resolvedStatus is the status Resolve gives the secret name of container.
func resolvedStatus(t *testing.T, rs []secrets.Resolved, container, name string) string {
	t.Helper()
	for _, r := range rs {
		if r.Container == container && r.Name == name {
			return r.Status
		}
	}
	t.Fatalf("Resolve lists no %s of %s: %+v", name, container, rs)
	return ""
}

// TestResolveRefused: the preview says "refused" of a secret a job would
// get and be refused for, a name the Manager's rules refuse now (an
// attacker trial: it said delivered, and the job failed).
func TestResolveRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s, c := b.replica(t), newCipher(t)
		mustSet(t, newManager(t, s, c, nil), "group:acme", "DEPLOY_HOOK", "hook-value")
		mustSet(t, newManager(t, s, c, nil), "ws", "WS_TOKEN", "token-value")
		m := newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels), ReservedNames: []string{"DEPLOY_HOOK"}})
		rs, err := m.Resolve(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resolvedStatus(t, rs, "group:acme", "DEPLOY_HOOK"); got != secrets.ResolvedRefused {
			t.Errorf("a reserved name: %q, want refused", got)
		}
		if got := resolvedStatus(t, rs, "ws", "WS_TOKEN"); got != secrets.ResolvedDelivered {
			t.Errorf("another name: %q, want delivered", got)
		}
		if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrReservedName) {
			t.Fatalf("the job: %v, want ErrReservedName", err)
		}
		// Overridden by a nearer name the rules accept, it is not what
		// fails a job.
		m2 := newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels), ReservedNames: []string{"WS_TOKEN"}})
		rs, err = m2.Resolve(ctx, "ws", &secrets.ResolveOptions{Environment: "production"})
		if err != nil {
			t.Fatal(err)
		}
		if got := resolvedStatus(t, rs, "group:acme", "DEPLOY_HOOK"); got != secrets.ResolvedDelivered {
			t.Errorf("an allowed name: %q, want delivered", got)
		}
		if got := resolvedStatus(t, rs, "ws", "WS_TOKEN"); got != secrets.ResolvedRefused {
			t.Errorf("a reserved name of the workspace: %q, want refused", got)
		}
	})
}

// TestPostgresResolveTwice: a name stored twice in a scope of a container
// (a row's name_key moved with SQL, then a Set of the name) fails a job,
// and the preview says "refused" of it.
func TestPostgresResolveTwice(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	ctx := context.Background()
	m := newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels)})
	mustSet(t, m, "group:acme", "TOKEN", "first-value")
	if _, err := db.Exec(strings.ReplaceAll(`UPDATE S.secrets SET name_key = 'moved' WHERE workspace = 'group:acme' AND name = 'TOKEN'`,
		"S.", pq.QuoteIdentifier(s.Schema())+".")); err != nil {
		t.Fatal(err)
	}
	m = newManager(t, s, c, &secrets.Config{Parents: chain(wsLevels)}) // a replica that remembers nothing of the write
	mustSet(t, m, "group:acme", "TOKEN", "second-value")
	mustSet(t, m, "ws", "OWN", "own-value")
	if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("the job: %v, want ErrDecrypt", err)
	}
	rs, err := m.Resolve(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	var refused int
	for _, r := range rs {
		if r.Name == "TOKEN" && r.Status == secrets.ResolvedRefused {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("no TOKEN refused: %+v", rs)
	}
	if got := resolvedStatus(t, rs, "ws", "OWN"); got != secrets.ResolvedDelivered {
		t.Errorf("OWN: %q, want delivered", got)
	}
}

// TestResolveRefusedExpired: under ExpiredRefuse, an expired secret a job
// would get is "refused", as the job is (a review: it said delivered).
func TestResolveRefusedExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Parents: chain(wsLevels), Expired: secrets.ExpiredRefuse,
			Now: func() time.Time { return now }})
		if _, err := m.Set(ctx, "ws", "TOKEN", []byte("old-token"), &secrets.SetOptions{Info: &secrets.Info{Expires: now.Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "ws", "OTHER", "other-value")
		rs, err := m.Resolve(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resolvedStatus(t, rs, "ws", "TOKEN"); got != secrets.ResolvedRefused {
			t.Errorf("an expired secret under ExpiredRefuse: %q, want refused", got)
		}
		if _, err := m.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrExpired) {
			t.Fatalf("the job: %v, want ErrExpired", err)
		}
	})
}
