package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// pausingStore passes every call to a Store but can stop a reader between
// its read (Env or Lookup) and the rest of its work: the window in which
// another replica rotates or deletes the key.
type pausingStore struct {
	secrets.RotationStore
	mu     sync.Mutex
	pause  chan struct{} // closed by the test to let the paused reader go on
	paused chan struct{} // closed when a reader is paused
}

// armed makes the next Env or Lookup pause after reading.
func (s *pausingStore) arm() (paused <-chan struct{}, resume func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pause, s.paused = make(chan struct{}), make(chan struct{})
	p := s.pause
	return s.paused, func() { close(p) }
}

func (s *pausingStore) wait() {
	s.mu.Lock()
	pause, paused := s.pause, s.paused
	s.pause, s.paused = nil, nil
	s.mu.Unlock()
	if pause != nil {
		close(paused)
		<-pause
	}
}

func (s *pausingStore) Env(ctx context.Context, ws string, q secrets.EnvQuery) (secrets.Snapshot, error) {
	snap, err := s.RotationStore.Env(ctx, ws, q)
	s.wait()
	return snap, err
}

func (s *pausingStore) Lookup(ctx context.Context, ws, name string) (secrets.Entry, error) {
	e, err := s.RotationStore.Lookup(ctx, ws, name)
	s.wait()
	return e, err
}

// A reader that read its rows under the old key while another replica
// finished a rotation (re-encrypted, disabled the old key) reads again
// under the new key: a rotation is never reported as tampering. With a
// cold cache, and with a warm one holding the old keyset.
func TestRotationRaceIsNotTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newCipher(t)
		for _, warm := range []bool{false, true} {
			ps := &pausingStore{RotationStore: b.replica(t).(secrets.RotationStore)}
			reader := newManager(t, ps, c, nil)
			rotator := newManager(t, b.replica(t), c, nil)
			ws := fmt.Sprint("ws-warm-", warm)
			want := map[string]string{}
			for i := range 5 {
				name := fmt.Sprint("S_", i)
				want[name] = fmt.Sprint("value-", i)
				mustSet(t, rotator, ws, name, want[name])
			}
			if warm {
				envMap(t, reader, ws) // the reader caches the old keyset
			}
			for what, read := range map[string]func() error{
				"EnvFor": func() error {
					got, err := reader.EnvFor(context.Background(), ws)
					if err == nil && len(got) != 5 {
						err = fmt.Errorf("%d entries", len(got))
					}
					return err
				},
				// A job with an environment reads as one with levels
				// (readLevels), which reloads the key too (a promise
				// audit: only this test's two other reads were tried).
				"Prepare in an environment": func() error {
					p, err := reader.Prepare(context.Background(), ws, &secrets.PrepareOptions{Environment: "production", Base: []string{}})
					if err != nil {
						return err
					}
					defer p.Close()
					if len(p.Env) != 5 {
						return fmt.Errorf("%d variables", len(p.Env))
					}
					return nil
				},
				"Get": func() error {
					s, err := reader.Get(context.Background(), ws, "S_3")
					if err == nil && string(s.Value.Reveal()) != want["S_3"] {
						err = fmt.Errorf("value %q", s.Value.Reveal())
					}
					return err
				},
			} {
				paused, resume := ps.arm()
				done := make(chan error, 1)
				go func() { done <- read() }()
				<-paused
				res, err := rotator.RotateKey(context.Background(), ws, nil)
				if err != nil || len(res.Disabled) != 1 {
					t.Fatalf("rotation: %+v %v", res, err)
				}
				resume()
				if err := <-done; err != nil {
					t.Fatalf("warm %t, %s across a rotation: %v", warm, what, err)
				}
			}
			if d := cmp.Diff(want, envMap(t, reader, ws)); d != "" {
				t.Fatalf("after the rotations (-want +got):\n%s", d)
			}
		}
	})
}

