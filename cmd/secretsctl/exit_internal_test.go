package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestExitUnavailable: a refusal because the host's authorizer could not
// decide exits 7, apart from a refusal (5), and names neither the hook's
// error nor its cause.
func TestExitUnavailable(t *testing.T) {
	m := memoryManager(t, &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		if r.Actor == "user:down" {
			return &secrets.Refusal{Unavailable: true, Cause: errors.New("ldap: connection refused")}
		}
		return errors.New("no")
	}})
	_, down := m.Get(secrets.WithActor(context.Background(), "user:down"), "ws", "A")
	_, refused := m.Get(secrets.WithActor(context.Background(), "user:eve"), "ws", "A")
	if got := exitCode(down); got != exitUnavailable {
		t.Errorf("unavailable: exit %d (%v)", got, down)
	}
	if got := exitCode(refused); got != exitRefused {
		t.Errorf("refused: exit %d (%v)", got, refused)
	}
	if msg := message(down); msg == "" || strings.Contains(msg, "ldap") || strings.Contains(msg, "connection refused") {
		t.Errorf("message %q", msg)
	}
}

// TestExitInvalidActor: an actor given on the command line (--actor,
// --by) that the library refuses is a usage error, as a bad --env is (a
// CLI trial: it exited 1).
func TestExitInvalidActor(t *testing.T) {
	m := memoryManager(t, nil)
	_, err := m.List(secrets.WithActor(context.Background(), "cli:\x1bx"), "ws", nil)
	if !errors.Is(err, secrets.ErrInvalidActor) || exitCode(err) != exitUsage {
		t.Fatalf("an invalid actor: %v, exit %d", err, exitCode(err))
	}
}

// TestParseTimeBefore1970: a time before 1970 is refused, never taken
// for "never" (a CLI trial: --expires 0001-01-01 cleared the date).
func TestParseTimeBefore1970(t *testing.T) {
	now := time.Now()
	for _, s := range []string{"0001-01-01", "0001-01-01T00:00:00Z", "1969-12-31"} {
		if got, err := parseTime("expires", s, now); err == nil || exitCode(err) != exitUsage {
			t.Errorf("parseTime(%q) = %v, %v; want a usage error", s, got, err)
		}
	}
	if got, err := parseTime("expires", "never", now); err != nil || !got.IsZero() {
		t.Errorf("never: %v, %v", got, err)
	}
	if got, err := parseTime("expires", "2030-01-02", now); err != nil || got.Year() != 2030 {
		t.Errorf("2030-01-02: %v, %v", got, err)
	}
}

// memoryManager is a Manager over a memory store with a new local key.
func memoryManager(t *testing.T, cfg *secrets.Config) *secrets.Manager {
	t.Helper()
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.New(secrets.NewMemoryStore(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
