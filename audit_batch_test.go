package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// A gatedStore counts Store.Record calls and the events each carried, and
// holds the calls numbered in gates until their channel is closed.
type gatedStore struct {
	secrets.Store
	failActor string // the memory store's stand-in for the trigger: fails a batch with this actor

	mu      sync.Mutex
	calls   []recordCall
	gates   map[int]chan struct{}
	started chan int // told each call's number as it starts
}

type recordCall struct {
	actors []string
	err    error
}

func (g *gatedStore) Record(ctx context.Context, events []secrets.Event) error {
	g.mu.Lock()
	n := len(g.calls)
	c := recordCall{}
	for _, e := range events {
		c.actors = append(c.actors, e.Actor)
	}
	g.calls = append(g.calls, c)
	gate := g.gates[n]
	started := g.started
	g.mu.Unlock()
	if started != nil {
		started <- n
	}
	if gate != nil {
		<-gate
	}
	var err error
	if g.failActor != "" && slices.Contains(c.actors, g.failActor) {
		err = errors.New("poisoned batch")
	} else {
		err = g.Store.Record(ctx, events)
	}
	g.mu.Lock()
	g.calls[n].err = err
	g.mu.Unlock()
	return err
}

func (g *gatedStore) snapshot() []recordCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// groupStores runs fn on the memory store and on Postgres.
func groupStores(t *testing.T, fn func(t *testing.T, s secrets.Store, pg *secrets.PostgresStore)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, secrets.NewMemoryStore(), nil)
	})
	t.Run("postgres", func(t *testing.T) {
		pgURL(t)
		t.Parallel()
		s := newPGStore(t, pgPools[0].open(t, 16))
		fn(t, s, s)
	})
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestReadGroupCommit: jobs with parents, whose events are recorded
// durably after the read, share flushes. While one Store.Record is held,
// N more jobs queue; the next flush is one Record call carrying all N
// events, and each job's OnEvent gets its own event with the ID the Store
// gave it.
func TestReadGroupCommit(t *testing.T) {
	groupStores(t, func(t *testing.T, inner secrets.Store, _ *secrets.PostgresStore) {
		const n = 12
		ctx := context.Background()
		g := &gatedStore{Store: inner}
		var mu sync.Mutex
		ids := map[string]int64{}
		m := newManager(t, g, newCipher(t), &secrets.Config{Parents: chain(wsLevels), AuditReads: secrets.AuditFailClosed,
			OnEvent: func(_ context.Context, e secrets.Event) {
				mu.Lock()
				defer mu.Unlock()
				ids[e.Actor] = e.ID
			}})
		mustSet(t, m, "ws", "A", "1")
		mustSet(t, m, "group:acme", "B", "2")

		hold := make(chan struct{})
		g.mu.Lock()
		g.gates = map[int]chan struct{}{0: hold}
		g.started = make(chan int, n+2)
		g.mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, n+1)
		job := func(i int) {
			defer wg.Done()
			env, err := m.EnvFor(secrets.WithActor(ctx, fmt.Sprint("job-", i)), "ws")
			if err == nil && len(env) != 2 {
				err = fmt.Errorf("got %d variables", len(env))
			}
			errs[i] = err
		}
		wg.Add(1)
		go job(0)
		if c := <-g.started; c != 0 {
			t.Fatalf("first Record call numbered %d", c)
		}
		wg.Add(n)
		for i := 1; i <= n; i++ {
			go job(i)
		}
		waitFor(t, "the jobs to queue", func() bool { return secrets.QueuedReads(m) == n })
		close(hold)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		calls := g.snapshot()
		if len(calls) != 2 || len(calls[0].actors) != 1 || len(calls[1].actors) != n {
			t.Fatalf("Record calls: %+v, want one of 1 event then one of %d", calls, n)
		}
		seen := map[int64]bool{}
		for i := 0; i <= n; i++ {
			actor := fmt.Sprint("job-", i)
			id := ids[actor]
			es, err := m.Events(ctx, secrets.EventQuery{Actor: actor})
			if err != nil || len(es) != 1 || es[0].ID != id || id == 0 || seen[id] {
				t.Fatalf("%s: OnEvent ID %d, stored %+v, %v", actor, id, es, err)
			}
			seen[id] = true
		}
	})
}