// A replica that holds a deleted workspace's key cannot write under it
// once the workspace is made again with a new key: its write is refused
// and retried under the new key, and nothing becomes undecryptable.
func TestDeletedAndRecreatedWorkspace(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newCipher(t)
		a, bb := newManager(t, b.replica(t), c, nil), newManager(t, b.replica(t), c, nil)
		reader := newManager(t, b.replica(t), c, nil)
		ctx := context.Background()
		mustSet(t, a, "ws", "OLD", "old-value")
		mustGet(t, bb, "ws", "OLD")     // B caches the key
		mustGet(t, reader, "ws", "OLD") // and so does the reader
		if err := a.DeleteWorkspace(ctx, "ws"); err != nil {
			t.Fatal(err)
		}
		mustSet(t, a, "ws", "FIRST", "after-recreate") // a new key, generation new
		// The reader's next read, with the former key cached, gets the new
		// workspace's value.
		if d := cmp.Diff(map[string]string{"FIRST": "after-recreate"}, envMap(t, reader, "ws")); d != "" {
			t.Fatalf("a replica's next read after the recreate (-want +got):\n%s", d)
		}
		mustSet(t, bb, "ws", "FROM_B", "b-value") // B's cached key is refused; it retries
		want := map[string]string{"FIRST": "after-recreate", "FROM_B": "b-value"}
		for _, m := range []*secrets.Manager{a, bb, newManager(t, b.replica(t), c, nil)} {
			if d := cmp.Diff(want, envMap(t, m, "ws")); d != "" {
				t.Fatalf("after the recreate (-want +got):\n%s", d)
			}
		}
	})
}

// A kill switch holds on every replica from its next read, whatever the
// key cache's TTL.
func TestKillSwitchOnEveryReplica(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		c := newCipher(t)
		cfg := &secrets.Config{KeyCacheTTL: time.Hour}
		a, other := newManager(t, b.replica(t), c, cfg), newManager(t, b.replica(t), c, cfg)
		ctx := context.Background()
		mustSet(t, a, "ws", "TOKEN", "under-the-first-key")
		keys, err := a.Keys(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		first := keys[0].ID
		// A rotation interrupted after its new key: the value is still
		// under the first key, which is enabled.
		cctx, cancel := context.WithCancel(ctx)
		a.RotateKey(cctx, "ws", func(int, int) { cancel() })
		cancel()
		if got := mustGet(t, other, "ws", "TOKEN"); got != "under-the-first-key" {
			t.Fatal(got) // other caches this keyset
		}
		if err := a.SetKeyEnabled(ctx, "ws", 424242, false); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("a key the keyset does not have: %v", err)
		}
		if err := a.SetKeyEnabled(ctx, "no-key-yet", first, false); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("a workspace without a key: %v", err)
		}
		if keys, _ = a.Keys(ctx, "ws"); len(keys) != 2 {
			t.Fatalf("keys after the interrupted rotation: %+v", keys)
		}
		for _, k := range keys {
			if err := a.SetKeyEnabled(ctx, "ws", k.ID, false); k.Primary != errors.Is(err, secrets.ErrConflict) || !k.Primary && err != nil {
				t.Fatalf("disabling key %+v: %v", k, err)
			}
		}
		if _, err := other.Get(ctx, "ws", "TOKEN"); !errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("the other replica's next Get after the kill switch: %v", err)
		}
		if env, err := other.EnvFor(ctx, "ws"); !errors.Is(err, secrets.ErrDecrypt) || env != nil {
			t.Fatalf("the other replica's next EnvFor after the kill switch: %v", err)
		}
		if err := a.SetKeyEnabled(ctx, "ws", first, true); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, other, "ws", "TOKEN"); got != "under-the-first-key" {
			t.Fatal(got)
		}
	})
}

