package secrets

import (
	"bytes"
	"context"
	"testing"

	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	gcmpb "github.com/tink-crypto/tink-go/v2/proto/aes_gcm_go_proto"
	"google.golang.org/protobuf/proto"
)

// Every data key a workspace ever gets, the first and each rotation's,
// is an AES-GCM key of 256 bits (the README's "AES-256-GCM").
func TestDataKeysAreAES256GCM(t *testing.T) {
	ctx := context.Background()
	m, store, c := memoryManager(t)
	if _, err := m.Set(ctx, "ws", "TOKEN", []byte("value-1"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RotateKey(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	wk, err := store.Key(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	h, err := unwrapKey(ctx, c, wk)
	if err != nil {
		t.Fatal(err)
	}
	ks := insecurecleartextkeyset.KeysetMaterial(h)
	if len(ks.GetKey()) != 2 {
		t.Fatalf("%d keys after one rotation", len(ks.GetKey()))
	}
	for _, k := range ks.GetKey() {
		if url := k.GetKeyData().GetTypeUrl(); url != "type.googleapis.com/google.crypto.tink.AesGcmKey" {
			t.Fatalf("key %d is a %s", k.GetKeyId(), url)
		}
		var key gcmpb.AesGcmKey
		if err := proto.Unmarshal(k.GetKeyData().GetValue(), &key); err != nil {
			t.Fatal(err)
		}
		if n := len(key.GetKeyValue()); n != 32 {
			t.Fatalf("key %d has %d bytes", k.GetKeyId(), n)
		}
		clear(key.GetKeyValue())
	}
}

// Each workspace has a data key of its own (the README's "a data key per
// workspace"): no key of one workspace's keyset, first or rotated, is one
// of another's, in the memory store as TestPostgresHoldsNoPlaintext checks
// in Postgres.
func TestDataKeyPerWorkspace(t *testing.T) {
	ctx := context.Background()
	m, store, c := memoryManager(t)
	for _, ws := range []string{"ws", "ws2"} {
		if _, err := m.Set(ctx, ws, "TOKEN", []byte("same-value"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.RotateKey(ctx, "ws2", nil); err != nil {
		t.Fatal(err)
	}
	keys := map[string][][]byte{}
	for _, ws := range []string{"ws", "ws2"} {
		ks, err := DataKeys(ctx, store, c, ws)
		if err != nil || len(ks) == 0 {
			t.Fatalf("data keys of %s: %d, %v", ws, len(ks), err)
		}
		keys[ws] = ks
	}
	if len(keys["ws2"]) != 2 {
		t.Fatalf("%d keys of ws2 after one rotation", len(keys["ws2"]))
	}
	for _, k := range keys["ws"] {
		for _, k2 := range keys["ws2"] {
			if bytes.Equal(k, k2) {
				t.Fatal("ws and ws2 share a data key")
			}
		}
	}
}

// memoryManager returns a Manager over a new memory store, the store and
// the Manager's cipher.
func memoryManager(t *testing.T) (*Manager, *MemoryStore, Cipher) {
	t.Helper()
	c, store := testCipher(t), NewMemoryStore()
	m, err := New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m, store, c
}

// A scoped or protected version is sealed under format 3, whose
// associated data no earlier release builds: a replica that knows only
// formats 1 and 2 (which reads a version's format and flags and builds
// its associated data as appendAD does for them) fails to decrypt it
// instead of delivering it. Plain secrets stay in format 2, which such a
// replica still reads.
func TestFormat3FailsClosedForEarlierReleases(t *testing.T) {
	h, _, err := newWorkspaceKey(context.Background(), testCipher(t), "ws")
	if err != nil {
		t.Fatal(err)
	}
	k, err := newDataKey(h, 1)
	if err != nil {
		t.Fatal(err)
	}
	// formatTwoAD is the associated data a release of formats 1 and 2
	// builds: the v2 label and two flags, whatever the format says.
	formatTwoAD := func(v *Version) []byte {
		return appendAD(nil, v.Workspace, v.SecretID, v.Name, v.Version, 2, adFlags{v.WriteOnly, v.File, false, false})
	}
	for _, tc := range []struct {
		v      Version
		format int
	}{
		{Version{Workspace: "ws", SecretID: "a", Version: 1, Name: "PLAIN"}, 2},
		{Version{Workspace: "ws", SecretID: "b", Version: 1, Name: "TOKEN@production"}, 3},
		{Version{Workspace: "ws", SecretID: "c", Version: 1, Name: "DEPLOY", Protected: true}, 3},
		{Version{Workspace: "ws", SecretID: "d", Version: 1, Name: "KEY@review/*", Protected: true, WriteOnly: true}, 3},
		{Version{Workspace: "ws", SecretID: "e", Version: 1, Name: "DATABASE_URL", Expand: true}, 3},
	} {
		v := tc.v
		if err := k.seal(&v, []byte("canary")); err != nil {
			t.Fatal(err)
		}
		if v.Format != tc.format {
			t.Errorf("%s sealed as format %d, want %d", v.Name, v.Format, tc.format)
		}
		if p, err := k.open(&v); err != nil || string(p) != "canary" {
			t.Fatalf("%s: open: %v", v.Name, err)
		}
		_, err := k.aead.Decrypt(v.Ciphertext, formatTwoAD(&v))
		if opened := err == nil; opened != (tc.format == 2) {
			t.Errorf("%s (format %d): an earlier release opens it: %v", v.Name, v.Format, opened)
		}
		// Clearing the protected flag (or any flag) fails too.
		flipped := v
		flipped.Protected = !v.Protected
		if _, err := k.open(&flipped); err == nil {
			t.Errorf("%s opened with its protected flag flipped", v.Name)
		}
		flipped = v
		flipped.Expand = !v.Expand
		if _, err := k.open(&flipped); err == nil {
			t.Errorf("%s opened with its expand flag flipped", v.Name)
		}
	}
}
