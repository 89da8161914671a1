package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// eachRotationStore runs fn on a RotationStore of every backend.
func eachRotationStore(t *testing.T, fn func(t *testing.T, s secrets.RotationStore)) {
	eachStore(t, func(t *testing.T, s secrets.Store) { fn(t, s.(secrets.RotationStore)) })
}

// fillHistory writes n secrets with three versions each, three imports of
// n values, and returns the current values.
func fillHistory(t *testing.T, m *secrets.Manager, ws string, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	for v := 1; v <= 3; v++ {
		var text strings.Builder
		for i := range n {
			name := fmt.Sprintf("S_%03d", i)
			want[name] = fmt.Sprintf("value-%d-v%d", i, v)
			fmt.Fprintf(&text, "%s=%s\n", name, want[name])
		}
		if _, err := m.Import(context.Background(), ws, []byte(text.String()), nil); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// checkAll reads every current value, and every retained version of
// every secret (of a seventh of them when there are more than 30).
func checkAll(t *testing.T, m *secrets.Manager, ws string, want map[string]string) {
	t.Helper()
	if d := cmp.Diff(want, envMap(t, m, ws)); d != "" {
		t.Fatalf("current values (-want +got):\n%s", d)
	}
	ctx := context.Background()
	i := 0
	for name := range want {
		if i++; len(want) > 30 && i%7 != 0 {
			continue
		}
		vs, err := m.Versions(ctx, ws, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			if _, err := m.GetVersion(ctx, ws, name, v.Version); err != nil {
				t.Fatalf("%s v%d: %v", name, v.Version, err)
			}
		}
	}
}

func staleCount(t *testing.T, s secrets.RotationStore, ws string, primary uint32) int {
	t.Helper()
	_, n, err := s.Stale(context.Background(), ws, secrets.StaleQuery{Keep: primary, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRotateKey(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		want := fillHistory(t, m, "ws", 90) // 270 versions: two batches
		mustSet(t, m, "other", "UNTOUCHED", "x")
		before, err := m.Keys(ctx, "ws")
		if err != nil || len(before) != 1 || !before[0].Primary {
			t.Fatalf("keys before: %+v %v", before, err)
		}
		var calls [][2]int
		res, err := m.RotateKey(ctx, "ws", func(done, total int) { calls = append(calls, [2]int{done, total}) })
		if err != nil {
			t.Fatal(err)
		}
		if res.Resumed || res.Reencrypted != 270 || len(res.Disabled) != 1 || res.Disabled[0] != before[0].ID {
			t.Fatalf("result %+v", res)
		}
		if last := calls[len(calls)-1]; last != [2]int{270, 270} || calls[0] != [2]int{0, 270} {
			t.Fatalf("progress calls %v", calls)
		}
		after, err := m.Keys(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		wantKeys := []secrets.KeyInfo{{ID: before[0].ID}, {ID: res.Primary, Primary: true, Enabled: true}}
		if d := cmp.Diff(wantKeys, after); d != "" {
			t.Fatalf("keys after (-want +got):\n%s", d)
		}
		if n := staleCount(t, s, "ws", res.Primary); n != 0 {
			t.Fatalf("%d versions still under the old key", n)
		}
		checkAll(t, m, "ws", want)
		checkAll(t, newManager(t, s, c, nil), "ws", want) // a cold replica too
		if got := mustGet(t, m, "other", "UNTOUCHED"); got != "x" {
			t.Fatal(got)
		}
		// A second rotation starts anew.
		res2, err := m.RotateKey(ctx, "ws", nil)
		if err != nil || res2.Resumed || res2.Primary == res.Primary || res2.Reencrypted != 270 {
			t.Fatalf("second rotation: %+v %v", res2, err)
		}
		checkAll(t, m, "ws", want)
	})
}

func TestKillSwitch(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		ts := &tamperStore{Store: s}
		c := newCipher(t)
		m := newManager(t, rotationStore{ts, s}, c, nil)
		mustSet(t, m, "ws", "TOKEN", "v1-value")
		oldEntry, err := s.Lookup(ctx, "ws", "TOKEN")
		if err != nil {
			t.Fatal(err)
		}
		old := oldEntry.Current
		res, err := m.RotateKey(ctx, "ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		// Someone puts the old ciphertext back (a restored backup, say).
		ts.version = func(v *secrets.Version) {
			if v.Version == old.Version {
				v.Ciphertext, v.KeyID = old.Ciphertext, old.KeyID
			}
		}
		expectDecryptFailure(t, m, "ws", "TOKEN") // the old key is disabled
		if err := m.SetKeyEnabled(ctx, "ws", res.Disabled[0], true); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, m, "ws", "TOKEN"); got != "v1-value" {
			t.Fatalf("re-enabled old key: %q", got)
		}
		if err := m.SetKeyEnabled(ctx, "ws", res.Disabled[0], false); err != nil {
			t.Fatal(err)
		}
		expectDecryptFailure(t, m, "ws", "TOKEN")
		if err := m.SetKeyEnabled(ctx, "ws", res.Primary, false); err == nil {
			t.Fatal("disabled the primary key")
		}
	})
}

// rotationStore gives a tamperStore the rotation methods of the store it
// wraps.
type rotationStore struct {
	*tamperStore
	rs secrets.RotationStore
}

func (r rotationStore) SetMasterKeyCheck(ctx context.Context, id string, check []byte) error {
	return r.rs.SetMasterKeyCheck(ctx, id, check)
}

func (r rotationStore) Stale(ctx context.Context, ws string, q secrets.StaleQuery) ([]secrets.Version, int, error) {
	return r.rs.Stale(ctx, ws, q)
}

func (r rotationStore) Reencrypt(ctx context.Context, ws string, gen int64, items []secrets.Reencryption) (int, error) {
	return r.rs.Reencrypt(ctx, ws, gen, items)
}

func (r rotationStore) ForeignKeys(ctx context.Context, q secrets.ForeignKeysQuery) ([]secrets.WrappedKey, int, error) {
	return r.rs.ForeignKeys(ctx, q)
}

// TestRotateInterrupted stops rotations at several points, with a
// cancelled context, and resumes them: nothing is lost, every version
// decrypts throughout, and at the end no version uses the old key.
func TestRotateInterrupted(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		want := fillHistory(t, m, "ws", 150) // 450 versions: three batches
		for stopAfter := range 4 {
			ctx, cancel := context.WithCancel(context.Background())
			calls := 0
			_, err := m.RotateKey(ctx, "ws", func(done, total int) {
				if calls++; calls > stopAfter {
					cancel()
				}
			})
			cancel()
			if stopAfter < 3 && !errors.Is(err, context.Canceled) {
				t.Fatalf("stop after %d: %v", stopAfter, err)
			}
			if stopAfter > 0 && stopAfter < 3 {
				// Its event says what it did before it stopped.
				evs, err := m.Events(context.Background(), secrets.EventQuery{Workspace: "ws", Action: secrets.ActionRotate, Newest: true, Limit: 1})
				if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeFailed || !strings.Contains(evs[0].Detail, "versions re-encrypted") {
					t.Fatalf("stop after %d: the event %+v, %v", stopAfter, evs, err)
				}
			}
			// Reads work in the middle of a rotation, in a cold replica too.
			checkAll(t, newManager(t, s, c, nil), "ws", want)
			res, err := m.RotateKey(context.Background(), "ws", nil)
			if err != nil {
				t.Fatalf("resume after %d: %v", stopAfter, err)
			}
			if stopAfter < 3 && !res.Resumed {
				t.Fatalf("stop after %d: the next call did not resume: %+v", stopAfter, res)
			}
			if n := staleCount(t, s, "ws", res.Primary); n != 0 {
				t.Fatalf("stop after %d: %d versions under old keys", stopAfter, n)
			}
			keys, _ := m.Keys(context.Background(), "ws")
			for _, k := range keys {
				if k.Enabled != k.Primary {
					t.Fatalf("stop after %d: keys %+v", stopAfter, keys)
				}
			}
			checkAll(t, m, "ws", want)
		}
	})
}