// blockingCipher holds every Decrypt until released.
type blockingCipher struct {
	secrets.Cipher
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (c *blockingCipher) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	c.once.Do(func() { close(c.started) })
	select {
	case <-c.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.Cipher.Decrypt(ctx, ct, ad)
}

// A caller waiting for another caller's key load returns at its own
// deadline with its own error; when the loader's context ends, a waiter
// loads for itself.
func TestKeyWaitersHonourTheirContext(t *testing.T) {
	c := newCipher(t)
	s := secrets.NewMemoryStore()
	mustSet(t, newManager(t, s, c, nil), "ws", "TOKEN", "v")
	bc := &blockingCipher{Cipher: c, started: make(chan struct{}), release: make(chan struct{})}
	m := newManager(t, s, bc, nil)
	loaderCtx, cancelLoader := context.WithCancel(context.Background())
	loader := make(chan error, 1)
	go func() { _, err := m.EnvFor(loaderCtx, "ws"); loader <- err }()
	<-bc.started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := m.EnvFor(ctx, "ws")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 3*time.Second {
		t.Fatalf("a waiter with a 100 ms deadline: %v after %v", err, time.Since(t0))
	}
	waiter := make(chan error, 1)
	go func() { _, err := m.EnvFor(context.Background(), "ws"); waiter <- err }()
	cancelLoader()
	if err := <-loader; !errors.Is(err, context.Canceled) {
		t.Fatalf("loader: %v", err)
	}
	close(bc.release)
	if err := <-waiter; err != nil {
		t.Fatalf("a waiter whose loader gave up: %v", err)
	}
}

// A version that cannot be decrypted does not stop a rotation: the rest
// is re-encrypted, the result says what is left and why, the old key
// stays enabled, and once the bad secret is dealt with the rotation
// resumes and finishes. Re-wrap goes past a key of a foreign master key
// the same way.
func TestRotationAndRewrapGoPastBadItems(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.replica(t).(secrets.RotationStore)
		c := newCipher(t)
		m := newManager(t, s, c, nil)
		want := fillHistory(t, m, "ws", 20) // 60 versions
		mustSet(t, m, "ws", "CORRUPT", "about-to-break")
		bad, err := s.Lookup(ctx, "ws", "CORRUPT")
		if err != nil {
			t.Fatal(err)
		}
		// A corrupted row: garbage under the same data key ID.
		junk := append([]byte{}, bad.Current.Ciphertext...)
		junk[len(junk)-1] ^= 1
		gen := bad.Current.KeyGen
		if n, err := s.Reencrypt(ctx, "ws", gen, []secrets.Reencryption{{SecretID: bad.SecretID, Version: 1, FromKeyID: bad.Current.KeyID,
			FromFormat: 2, Ciphertext: junk, KeyID: bad.Current.KeyID, Format: 2}}); err != nil || n != 1 {
			t.Fatalf("corrupting: %d %v", n, err)
		}
		var calls [][2]int
		track := func(done, total int) { calls = append(calls, [2]int{done, total}) }
		steady := func(what string, n int) {
			t.Helper()
			for _, c := range calls {
				if c[1] != n || c[0] > n {
					t.Fatalf("%s progress %v: the total moved off %d", what, calls, n)
				}
			}
			if calls[len(calls)-1][0] != n {
				t.Fatalf("%s progress %v ends short of %d", what, calls, n)
			}
			calls = nil
		}
		res, err := m.RotateKey(ctx, "ws", track)
		steady("rotation", 61)
		if !errors.Is(err, secrets.ErrIncomplete) || res.Reencrypted != 60 || len(res.Left) != 1 || res.Left[0].Name != "CORRUPT" || len(res.Disabled) != 0 {
			t.Fatalf("rotation past a corrupted row: %+v %v", res, err)
		}
		if n := staleCount(t, s, "ws", res.Primary); n != 1 {
			t.Fatalf("%d versions left under the old key, want the corrupted one", n)
		}
		if err := m.Destroy(ctx, "ws", "CORRUPT", nil); err != nil {
			t.Fatal(err)
		}
		// No version is left under the former key: the next rotation is
		// a new one (a key enabled with nothing under it does not keep
		// the primary: TestRotateAfterFormerKeyEnabled).
		first := res.Primary
		res, err = m.RotateKey(ctx, "ws", nil)
		if err != nil || res.Resumed || res.Primary == first || len(res.Disabled) != 2 || res.Reencrypted != 60 {
			t.Fatalf("rotation after the left version was destroyed: %+v %v", res, err)
		}
		checkAll(t, newManager(t, s, c, nil), "ws", want)

		// Re-wrap: one workspace's key wrapped by a master key nobody has.
		foreign := newManager(t, s, newCipher(t), &secrets.Config{AddMasterKey: true})
		mustSet(t, foreign, "foreign", "X", "unreachable")
		mustSet(t, m, "other", "Y", "y")
		next := newCipher(t)
		moving := newManager(t, s, next, &secrets.Config{DecryptOnly: []secrets.Cipher{c}, AddMasterKey: true})
		rw, err := moving.Rewrap(ctx, &secrets.RewrapOptions{Progress: track})
		steady("re-wrap", 3)
		if !errors.Is(err, secrets.ErrIncomplete) || rw.Rewrapped != 2 || len(rw.Left) != 1 || rw.Left[0].Workspace != "foreign" {
			t.Fatalf("re-wrap past a foreign key: %+v %v", rw, err)
		}
		onlyNext := newManager(t, s, next, nil)
		checkAll(t, onlyNext, "ws", want)
		if mustGet(t, onlyNext, "other", "Y") != "y" {
			t.Fatal("other not re-wrapped")
		}
	})
}