// TestReadGroupCommitRace: 64 concurrent jobs with parents, under
// AuditFailClosed and -race. A first flush is held while 31 jobs queue,
// and one of them gives up (its context cancelled) while queued; the
// second flush is held while the other 32 queue, and one of its own gives
// up while it flies; the third batch holds the event of "poison", which a
// trigger on the audit table refuses (on the memory store, the Store
// wrapper fails it). Every job that returned values has its event in the
// Store; every job of the failed batch got ErrAudit and has none; the
// cancelled jobs got their context's error and no values.
func TestReadGroupCommitRace(t *testing.T) {
	groupStores(t, func(t *testing.T, inner secrets.Store, pg *secrets.PostgresStore) {
		ctx := context.Background()
		g := &gatedStore{Store: inner}
		if pg == nil {
			g.failActor = "poison"
		} else {
			sch := pq.QuoteIdentifier(pg.Schema())
			db := pgDB(t)
			if _, err := db.Exec(fmt.Sprintf(`CREATE FUNCTION %[1]s.poison() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN IF NEW.actor = 'poison' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$;
				CREATE TRIGGER poison BEFORE INSERT ON %[1]s.audit FOR EACH ROW EXECUTE FUNCTION %[1]s.poison()`, sch)); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		published := map[string]int64{}
		m := newManager(t, g, newCipher(t), &secrets.Config{Parents: chain(wsLevels), AuditReads: secrets.AuditFailClosed,
			OnEvent: func(_ context.Context, e secrets.Event) {
				mu.Lock()
				defer mu.Unlock()
				published[e.Actor] = e.ID
			}})
		mustSet(t, m, "ws", "A", "1")
		mustSet(t, m, "instance", "B", "2")

		const jobs, queuedGone, flyingGone, poison = 64, 13, 20, 40
		actor := func(i int) string {
			if i == poison {
				return "poison"
			}
			return fmt.Sprint("job-", i)
		}
		holdA, holdB := make(chan struct{}), make(chan struct{})
		g.mu.Lock()
		g.gates = map[int]chan struct{}{0: holdA, 1: holdB}
		g.started = make(chan int, 8)
		g.mu.Unlock()
		ctxs := make([]context.Context, jobs)
		cancels := make([]context.CancelFunc, jobs)
		for i := range jobs {
			ctxs[i], cancels[i] = context.WithCancel(secrets.WithActor(ctx, actor(i)))
			defer cancels[i]()
		}
		var wg sync.WaitGroup
		envs := make([][]string, jobs)
		errs := make([]error, jobs)
		returned := make([]chan struct{}, jobs)
		start := func(from, to int) {
			for i := from; i < to; i++ {
				returned[i] = make(chan struct{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer close(returned[i])
					envs[i], errs[i] = m.EnvFor(ctxs[i], "ws")
				}()
			}
		}
		start(0, 1)
		<-g.started // batch A: job 0, held
		start(1, 32)
		waitFor(t, "31 jobs to queue", func() bool { return secrets.QueuedReads(m) == 31 })
		cancels[queuedGone]()
		select {
		case <-returned[queuedGone]:
		case <-time.After(5 * time.Second):
			t.Fatal("a job cancelled while queued is still waiting")
		}
		close(holdA)
		<-g.started // batch B: jobs 1..31 but 13, held
		start(32, 64)
		waitFor(t, "32 more jobs to queue", func() bool { return secrets.QueuedReads(m) == 32 })
		cancels[flyingGone]()
		select {
		case <-returned[flyingGone]:
		case <-time.After(5 * time.Second):
			t.Fatal("a job cancelled while its batch flies is still waiting")
		}
		close(holdB)
		wg.Wait()

		// Batch B's flush also voids the event of the job that left it
		// (a Record of its own), before or after the next batch's Record:
		// its leader may start as soon as B's is done.
		calls := g.snapshot()
		if len(calls) == 4 && len(calls[2].actors) == 32 {
			calls[2], calls[3] = calls[3], calls[2]
		}
		if len(calls) != 4 || len(calls[0].actors) != 1 || len(calls[1].actors) != 30 || len(calls[2].actors) != 1 ||
			calls[2].actors[0] != actor(flyingGone) || len(calls[3].actors) != 32 {
			t.Fatalf("Record calls carried %d events, want 1, 30, then 1 (the void) and 32 in either order", eventCounts(calls))
		}
		if calls[0].err != nil || calls[1].err != nil || calls[2].err != nil || calls[3].err == nil {
			t.Fatalf("batch errors: %v, %v, %v (the void), %v; want only the batch of 32 to fail", calls[0].err, calls[1].err, calls[2].err, calls[3].err)
		}
		inFailed := map[string]bool{}
		for _, a := range calls[3].actors {
			inFailed[a] = true
		}
		for i := range jobs {
			a := actor(i)
			stored, err := m.Events(ctx, secrets.EventQuery{Actor: a})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i == queuedGone || i == flyingGone:
				if !errors.Is(errs[i], context.Canceled) || envs[i] != nil {
					t.Errorf("%s, cancelled: %d variables, %v", a, len(envs[i]), errs[i])
				}
				// Gone while queued: never recorded. Gone while its batch
				// flew: recorded with it, published for it, and voided.
				want := 0
				if i == flyingGone {
					want = 2
				}
				// (OnEvent was told of both: published holds the last.)
				if len(stored) != want || (want == 2 && (published[a] != stored[1].ID || stored[1].Outcome != secrets.OutcomeFailed ||
					!strings.Contains(stored[1].Detail, fmt.Sprintf("inject event %d, recorded with the read", stored[0].ID)))) {
					t.Errorf("%s: %d events stored (%s), published ID %d", a, len(stored), describeEvents(stored), published[a])
				}
			case inFailed[a]:
				if !errors.Is(errs[i], secrets.ErrAudit) || envs[i] != nil || len(stored) != 0 {
					t.Errorf("%s, in the failed batch: %d variables, %v, %d events stored", a, len(envs[i]), errs[i], len(stored))
				}
			default:
				if errs[i] != nil || len(envs[i]) != 2 {
					t.Errorf("%s: %d variables, %v", a, len(envs[i]), errs[i])
				} else if len(stored) != 1 || stored[0].ID == 0 || published[a] != stored[0].ID || stored[0].Action != secrets.ActionInject {
					t.Errorf("%s returned values: stored events %+v, published ID %d", a, stored, published[a])
				}
			}
		}
		if !inFailed["poison"] || len(inFailed) != 32 {
			t.Fatalf("failed batch: %v", calls[2].actors)
		}
	})
}

func eventCounts(calls []recordCall) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = len(c.actors)
	}
	return out
}

