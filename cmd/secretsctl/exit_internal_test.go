package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestExitUnavailable: a refusal because the host's authorizer could not
// decide exits 7, apart from a refusal (5), and names neither the hook's
// error nor its cause.
func TestExitUnavailable(t *testing.T) {
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := secrets.New(secrets.NewMemoryStore(), c, &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		if r.Actor == "user:down" {
			return &secrets.Refusal{Unavailable: true, Cause: errors.New("ldap: connection refused")}
		}
		return errors.New("no")
	}})
	if err != nil {
		t.Fatal(err)
	}
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
