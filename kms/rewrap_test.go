package kms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/dataspace/secrets"
)

// fill gives n workspaces two secrets each through m, and returns what
// each should hold.
func fill(t *testing.T, m *secrets.Manager, n int) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	want := map[string]map[string]string{}
	for i := range n {
		ws := fmt.Sprintf("ws-%02d", i)
		want[ws] = map[string]string{"TOKEN": fmt.Sprint("token-of-", ws), "DB_PASSWORD": fmt.Sprint("password-of-", ws)}
		for name, v := range want[ws] {
			if _, err := m.Set(ctx, ws, name, []byte(v), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return want
}

// readAll checks that a fresh Manager with cipher (and decryptOnly) reads
// every workspace as want says.
func readAll(t *testing.T, store secrets.Store, cipher secrets.Cipher, want map[string]map[string]string, decryptOnly ...secrets.Cipher) {
	t.Helper()
	m, err := secrets.New(store, cipher, &secrets.Config{DecryptOnly: decryptOnly})
	if err != nil {
		t.Fatal(err)
	}
	for ws, vals := range want {
		env, err := m.EnvFor(context.Background(), ws)
		if err != nil {
			t.Fatalf("%s: %v", ws, err)
		}
		got := map[string]string{}
		for _, kv := range env {
			k, v, _ := bytes.Cut([]byte(kv), []byte("="))
			got[string(k)] = string(v)
		}
		for name, v := range vals {
			if got[name] != v {
				t.Fatalf("%s: %s is %q, want %q", ws, name, got[name], v)
			}
		}
	}
}

// TestTransitRotationThenRewrap: Transit's key gets a new version; Rewrap
// with All brings every workspace key to it, after which the old version
// can be retired (min_decryption_version) and every workspace still reads.
// Without the rewrap, retiring it locks the workspaces out.
func TestTransitRotationThenRewrap(t *testing.T) {
	bao := startOpenBao(t)
	name := newKeyName()
	c := bao.Cipher(t, bao.CreateTransitKey(t, name))
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fill(t, m, 6)
	bao.RotateTransitKey(t, name)

	// Retiring version 1 now would lock every workspace out.
	bao.ConfigTransitKey(t, name, map[string]any{"min_decryption_version": 2})
	fresh, _ := secrets.New(store, c, nil)
	if _, err := fresh.EnvFor(ctx, "ws-00"); !errors.Is(err, secrets.ErrDecrypt) {
		t.Fatalf("a key wrapped at version 1 under min_decryption_version 2: %v", err)
	}
	bao.ConfigTransitKey(t, name, map[string]any{"min_decryption_version": 1})

	res, err := m.Rewrap(ctx, &secrets.RewrapOptions{All: true})
	if err != nil || res.Rewrapped != 6 || len(res.Left) != 0 {
		t.Fatalf("rewrap all: %+v %v", res, err)
	}
	for ws := range want {
		wk, err := store.Key(ctx, ws)
		// The wrapped keyset holds Transit's ciphertext, "vault:vN:...".
		if err != nil || !bytes.Contains(wk.Ciphertext, []byte("vault:v2:")) || bytes.Contains(wk.Ciphertext, []byte("vault:v1:")) {
			t.Fatalf("%s's key after the rewrap is not at version 2 (%v)", ws, err)
		}
	}
	bao.ConfigTransitKey(t, name, map[string]any{"min_decryption_version": 2})
	readAll(t, store, c, want)

	// The master key's check value moved to version 2 with the keys: a
	// fresh Manager still knows the key, and makes, rotates and re-wraps
	// keys (a trial found each refused as "not the key this store knows").
	fresh, err = secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Set(ctx, "ws-new", "TOKEN", []byte("token-of-ws-new"), nil); err != nil {
		t.Fatalf("a new workspace after version 1 was retired: %v", err)
	}
	if _, err := fresh.RotateKey(ctx, "ws-00", nil); err != nil {
		t.Fatalf("a rotation after version 1 was retired: %v", err)
	}
	if res, err := fresh.Rewrap(ctx, &secrets.RewrapOptions{All: true}); err != nil || res.Rewrapped != 7 {
		t.Fatalf("rewrap all again: %+v %v", res, err)
	}
	want["ws-new"] = map[string]string{"TOKEN": "token-of-ws-new"}
	readAll(t, store, c, want)
}

// TestTransitRewrapFromLocalAndBack: a platform moves its workspace keys from a
// local master key to Transit, with Transit cut off mid-way (the run stops
// with a clear error, nothing is half-written: every workspace reads with
// both keys, and the keys moved stay moved), resumes, reads with Transit
// alone, and moves back.
func TestTransitRewrapFromLocalAndBack(t *testing.T) {
	bao := startOpenBao(t)
	uri := bao.CreateTransitKey(t, newKeyName())
	r := bao.Relay(t)
	transit := bao.Cipher(t, uri, "VAULT_ADDR="+r.Addr(), "VAULT_MAX_RETRIES=0")
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	local, err := secrets.NewLocalCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, err := secrets.New(store, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	want := fill(t, m, n)

	moving, err := secrets.New(store, transit, &secrets.Config{DecryptOnly: []secrets.Cipher{local}, AddMasterKey: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := moving.Rewrap(ctx, &secrets.RewrapOptions{Progress: func(done, total int) {
		if done == 5 {
			r.Cut()
		}
	}})
	if err == nil || errors.Is(err, secrets.ErrIncomplete) || res.Rewrapped != 5 {
		t.Fatalf("rewrap with Transit cut after 5 keys: %+v %v", res, err)
	}
	noSecrets(t, "Rewrap with Transit cut", err, bao.Token)
	t.Logf("cut off: %v", err)
	r.Restore()
	readAll(t, store, local, want, transit)
	if _, left, err := store.ForeignKeys(ctx, secrets.ForeignKeysQuery{CipherID: transit.ID(), Limit: n}); err != nil || left != n-5 {
		t.Fatalf("%d keys not on Transit after the cut (%v), want %d", left, err, n-5)
	}

	res, err = moving.Rewrap(ctx, nil)
	if err != nil || res.Rewrapped != n-5 {
		t.Fatalf("resumed: %+v %v", res, err)
	}
	readAll(t, store, transit, want)
	if onlyLocal, _ := secrets.New(store, local, nil); onlyLocal != nil {
		if _, err := onlyLocal.EnvFor(ctx, "ws-00"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("the local key alone after the move: %v", err)
		}
	}

	back, err := secrets.New(store, local, &secrets.Config{DecryptOnly: []secrets.Cipher{transit}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := back.Rewrap(ctx, nil); err != nil || res.Rewrapped != n {
		t.Fatalf("back to the local key: %+v %v", res, err)
	}
	r.Cut() // Transit is no longer needed
	readAll(t, store, local, want)
}