// TestReadGroupCommitBestEffort: under AuditBestEffort, every
// job of a batch that fails still gets its values, and OnAuditError is
// told of each job's own event, once, with the job's context.
func TestReadGroupCommitBestEffort(t *testing.T) {
	groupStores(t, func(t *testing.T, inner secrets.Store, _ *secrets.PostgresStore) {
		const n = 5
		ctx := context.Background()
		g := &gatedStore{Store: inner, failActor: "job-3"}
		var mu sync.Mutex
		told := map[string]int{}
		m := newManager(t, g, newCipher(t), &secrets.Config{Parents: chain(wsLevels), AuditReads: secrets.AuditBestEffort,
			OnAuditError: func(ctx context.Context, es []secrets.Event, err error) {
				mu.Lock()
				defer mu.Unlock()
				if len(es) == 1 && es[0].Actor == secrets.ActorFrom(ctx) && err != nil {
					told[es[0].Actor]++
				}
			}})
		mustSet(t, m, "ws", "A", "1")
		hold := make(chan struct{})
		g.mu.Lock()
		g.gates = map[int]chan struct{}{0: hold}
		g.started = make(chan int, 4)
		g.mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, n+1)
		job := func(i int) {
			defer wg.Done()
			env, err := m.EnvFor(secrets.WithActor(ctx, fmt.Sprint("job-", i)), "ws")
			if err == nil && len(env) != 1 {
				err = fmt.Errorf("got %d variables", len(env))
			}
			errs[i] = err
		}
		wg.Add(1)
		go job(0)
		<-g.started
		wg.Add(n)
		for i := 1; i <= n; i++ {
			go job(i)
		}
		waitFor(t, "the jobs to queue", func() bool { return secrets.QueuedReads(m) == n })
		close(hold)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		if calls := g.snapshot(); len(calls) != 2 || calls[1].err == nil {
			t.Fatalf("Record calls: %+v", calls)
		}
		for i := 1; i <= n; i++ {
			if a := fmt.Sprint("job-", i); told[a] != 1 {
				t.Errorf("%s: OnAuditError told %d times", a, told[a])
			}
		}
		if told["job-0"] != 0 {
			t.Errorf("job-0's batch succeeded, but OnAuditError was told")
		}
	})
}