// A Manager whose master key the Store has never seen refuses to create
// workspace keys, before anything is written; a first start registers its
// key, and an added key (a move to a KMS) works when asked for.
func TestUnknownMasterKeyIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.replica(t)
		right := newCipher(t)
		mustSet(t, newManager(t, s, right, nil), "ws", "A", "a") // first start
		for what, c := range map[string]secrets.Cipher{
			"a wrong key file":           newCipher(t),
			"a wrong key under right ID": renamedCipher{Cipher: newCipher(t), id: right.ID()},
		} {
			m := newManager(t, s, c, nil)
			_, err := m.Set(ctx, "new-ws", "B", []byte("b"), nil)
			var mke *secrets.MasterKeyError
			if !errors.As(err, &mke) || mke.ID != c.ID() || strings.Contains(err.Error(), "keyData") {
				t.Fatalf("%s: %v", what, err)
			}
			if _, err := s.Key(ctx, "new-ws"); !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("%s: a key was written: %v", what, err)
			}
			if _, err := m.RotateKey(ctx, "ws", nil); !errors.Is(err, secrets.ErrMasterKey) {
				t.Fatalf("%s: RotateKey %v", what, err)
			}
		}
		added := newCipher(t)
		m := newManager(t, s, added, &secrets.Config{AddMasterKey: true, DecryptOnly: []secrets.Cipher{right}})
		mustSet(t, m, "kms-ws", "C", "c")
		if res, err := m.Rewrap(ctx, nil); err != nil || res.Rewrapped != 1 {
			t.Fatalf("re-wrap to the added key: %+v %v", res, err)
		}
		if got := mustGet(t, newManager(t, s, added, nil), "ws", "A"); got != "a" {
			t.Fatal(got)
		}
	})
}

// Create-only writes of distinct new names, racing on replicas whose
// pools default to SERIALIZABLE, all succeed: no false conflict.
func TestCreatesUnderSerializablePools(t *testing.T) {
	p := pgPool{driver: "postgres", isolation: "serializable"}
	first := newPGStore(t, p.db(t))
	c := newCipher(t)
	var replicas []*secrets.Manager
	for range 4 {
		replicas = append(replicas, newManager(t, sameSchema(t, p.open(t, 4), first), c, nil))
	}
	mustSet(t, replicas[0], "ws", "SEED", "x")
	var wg sync.WaitGroup
	var fails atomic.Int32
	for i := range 80 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := replicas[i%4].Set(context.Background(), "ws", fmt.Sprint("NEW_", i), []byte("v"), &secrets.SetOptions{IfAbsent: true})
			if err != nil {
				fails.Add(1)
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := len(envMap(t, replicas[1], "ws")); n != 81 || fails.Load() != 0 {
		t.Fatalf("%d secrets, %d failed creates", n, fails.Load())
	}
}

// soakDuration is how long TestKeyLifecycleSoak runs: SECRETS_SOAK
// (scripts/soak sets 20s), else 3 seconds.
func soakDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("SECRETS_SOAK")); err == nil && d > 0 {
		return d
	}
	return 3 * time.Second
}

