package kms_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/ciphertest"
	"github.com/dataspace/secrets/kms"
	vault "github.com/hashicorp/vault/api"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/testing/fakekms"
)

// roundTrip stores a secret under master key c and reads it back through
// a second Manager.
func roundTrip(t *testing.T, c secrets.Cipher) {
	t.Helper()
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	m, err := secrets.New(s, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("kms-wrapped")); err != nil {
		t.Fatal(err)
	}
	m2, _ := secrets.New(s, c, nil)
	got, err := m2.Get(ctx, "ws", "TOKEN")
	if err != nil || string(got.Value.Reveal()) != "kms-wrapped" {
		t.Fatalf("round trip: %v", err)
	}
	wk, _ := s.Key(ctx, "ws")
	if wk.CipherID != c.ID() {
		t.Fatalf("wrapped by %q, want %q", wk.CipherID, c.ID())
	}
}

// TestURIs: URIs are dispatched by scheme; extra clients (Tink's fake
// KMS here) come first; errors name the scheme, never the whole URI.
func TestURIs(t *testing.T) {
	ctx := context.Background()
	uri, err := fakekms.NewKeyURI()
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fakekms.NewClient("fake-kms://")
	if err != nil {
		t.Fatal(err)
	}
	opts := &kms.Options{Clients: []registry.KMSClient{fake}, ID: "fake:test-key"}
	c, err := kms.NewCipher(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "fake:test-key" {
		t.Fatalf("ID %q", c.ID())
	}
	roundTrip(t, c)

	// Without the fake client its scheme is unknown.
	_, err = kms.NewCipher(ctx, uri, nil)
	if !errors.Is(err, kms.ErrUnsupported) || strings.Contains(err.Error(), uri[len("fake-kms://"):][:12]) {
		t.Fatalf("fake URI without its client: %v", err)
	}
	for _, bad := range []string{"", "https://example.com/key", "AWS-KMX://x"} {
		if _, err := kms.NewCipher(ctx, bad, nil); !errors.Is(err, kms.ErrUnsupported) {
			t.Errorf("NewCipher(%q): %v", bad, err)
		}
	}

	// Malformed URIs of known schemes fail before any network call.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if _, err := kms.NewCipher(ctx, "aws-kms://not-an-arn", nil); err == nil {
		t.Error("a malformed AWS key URI was accepted")
	}
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_TOKEN", "token-canary-123")
	for _, u := range []string{"hcvault://127.0.0.1:1/transit/nokeys", "hcvault://127.0.0.1:1/"} {
		if _, err := kms.NewCipher(ctx, u, nil); err == nil {
			t.Errorf("malformed Vault key URI %q was accepted", u)
		}
	}
	// A well-formed Vault URI builds; using it against a closed port fails
	// without showing the token.
	vc, err := kms.NewCipher(ctx, "hcvault://127.0.0.1:1/transit/keys/k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vc.Encrypt(ctx, []byte("p"), []byte("ad")); err == nil || strings.Contains(err.Error(), "token-canary") {
		t.Fatalf("Encrypt against a closed port: %v", err)
	}
}

// TestTransit runs against a real Vault or OpenBao server when VAULT_ADDR
// and VAULT_TOKEN are set, with the transit engine mounted at "transit"
// (vault secrets enable transit). It creates an aes256-gcm96 key.
func TestTransit(t *testing.T) {
	if os.Getenv("VAULT_ADDR") == "" || os.Getenv("VAULT_TOKEN") == "" {
		t.Skip("VAULT_ADDR and VAULT_TOKEN are not set: no Transit server to test against")
	}
	ctx := context.Background()
	client, err := vault.NewClient(vault.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	newKey := func(t *testing.T) *secrets.RemoteCipher {
		var b [6]byte
		rand.Read(b[:])
		name := "secrets-test-" + hex.EncodeToString(b[:])
		if _, err := client.Logical().Write("transit/keys/"+name, map[string]any{"type": "aes256-gcm96"}); err != nil {
			t.Fatalf("create transit key: %v", err)
		}
		t.Cleanup(func() {
			client.Logical().Write("transit/keys/"+name+"/config", map[string]any{"deletion_allowed": true})
			client.Logical().Delete("transit/keys/" + name)
		})
		c, err := kms.NewCipher(ctx, "hcvault://vault/transit/keys/"+name, &kms.Options{VaultClient: client})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ciphertest.Run(t, func(t *testing.T) secrets.Cipher { return newKey(t) })
	c := newKey(t)
	roundTrip(t, c)
	// Associated data is bound: Tink's legacy Vault client would pass it
	// as "context", which Transit ignores for keys without derivation.
	ct, err := c.Encrypt(ctx, []byte("plain"), []byte("workspace-a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(ctx, ct, []byte("workspace-b")); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("Decrypt with other associated data: %v", err)
	}
	if p, err := c.Decrypt(ctx, ct, []byte("workspace-a")); err != nil || string(p) != "plain" {
		t.Fatalf("Decrypt: %q %v", p, err)
	}
}