// TestRotateKilledConnection kills the connection of a re-encryption
// while it waits inside its statement, until the rotation gives up, then
// resumes it.
func TestRotateKilledConnection(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	want := fillHistory(t, m, "ws", 150)

	// After the first batch, a blocker holds the workspace's write lock, so
	// the next re-encryption waits for it inside the database.
	var blocker *sqlx.Tx
	calls := 0
	done := make(chan error, 1)
	go func() {
		_, err := m.RotateKey(context.Background(), "ws", func(d, total int) {
			if calls++; calls == 2 {
				var err error
				if blocker, err = db.Beginx(); err != nil {
					t.Error(err)
					return
				}
				if _, err := blocker.Exec("SELECT " + pq.QuoteIdentifier(s.Schema()) + ".lock_workspace('ws')"); err != nil {
					t.Error(err)
				}
			}
		})
		done <- err
	}()
	var rotErr error
	kills := 0
	for waiting := true; waiting; {
		select {
		case rotErr = <-done:
			waiting = false
		default:
			if pid, ok := blockedBackend(t, db, "reencrypt"); ok {
				db.Exec("SELECT pg_terminate_backend($1)", pid)
				kills++
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	if blocker != nil {
		blocker.Rollback()
	}
	if kills == 0 || rotErr == nil {
		t.Fatalf("%d kills; rotation returned %v", kills, rotErr)
	}
	var pe *pq.Error
	if errors.As(rotErr, &pe) {
		t.Fatalf("a *pq.Error reached the caller: %v", rotErr)
	}
	t.Logf("killed %d times: %v", kills, rotErr)
	checkAll(t, newManager(t, s, c, nil), "ws", want)
	res, err := m.RotateKey(context.Background(), "ws", nil)
	if err != nil || !res.Resumed {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if n := staleCount(t, s, "ws", res.Primary); n != 0 {
		t.Fatalf("%d versions under old keys", n)
	}
	checkAll(t, m, "ws", want)
}

// TestRotateUnderLoad: editors write and builds read while the key
// rotates, on Postgres, under -race. Every editor's write survives, every
// read succeeds, and no version is left under the old key.
func TestRotateUnderLoad(t *testing.T) {
	s := newPGStore(t, pgDB(t))
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	reader := newManager(t, s, c, nil)   // another replica, with its own cache
	want := fillHistory(t, m, "ws", 200) // 600 versions: three batches
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes, reads atomic.Int64
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("S_%03d", (w*67+i)%200)
				val := fmt.Sprintf("edit-%d-%d", w, i)
				mu.Lock()
				if _, err := m.Set(context.Background(), "ws", name, []byte(val), nil); err != nil {
					t.Error(err)
				}
				want[name] = val
				mu.Unlock()
				writes.Add(1)
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reader.EnvFor(context.Background(), "ws"); err != nil {
					t.Error(err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	// Batches are spaced out so that the editors and readers run between
	// them, not only before or after.
	res, err := m.RotateKey(context.Background(), "ws", func(done, total int) { time.Sleep(30 * time.Millisecond) })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if writes.Load() == 0 || reads.Load() == 0 {
		t.Fatalf("no concurrent load: %d writes, %d reads", writes.Load(), reads.Load())
	}
	t.Logf("during rotation: %d writes, %d EnvFor calls, %d versions re-encrypted", writes.Load(), reads.Load(), res.Reencrypted)
	if n := staleCount(t, s, "ws", res.Primary); n != 0 {
		t.Fatalf("%d versions under old keys", n)
	}
	checkAll(t, reader, "ws", want)
}

// TestReplicaReloadsRotatedKey: a replica whose cache holds the old
// keyset reads what another replica re-encrypted, and writes, without an
// error and without being rebuilt.
func TestReplicaReloadsRotatedKey(t *testing.T) {
	s1 := newPGStore(t, pgPools[0].open(t, 4))
	s2 := sameSchema(t, pgPools[0].open(t, 4), s1)
	c := newCipher(t)
	cold := &countingCipher{Cipher: c}
	r1, r2 := newManager(t, s1, c, nil), newManager(t, s2, cold, nil)
	ctx := context.Background()
	want := fillHistory(t, r1, "ws", 5)
	checkAll(t, r2, "ws", want) // r2 caches the keyset
	if _, err := r1.RotateKey(ctx, "ws", nil); err != nil {
		t.Fatal(err)
	}
	unwraps := cold.decrypts.Load()
	checkAll(t, r2, "ws", want)
	if cold.decrypts.Load() != unwraps+1 {
		t.Fatalf("r2 unwrapped %d times after the rotation, want once", cold.decrypts.Load()-unwraps)
	}
	// r2 writes; r1 reads it.
	if _, err := r1.RotateKey(ctx, "ws", nil); err != nil { // r2's cache is stale again
		t.Fatal(err)
	}
	mustSet(t, r2, "ws", "S_000", "from-r2")
	if got := mustGet(t, r1, "ws", "S_000"); got != "from-r2" {
		t.Fatalf("r1 reads %q", got)
	}
	keys, _ := r1.Keys(ctx, "ws")
	v, _ := s1.Lookup(ctx, "ws", "S_000")
	for _, k := range keys {
		if k.ID == v.Current.KeyID && !k.Primary {
			t.Fatalf("r2 wrote under the retired key %d", k.ID)
		}
	}
}

func TestRewrap(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		oldKey, newKey := newCipher(t), newCipher(t)
		m := newManager(t, s, oldKey, nil)
		wants := map[string]map[string]string{}
		for i := range 7 {
			ws := fmt.Sprint("ws-", i)
			wants[ws] = fillHistory(t, m, ws, 2)
		}
		moving := newManager(t, s, newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true})
		// Both keys work during the move.
		for ws, want := range wants {
			checkAll(t, moving, ws, want)
		}
		// Interrupted after three keys, then resumed.
		cctx, cancel := context.WithCancel(ctx)
		res, err := moving.Rewrap(cctx, &secrets.RewrapOptions{Progress: func(done, total int) {
			if done == 3 {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) || res.Rewrapped != 3 {
			t.Fatalf("interrupted rewrap: %+v, %v", res, err)
		}
		var calls [][2]int
		res, err = moving.Rewrap(ctx, &secrets.RewrapOptions{Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
		if err != nil || res.Rewrapped != 4 {
			t.Fatalf("resumed rewrap: %+v, %v", res, err)
		}
		if calls[0] != [2]int{0, 4} || calls[len(calls)-1] != [2]int{4, 4} {
			t.Fatalf("progress %v", calls)
		}
		if _, n, _ := s.ForeignKeys(ctx, secrets.ForeignKeysQuery{CipherID: newKey.ID(), Limit: 10}); n != 0 {
			t.Fatalf("%d keys not moved", n)
		}
		// The old master key is no longer needed, and no longer enough.
		onlyNew := newManager(t, s, newKey, nil)
		onlyOld := newManager(t, s, oldKey, nil)
		for ws, want := range wants {
			checkAll(t, onlyNew, ws, want)
			if _, err := onlyOld.EnvFor(ctx, ws); !errors.Is(err, secrets.ErrDecrypt) {
				t.Fatalf("old master key after rewrap: %v", err)
			}
		}
		if res, err := moving.Rewrap(ctx, nil); err != nil || res.Rewrapped != 0 {
			t.Fatalf("rewrap with nothing to do: %+v %v", res, err)
		}
		// All re-wraps every key anew (what a KMS key's new version
		// needs): new ciphertexts, new generations, the same secrets.
		before, err := s.Key(ctx, "ws-0")
		if err != nil {
			t.Fatal(err)
		}
		calls = nil
		res, err = onlyNew.Rewrap(ctx, &secrets.RewrapOptions{All: true, Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }})
		if err != nil || res.Rewrapped != 7 || calls[0] != [2]int{0, 7} || calls[len(calls)-1] != [2]int{7, 7} {
			t.Fatalf("rewrap all: %+v %v, progress %v", res, err, calls)
		}
		after, err := s.Key(ctx, "ws-0")
		if err != nil || bytes.Equal(after.Ciphertext, before.Ciphertext) || after.Generation <= before.Generation || after.CipherID != newKey.ID() {
			t.Fatalf("ws-0's key after rewrap all: %v", err)
		}
		for ws, want := range wants {
			checkAll(t, newManager(t, s, newKey, nil), ws, want)
		}
		// Without the old key among DecryptOnly, Rewrap says which is left.
		mustSet(t, m, "late", "X", "old-key-write")
		res, err = onlyNew.Rewrap(ctx, nil)
		if !errors.Is(err, secrets.ErrIncomplete) || len(res.Left) != 1 || res.Left[0].Workspace != "late" || !strings.Contains(res.Left[0].Reason, oldKey.ID()) {
			t.Fatalf("rewrap without the old key: %+v %v", res, err)
		}
	})
}

func TestDeleteWorkspace(t *testing.T) {
	eachRotationStore(t, func(t *testing.T, s secrets.RotationStore) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		fillHistory(t, m, "doomed", 3)
		want := fillHistory(t, m, "kept", 2)
		before, err := m.Events(ctx, secrets.EventQuery{Workspace: "doomed", Limit: 1000})
		if err != nil || len(before) == 0 {
			t.Fatalf("events before: %d, %v", len(before), err)
		}
		if err := m.DeleteWorkspace(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		// Its events are kept, and the deletion's is one more.
		after, err := m.Events(ctx, secrets.EventQuery{Workspace: "doomed", Limit: 1000})
		if err != nil || len(after) != len(before)+1 || after[len(after)-1].Action != secrets.ActionDeleteWorkspace {
			t.Fatalf("events after the delete: %d of %d, %v", len(after), len(before), err)
		}
		if env, err := m.EnvFor(ctx, "doomed"); err != nil || len(env) != 0 {
			t.Fatalf("after delete: %v %v", env, err)
		}
		if _, err := s.Key(ctx, "doomed"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("key after delete: %v", err)
		}
		if _, n, _ := s.Stale(ctx, "doomed", secrets.StaleQuery{Limit: 1}); n != 0 {
			t.Fatalf("%d versions left", n)
		}
		checkAll(t, m, "kept", want)
		if err := m.DeleteWorkspace(ctx, "never-existed"); err != nil {
			t.Fatal(err)
		}
		// The name can be used again, under a new key.
		mustSet(t, m, "doomed", "S_000", "reborn")
		if got := mustGet(t, m, "doomed", "S_000"); got != "reborn" {
			t.Fatal(got)
		}
	})
}

func (r rotationStore) Workspaces(ctx context.Context, q secrets.WorkspacesQuery) ([]string, error) {
	return r.rs.Workspaces(ctx, q)
}

// TestRewrapKilledConnection kills the connection of a key write while it
// waits for the workspace's lock, until Rewrap gives up; resumed, it moves
// every key.
func TestRewrapKilledConnection(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	oldKey, newKey := newCipher(t), newCipher(t)
	m := newManager(t, s, oldKey, nil)
	wants := map[string]map[string]string{}
	for i := range 4 {
		ws := fmt.Sprint("ws-", i)
		wants[ws] = fillHistory(t, m, ws, 2)
	}
	moving := newManager(t, s, newKey, &secrets.Config{DecryptOnly: []secrets.Cipher{oldKey}, AddMasterKey: true})
	blocker, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec("SELECT " + pq.QuoteIdentifier(s.Schema()) + ".lock_workspace('ws-2')"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := moving.Rewrap(context.Background(), nil)
		done <- err
	}()
	var rwErr error
	kills := 0
	for waiting := true; waiting; {
		select {
		case rwErr = <-done:
			waiting = false
		default:
			if pid, ok := blockedBackend(t, db, "put_key"); ok {
				db.Exec("SELECT pg_terminate_backend($1)", pid)
				kills++
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	blocker.Rollback()
	if kills == 0 || rwErr == nil {
		t.Fatalf("%d kills; Rewrap returned %v", kills, rwErr)
	}
	// Halfway: every workspace reads, through either key.
	for ws, want := range wants {
		checkAll(t, moving, ws, want)
	}
	res, err := moving.Rewrap(context.Background(), nil)
	if err != nil || res.Rewrapped == 0 {
		t.Fatalf("resumed Rewrap: %+v %v", res, err)
	}
	onlyNew := newManager(t, s, newKey, nil)
	for ws, want := range wants {
		checkAll(t, onlyNew, ws, want)
	}
}