// TestKeyLifecycleSoak: one replica rotates the key and flips a retired
// key on and off while four others inject and write. No read fails, no
// write is lost, and every value reads on every replica afterwards. On
// Postgres also through PgBouncer in transaction pooling mode.
func TestKeyLifecycleSoak(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	eachBackendAnd(t, bouncerPools, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		admin := newManager(t, b.replica(t), c, nil)
		workers := make([]*secrets.Manager, 4)
		for i := range workers {
			workers[i] = newManager(t, b.replica(t), c, &secrets.Config{KeyCacheTTL: time.Hour})
		}
		fillHistory(t, admin, "ws", 10)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var reads, writes, rotations, flips atomic.Int64
		last := make([]int, len(workers))
		for w, m := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprint("W_", w)
				for i := 1; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := m.Set(ctx, "ws", name, []byte(strconv.Itoa(i)), nil); err != nil {
						t.Errorf("worker %d write: %v", w, err)
						return
					}
					last[w] = i
					writes.Add(1)
					env, err := m.EnvFor(ctx, "ws")
					if err != nil {
						t.Errorf("worker %d EnvFor: %v", w, err)
						return
					}
					reads.Add(1)
					if !slices.Contains(env, name+"="+strconv.Itoa(i)) {
						t.Errorf("worker %d does not read its own write %d", w, i)
						return
					}
				}
			}()
		}
		deadline := time.Now().Add(soakDuration())
		var retired uint32
		for time.Now().Before(deadline) {
			res, err := admin.RotateKey(ctx, "ws", nil)
			if err != nil {
				t.Errorf("rotation: %v", err)
				break
			}
			rotations.Add(1)
			retired = res.Disabled[0]
			for range 3 {
				if err := admin.SetKeyEnabled(ctx, "ws", retired, true); err != nil {
					t.Errorf("enable: %v", err)
				}
				if err := admin.SetKeyEnabled(ctx, "ws", retired, false); err != nil {
					t.Errorf("disable: %v", err)
				}
				flips.Add(2)
			}
		}
		close(stop)
		wg.Wait()
		t.Logf("%s: %d rotations, %d key flips, %d writes, %d EnvFor calls, no error", b.name, rotations.Load(), flips.Load(), writes.Load(), reads.Load())
		for _, m := range append(workers, admin, newManager(t, b.replica(t), c, nil)) {
			env := envMap(t, m, "ws")
			for w := range workers {
				if got := env[fmt.Sprint("W_", w)]; got != strconv.Itoa(last[w]) {
					t.Fatalf("worker %d's last write %d reads as %q: lost", w, last[w], got)
				}
			}
		}
		if rotations.Load() == 0 || reads.Load() == 0 {
			t.Fatal("no load")
		}
	})
}

// keyLossStore passes every call to a real Store, but its Key fails with
// err, as it does when the database goes away (a failover).
type keyLossStore struct {
	secrets.Store
	err error
}

func (s keyLossStore) Key(context.Context, string) (secrets.WrappedKey, error) {
	return secrets.WrappedKey{}, s.err
}

// TestEnvForKeyReadFailureIsNotDecrypt: when the Store cannot read the
// workspace key (the connection lost in a failover), EnvFor fails with
// that cause, not ErrDecrypt: nothing was decrypted, nothing tampered
// with. The same for a job of a workspace with parents, and for a
// cancelled call.
func TestEnvForKeyReadFailureIsNotDecrypt(t *testing.T) {
	ctx := context.Background()
	s := secrets.NewMemoryStore()
	c := newCipher(t)
	m := newManager(t, s, c, nil)
	mustSet(t, m, "parent", "SHARED", "shared-value")
	mustSet(t, m, "ws", "TOKEN", "token-value")
	lost := errors.New("the connection to the database was lost")
	parents := func(_ context.Context, ws string) ([]string, error) {
		if ws == "ws" {
			return []string{"parent"}, nil
		}
		return nil, nil
	}
	for _, cfg := range []*secrets.Config{nil, {Parents: parents}} {
		// A new Manager: no key cached.
		m := newManager(t, keyLossStore{Store: s, err: lost}, c, cfg)
		env, err := m.EnvFor(ctx, "ws")
		if env != nil || !errors.Is(err, lost) || errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("parents %v: EnvFor with the key unreadable: %d values, %v; want the cause, not ErrDecrypt", cfg != nil, len(env), err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		m = newManager(t, keyLossStore{Store: s, err: cctx.Err()}, c, cfg)
		if _, err := m.EnvFor(cctx, "ws"); !errors.Is(err, context.Canceled) || errors.Is(err, secrets.ErrDecrypt) {
			t.Fatalf("parents %v: EnvFor cancelled: %v; want context.Canceled, not ErrDecrypt", cfg != nil, err)
		}
	}
}
