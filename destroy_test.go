package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestDestroyRotatesKeys: the rows of a destroyed secret, copied before
// the destroy (a backup of the secrets tables) and put back after it,
// decrypt again without Config.DestroyRotates: that is what "for good"
// does not cover. With it, the workspace's key was rotated and the former
// keys deleted, so the copy fails as ErrDecrypt while every other secret,
// past versions included, still reads. Purge does the same.
func TestDestroyRotatesKeys(t *testing.T) {
	db := pgDB(t)
	ctx := context.Background()
	for _, rotates := range []bool{false, true} {
		s := newPGStore(t, db)
		sch := pq.QuoteIdentifier(s.Schema())
		now := time.Now()
		c := newCipher(t)
		m := newManager(t, s, c, &secrets.Config{DestroyRotates: rotates, Now: func() time.Time { return now }})
		mustSet(t, m, "ws", "KEEP", "kept-v1")
		mustSet(t, m, "ws", "KEEP", "kept-v2")
		gone := mustSet(t, m, "ws", "GONE", "destroyed-value-8841")
		// The backup: the secret's rows as they are before the destroy.
		for _, q := range []string{
			"CREATE TABLE " + sch + ".backup_secrets AS SELECT * FROM " + sch + ".secrets WHERE name = 'GONE'",
			"CREATE TABLE " + sch + ".backup_versions AS SELECT * FROM " + sch + ".versions WHERE name = 'GONE'",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Destroy(ctx, "ws", "GONE", &secrets.WriteOptions{IfRevision: gone.Revision}); err != nil {
			t.Fatalf("Destroy (rotates %t): %v", rotates, err)
		}
		keys, err := m.Keys(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		if rotates && (len(keys) != 1 || !keys[0].Primary) || !rotates && len(keys) != 1 {
			t.Fatalf("rotates %t: the keyset after the destroy holds %+v", rotates, keys)
		}
		// Put the backup back.
		for _, q := range []string{
			"INSERT INTO " + sch + ".secrets SELECT * FROM " + sch + ".backup_secrets",
			"INSERT INTO " + sch + ".versions SELECT * FROM " + sch + ".backup_versions",
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		fresh := newManager(t, sameSchema(t, db, s), c, nil) // no cached key
		got, err := fresh.Get(ctx, "ws", "GONE")
		if !rotates {
			if err != nil || !bytes.Equal(got.Value.Reveal(), []byte("destroyed-value-8841")) {
				t.Fatalf("control: the restored copy does not decrypt without DestroyRotates: %v", err)
			}
		} else if !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("with DestroyRotates the restored copy gave %v, want ErrDecrypt", err)
		}
		for v, want := range map[int64]string{1: "kept-v1", 2: "kept-v2"} {
			sec, err := fresh.GetVersion(ctx, "ws", "KEEP", v)
			if err != nil || string(sec.Value.Reveal()) != want {
				t.Fatalf("rotates %t: KEEP version %d: %v", rotates, v, err)
			}
		}
	}

	// Purge destroys, and rotates the same way.
	s := newPGStore(t, db)
	now := time.Now()
	m := newManager(t, s, newCipher(t), &secrets.Config{DestroyRotates: true, Now: func() time.Time { return now }})
	mustSet(t, m, "ws", "KEEP", "kept")
	old := mustSet(t, m, "ws", "OLD", "old-value")
	if _, err := m.Delete(ctx, "ws", "OLD", &secrets.WriteOptions{IfRevision: old.Revision}); err != nil {
		t.Fatal(err)
	}
	before, _ := m.Keys(ctx, "ws")
	now = now.Add(60 * 24 * time.Hour)
	if r, err := m.Purge(ctx); err != nil || r.Destroyed != 1 {
		t.Fatalf("Purge: %+v, %v", r, err)
	}
	after, _ := m.Keys(ctx, "ws")
	if len(after) != 1 || len(before) != 1 || after[0].ID == before[0].ID {
		t.Fatalf("keys before Purge %+v, after %+v: want one new key", before, after)
	}
	if got := mustGet(t, m, "ws", "KEEP"); got != "kept" {
		t.Fatal(got)
	}
}
