package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dataspace/secrets"
)

// emptyValuesDoc is an unencrypted backup of n secrets with empty values,
// as the trial made to exhaust a restore.
func emptyValuesDoc(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format":"secrets-backup","version":2,"container":"x","created":"2026-01-01T00:00:00Z","encryption":"none","secrets":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"S_` + strconv.FormatInt(int64(i), 36) + `","version":1}`)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// wantNothing fails unless ws has no secret, live or deleted.
func wantNothing(t *testing.T, m *secrets.Manager, ws string) {
	t.Helper()
	for _, deleted := range []bool{false, true} {
		pg, err := m.List(context.Background(), ws, &secrets.ListOptions{Deleted: deleted})
		if err != nil || len(pg.Secrets) != 0 {
			t.Fatalf("%s holds %d secrets (deleted %v), %v", ws, len(pg.Secrets), deleted, err)
		}
	}
}

// A document of more secrets than the workspace's budget allows
// (Config.MaxEnvBytes / 3) is refused with ErrTooLarge as it is read,
// with memory of the order of the document's size, by preview and
// restore; one whose restore would take the workspace's environment over
// the budget is refused before anything is written, on Postgres too (no
// database error).
func TestRestoreOverBudget(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		const budget = 64 << 10
		c := newCipher(t)
		m := newManager(t, s, c, &secrets.Config{MaxEnvBytes: budget})

		// Nearly the default RestoreOptions.MaxBytes (4 × 64 KiB + 4
		// MiB) of empty secrets: ~140,000, where the budget allows 21,845.
		doc := emptyValuesDoc(140_000)
		if len(doc) > 4*budget+4<<20 {
			t.Fatalf("the document takes %d bytes", len(doc))
		}
		if _, err := m.PreviewRestore(ctx, "dst", doc, nil); !errors.Is(err, secrets.ErrTooLarge) || strings.Contains(err.Error(), "SQLSTATE") {
			t.Fatalf("preview of 140,000 secrets: %v", err)
		}
		if _, err := m.Restore(ctx, "dst", doc, secrets.RestorePlan{}, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("restore of 140,000 secrets: %v", err)
		}
		wantNothing(t, m, "dst")

		// Under the count, over the budget: 20,000 secrets of 8 bytes or
		// more each.
		doc = emptyValuesDoc(20_000)
		if _, err := m.PreviewRestore(ctx, "dst", doc, nil); !errors.Is(err, secrets.ErrTooLarge) || strings.Contains(err.Error(), "SQLSTATE") {
			t.Fatalf("preview of 20,000 secrets: %v", err)
		}
		wantNothing(t, m, "dst")

		// Within the budget at the preview; over it at the restore, counting
		// a secret of another scope that the document does not name.
		mustSet(t, m, "src", "BIG", strings.Repeat("b", 40<<10))
		small, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", small, nil)
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "dst", "OTHER@staging", strings.Repeat("o", 30<<10))
		if _, err := m.Restore(ctx, "dst", small, plan, nil); !errors.Is(err, secrets.ErrTooLarge) || strings.Contains(err.Error(), "SQLSTATE") {
			t.Fatalf("restore over the budget: %v", err)
		}
		if _, err := m.Get(ctx, "dst", "BIG"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("BIG was restored: %v", err)
		}
		// With Remove the scoped secret goes: the restore fits.
		plan, err = m.PreviewRestore(ctx, "dst", small, &secrets.RestoreOptions{Remove: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", small, plan, nil); err != nil {
			t.Fatal(err)
		}

		// A workspace over a budget lowered since: a restore that shrinks
		// it in all but adds a secret is refused by the preview, as the
		// store would refuse its growing write; one that only shrinks or
		// keeps it goes through.
		mustSet(t, m, "over", "A", strings.Repeat("a", 40<<10))
		mustSet(t, m, "over", "B", strings.Repeat("b", 20<<10))
		shrink, err := m.Backup(ctx, "over", nil)
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "over2", "A", strings.Repeat("a", 30<<10))
		mustSet(t, m, "over2", "C", strings.Repeat("c", 5<<10))
		grow, err := m.Backup(ctx, "over2", nil)
		if err != nil {
			t.Fatal(err)
		}
		tight := newManager(t, s, c, &secrets.Config{MaxEnvBytes: 32 << 10})
		if _, err := tight.PreviewRestore(ctx, "over", grow, &secrets.RestoreOptions{Remove: true}); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("a restore that adds to a workspace over the budget: %v", err)
		}
		if _, err := tight.PreviewRestore(ctx, "over", shrink, nil); err != nil {
			t.Fatalf("a restore that changes nothing in a workspace over the budget: %v", err)
		}
	})
}

// A document of more secrets than Config.MaxSecrets is refused with
// ErrTooLarge as it is read, though the byte budget would allow them: the
// bound is the least of MaxSecrets, MaxEnvBytes / 3 and 100,000.
func TestRestoreOverMaxSecrets(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxSecrets: 3})
	if _, err := m.PreviewRestore(ctx, "dst", emptyValuesDoc(3), nil); err != nil {
		t.Fatalf("preview of 3 secrets: %v", err)
	}
	_, err := m.PreviewRestore(ctx, "dst", emptyValuesDoc(4), nil)
	if !errors.Is(err, secrets.ErrTooLarge) || !strings.Contains(err.Error(), "more than 3 secrets") {
		t.Fatalf("preview of 4 secrets: %v", err)
	}
	wantNothing(t, m, "dst")
}

