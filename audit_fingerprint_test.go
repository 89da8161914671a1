package secrets_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// TestFingerprintSearch: an operator holding a leaked token finds exactly
// the injections that used it.
func TestFingerprintSearch(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), &secrets.Config{AuditKey: newAuditKey(t)})
		const leaked = "leaked-token-5f2a"
		mustSet(t, m, "ws1", "TOKEN", leaked)
		mustSet(t, m, "ws2", "DEPLOY", leaked) // the same value under another name
		mustSet(t, m, "ws3", "TOKEN", "a-different-token")
		mustSet(t, m, "ws4", "TOKEN", leaked)
		mustSet(t, m, "ws4", "TOKEN", "rotated-since") // injected only after rotation
		for _, ws := range []string{"ws1", "ws2", "ws3", "ws1", "ws4"} {
			if _, err := m.EnvFor(ctx, ws); err != nil {
				t.Fatal(err)
			}
		}
		got, err := m.Events(ctx, secrets.EventQuery{Fingerprint: m.Fingerprint([]byte(leaked)), Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		var where []string
		for _, e := range got {
			where = append(where, e.Workspace)
		}
		if d := cmp.Diff([]string{"ws1", "ws2", "ws1"}, where); d != "" {
			t.Fatalf("injections of the leaked token (-want +got):\n%s", d)
		}
		// Fingerprints depend on the audit key.
		other := newManager(t, s, newCipher(t), &secrets.Config{AuditKey: newAuditKey(t)})
		if bytes.Equal(other.Fingerprint([]byte(leaked)), m.Fingerprint([]byte(leaked))) {
			t.Fatal("two audit keys give one fingerprint")
		}
	})
}

// A fingerprint search finds every injection of a leaked value: after its
// version fell out of the kept history and its secret was destroyed, and
// when it was written and injected before an AuditKey was configured (its
// version still retained when the search ran).
func TestFingerprintFindsEveryInjection(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		c := newCipher(t)
		key := newAuditKey(t)
		const leaked = "leaked-token-pruned-0001"
		inject := func(m *secrets.Manager, ws string, n int) {
			for range n {
				if _, err := m.EnvFor(ctx, ws); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Pruned and destroyed, with an AuditKey throughout.
		m := newManager(t, s, c, &secrets.Config{AuditKey: key, KeepVersions: 1})
		mustSet(t, m, "pruned", "TOKEN", leaked)
		inject(m, "pruned", 3)
		for i := range 3 {
			mustSet(t, m, "pruned", "TOKEN", fmt.Sprint("later-value-", i))
			inject(m, "pruned", 1)
		}
		if err := m.Destroy(ctx, "pruned", "TOKEN", nil); err != nil {
			t.Fatal(err)
		}
		// Written and injected before the AuditKey existed.
		before := newManager(t, s, c, nil)
		mustSet(t, before, "early", "TOKEN", leaked)
		mustSet(t, before, "early", "OTHER", "unrelated-value")
		inject(before, "early", 3)
		mustSet(t, before, "early", "TOKEN", "rotated-after")
		inject(before, "early", 2)

		after := newManager(t, s, c, &secrets.Config{AuditKey: key})
		got, err := after.Events(ctx, secrets.EventQuery{Fingerprint: after.Fingerprint([]byte(leaked)), Action: secrets.ActionInject})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, e := range got {
			count[e.Workspace]++
			if !slices.ContainsFunc(e.Secrets, func(es secrets.EventSecret) bool { return es.Name == "TOKEN" && es.Version == 1 }) {
				t.Errorf("event %d does not list TOKEN version 1: %+v", e.ID, e.Secrets)
			}
		}
		if d := cmp.Diff(map[string]int{"pruned": 3, "early": 3}, count); d != "" {
			t.Fatalf("injections of the leaked token by workspace (-want +got):\n%s", d)
		}
	})
}

// TestFingerprintOwnListsBeforeAuditKey: a job whose event lists its own
// secrets (one that names them, asks for an environment, or has parents)
// keeps the fingerprints known when it ran. A fingerprint search finds
// such a job only if it ran while an AuditKey was set, whereas a plain
// job from before is found through the ledger; the earlier one is found
// by its secret's name and version. This is the limit the README states.
func TestFingerprintOwnListsBeforeAuditKey(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		c := newCipher(t)
		const leaked = "leaked-token-own-list-01"
		jobs := func(m *secrets.Manager) {
			if _, err := m.EnvFor(ctx, "ws"); err != nil { // plain: the ledger's
				t.Fatal(err)
			}
			for _, o := range []*secrets.PrepareOptions{{Names: []string{"TOKEN"}}, {Environment: "production"}} {
				p, err := m.Prepare(ctx, "ws", o)
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
			}
		}
		before := newManager(t, s, c, nil)
		mustSet(t, before, "ws", "TOKEN", leaked)
		jobs(before)
		after := newManager(t, s, c, &secrets.Config{AuditKey: newAuditKey(t)})
		jobs(after)
		byValue, err := after.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Fingerprints: after.Fingerprints([]byte(leaked))})
		if err != nil {
			t.Fatal(err)
		}
		byName, err := after.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Name: "TOKEN"})
		if err != nil {
			t.Fatal(err)
		}
		// Events in order: before's plain, named, production; after's same.
		if len(byName) != 6 {
			t.Fatalf("%d inject events by name, want 6", len(byName))
		}
		var want []int64
		for i, e := range byName {
			if i == 0 || i >= 3 { // before's plain job, and all of after's
				want = append(want, e.ID)
			}
		}
		if d := cmp.Diff(want, ids(byValue)); d != "" {
			t.Errorf("jobs found by the value (-want +got):\n%s", d)
		}
	})
}
