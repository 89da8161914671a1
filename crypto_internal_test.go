package secrets

import (
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
	c := testCipher(t)
	store := NewMemoryStore()
	m, err := New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
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