// Identities given mean an encrypted document is expected: an unencrypted
// one is refused (ErrInvalidBackup) by preview and restore, changing
// nothing; the plan says whether the document is encrypted.
func TestRestoreUnencryptedWithIdentities(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "src", "PLAIN", "v-1")
		id := mustIdentity(t)
		withIDs := &secrets.RestoreOptions{Identities: []age.Identity{id}}
		plain, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.PreviewRestore(ctx, "dst", plain, withIDs); !errors.Is(err, secrets.ErrInvalidBackup) || !strings.Contains(err.Error(), "not encrypted") {
			t.Fatalf("preview: %v", err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", plain, nil)
		if err != nil || plan.Encrypted {
			t.Fatalf("plan of an unencrypted backup: encrypted %v, %v", plan.Encrypted, err)
		}
		if _, err := m.Restore(ctx, "dst", plain, plan, withIDs); !errors.Is(err, secrets.ErrInvalidBackup) {
			t.Fatalf("restore: %v", err)
		}
		wantNothing(t, m, "dst")
		sealed, err := m.Backup(ctx, "src", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
		if err != nil {
			t.Fatal(err)
		}
		if plan, err = m.PreviewRestore(ctx, "dst", sealed, withIDs); err != nil || !plan.Encrypted {
			t.Fatalf("plan of an encrypted backup: encrypted %v, %v", plan.Encrypted, err)
		}
	})
}

// A plan applies only with the document it was made of: another
// document, even of the same names, or a plan without a digest, is
// refused with ErrConflict, changing nothing.
func TestRestorePlanTiedToDocument(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "src", "PLAIN", "v-a")
		docA, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "src", "PLAIN", "v-b")
		docB, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		planA, err := m.PreviewRestore(ctx, "dst", docA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", docB, planA, nil); !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("plan of A with B: %v", err)
		}
		noDigest := planA
		noDigest.Digest = ""
		if _, err := m.Restore(ctx, "dst", docA, noDigest, nil); !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("plan without a digest: %v", err)
		}
		wantNothing(t, m, "dst")
		if _, err := m.Restore(ctx, "dst", docA, planA, nil); err != nil {
			t.Fatal(err)
		}
		if v := mustGet(t, m, "dst", "PLAIN"); v != "v-a" {
			t.Fatalf("PLAIN after the restore of A is not A's value")
		}
	})
}

// Every restore that was authorized records one ActionSet event, one
// that changes nothing too (its detail says so); so does a point-in-time
// restore.
func TestRestoreNothingChangedRecorded(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "src", "PLAIN", "v-1")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			plan, err := m.PreviewRestore(ctx, "dst", doc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Restore(ctx, "dst", doc, plan, nil); err != nil {
				t.Fatal(err)
			}
		}
		evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "dst", Action: secrets.ActionSet})
		if err != nil || len(evs) != 2 {
			t.Fatalf("%d set events, %v", len(evs), err)
		}
		if !strings.Contains(evs[1].Detail, "nothing changed") || strings.Contains(evs[0].Detail, "nothing changed") || evs[1].Outcome != secrets.OutcomeOK {
			t.Fatalf("details %q, %q", evs[0].Detail, evs[1].Detail)
		}

		at, err := m.PreviewRestoreAt(ctx, "src", time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RestoreAt(ctx, "src", at); err != nil {
			t.Fatal(err)
		}
		evs, err = m.Events(ctx, secrets.EventQuery{Workspace: "src", Action: secrets.ActionSet})
		if err != nil || len(evs) != 2 || !strings.Contains(evs[1].Detail, "nothing changed") {
			t.Fatalf("set events of src: %+v, %v", evs, err)
		}

		// So do an Import and an Apply of a .env text that changes nothing.
		text := []byte("PLAIN=v-1\n")
		if _, err := m.Import(ctx, "env", text, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(ctx, "env", text, nil); err != nil {
			t.Fatal(err)
		}
		d, err := m.Diff(ctx, "env", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(ctx, "env", text, d); err != nil {
			t.Fatal(err)
		}
		evs, err = m.Events(ctx, secrets.EventQuery{Workspace: "env", Action: secrets.ActionSet})
		if err != nil || len(evs) != 3 || strings.Contains(evs[0].Detail, "nothing changed") ||
			!strings.Contains(evs[1].Detail, "nothing changed") || !strings.Contains(evs[2].Detail, "nothing changed") {
			t.Fatalf("set events of env: %+v, %v", evs, err)
		}
	})
}

// Refusing a document of too many secrets takes memory of the order of
// the document's size, not of its secrets' number (measured on the
// memory store, alone: the allocation counter is the process's).
func TestRestoreOverBudgetMemory(t *testing.T) {
	ctx := context.Background()
	const budget = 64 << 10
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: budget})
	doc := emptyValuesDoc(140_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := m.PreviewRestore(ctx, "dst", doc, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, secrets.ErrTooLarge) {
		t.Fatalf("preview of 140,000 secrets: %v", err)
	}
	// Decoding every entry took over 100 MB; reading up to the limit, a
	// few times the document's 4 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 40<<20 {
		t.Fatalf("the refused preview allocated %d MB", alloc>>20)
	}
	t.Logf("the refused preview allocated %d MB", (after.TotalAlloc-before.TotalAlloc)>>20)
}
