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
	"github.com/jmoiron/sqlx"
)

// standbyName is the standby's application_name, which the primary's
// synchronous_standby_names names.
const standbyName = "failover_standby"

// standby makes a streaming standby of c with pg_basebackup -R, in a
// folder of its own (its socket there, port 5432), and starts it.
func (c *crashCluster) standby(t *testing.T, name string) *crashCluster {
	t.Helper()
	s := newClusterDir(t, "")
	conn := fmt.Sprintf("host=%s port=5432 user=postgres application_name=%s", c.dir, name)
	if out, err := c.run(t, "pg_basebackup", "-D", s.data(), "-d", conn, "-R", "-X", "stream",
		"-c", "fast", "--no-sync"); err != nil {
		t.Fatalf("pg_basebackup: %v: %s", err, out)
	}
	s.start(t)
	return s
}

// waitSync waits until the standby called name streams from c as its
// synchronous standby (pg_stat_replication.sync_state = 'sync').
func (c *crashCluster) waitSync(t *testing.T, db *sqlx.DB, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var state, sync string
		err := db.QueryRowx(`SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1`, name).Scan(&state, &sync)
		if err == nil && state == "streaming" && sync == "sync" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby is not a streaming synchronous standby after 30 s (state %q, sync_state %q, %v)", state, sync, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the server at once, as a power cut would, and leaves it
// stopped.
func (c *crashCluster) stop(t *testing.T) {
	t.Helper()
	if out, err := c.run(t, "pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v: %s", err, out)
	}
}

// promote makes a standby a primary, and waits until it is one.
func (c *crashCluster) promote(t *testing.T) {
	t.Helper()
	if out, err := c.run(t, "pg_ctl", "-D", c.data(), "-w", "-t", "60", "promote"); err != nil {
		t.Fatalf("pg_ctl promote: %v: %s", err, out)
	}
}

// failoverDSN names both servers: the driver tries them in turn and keeps
// the first that takes writes. lib/pq (since v1.11) and pgx both read this
// form.
func failoverDSN(primary, standby *crashCluster) string {
	return fmt.Sprintf("host=%s,%s port=5432 user=postgres dbname=postgres sslmode=disable "+
		"target_session_attrs=read-write connect_timeout=5", primary.dir, standby.dir)
}

// An ackedWrite is a Set that returned nil.
type ackedWrite struct {
	replica                int
	actor, ws, name, value string
	version                int64
}

// A returnedInjection is an EnvFor, or a job with a parent (Prepare),
// that returned values.
type returnedInjection struct {
	replica   int
	actor, ws string
	names     []string
}

// A returnedReveal is a Get that returned a value.
type returnedReveal struct {
	actor, ws, name string
}

// failoverLog is what the replicas did, for the checks at the end.
type failoverLog struct {
	mu         sync.Mutex
	writes     []ackedWrite
	injections []returnedInjection
	reveals    []returnedReveal
	rotations  int
	resumed    int      // rotations that finished one the failover cut off
	decrypt    []string // ErrDecrypt seen during the run: always a failure
	failed     int      // calls that returned another error (the servers were switching)
}

func (l *failoverLog) err(op string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if errors.Is(err, secrets.ErrDecrypt) {
		l.decrypt = append(l.decrypt, fmt.Sprintf("%s: %v", op, err))
	}
	l.failed++
}

// counts returns how many writes and injections were acknowledged.
func (l *failoverLog) counts() (writes, injections int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes), len(l.injections)
}

// since returns the fewest writes and injections that any of the replicas
// had acknowledged after the first w writes and i injections.
func (l *failoverLog) since(replicas, w, i int) (writes, injections int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ws, is := make([]int, replicas), make([]int, replicas)
	for _, a := range l.writes[w:] {
		ws[a.replica]++
	}
	for _, a := range l.injections[i:] {
		is[a.replica]++
	}
	return slices.Min(ws), slices.Min(is)
}

// TestFailover: four replicas (a Manager and a pool each, two over lib/pq
// and two over pgx) write with check-and-set, inject and rotate keys on a
// primary with a synchronous streaming standby; the primary is stopped
// hard and the standby promoted, while they work; they reconnect through
// one DSN that names both servers with target_session_attrs=read-write.
// Afterwards, on the promoted standby, every acknowledged write has its
// version (with its value) and its set event, every returned injection
// (EnvFor, and a job with a parent, whose event follows its read) has its
// inject event naming what it delivered, every returned reveal (Get) its
// reveal event (the default mode, AuditFailClosed), a rotation cut off by the
// failover finishes, and every version of every secret decrypts.
func TestFailover(t *testing.T) {
	t.Parallel()
	primary := newCrashCluster(t, "-c wal_level=replica -c synchronous_standby_names="+standbyName)
	standby := primary.standby(t, standbyName)
	pdb, err := sqlx.Open("postgres", primary.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	primary.waitSync(t, pdb, standbyName)

	ctx := context.Background()
	dsn := failoverDSN(primary, standby)
	cipher := newCipher(t)
	// ws-child's jobs also get ws-b's secrets: their events are recorded
	// after their reads, as a reveal's is (group commit).
	cfg := &secrets.Config{KeepVersions: 1000, Parents: func(_ context.Context, ws string) ([]string, error) {
		if ws == "ws-child" {
			return []string{"ws-b"}, nil
		}
		return nil, nil
	}}
	workspaces := []string{"ws-a", "ws-b"}
	const replicas, names = 4, 3
	ms := make([]*secrets.Manager, replicas)
	for r := range ms {
		driver := []string{"postgres", "pgx"}[r%2]
		db, err := sqlx.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(4)
		t.Cleanup(func() { db.Close() })
		s, err := secrets.NewPostgresStore(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		ms[r] = newManager(t, s, cipher, cfg)
	}
	// Every secret exists, with a few versions, before the failover.
	mustSet(t, ms[0], "ws-child", "CHILD_TOKEN", "child")
	for r := range replicas {
		for _, ws := range workspaces {
			for k := range names {
				for v := range 3 {
					mustSet(t, ms[r], ws, fmt.Sprintf("R%d_K%d", r, k), fmt.Sprintf("seed-%d", v))
				}
			}
		}
	}

	var log failoverLog
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range replicas {
		m := ms[r]
		wg.Go(func() { failoverWriter(ctx, m, r, workspaces, names, stop, &log) })
		wg.Go(func() { failoverInjector(ctx, m, r, workspaces, stop, &log) })
		if r < len(workspaces) {
			wg.Go(func() { failoverRotator(ctx, m, workspaces[r], stop, &log) })
		}
	}
	stopAll := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopAll()

	// Work on the primary, then fail over while the replicas work on.
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %v", what, d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rotationsAt := func() int { log.mu.Lock(); defer log.mu.Unlock(); return log.rotations }
	waitFor("writes, injections and a rotation on the primary", 30*time.Second, func() bool {
		w, i := log.counts()
		return w >= 200 && i >= 100 && rotationsAt() >= 1
	})
	primary.stop(t)
	time.Sleep(200 * time.Millisecond) // the replicas meet the dead primary
	standby.promote(t)
	w0, i0 := log.counts()
	waitFor("writes and injections of every replica on the promoted standby", 60*time.Second, func() bool {
		w, i := log.since(replicas, w0, i0)
		return w >= 20 && i >= 20
	})
	stopAll()

	// The checks, on the promoted standby alone.
	sdb, err := sqlx.Open("postgres", standby.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	var recovery bool
	if err := sdb.Get(&recovery, "SELECT pg_is_in_recovery()"); err != nil || recovery {
		t.Fatalf("the standby is not promoted: in recovery %v, %v", recovery, err)
	}
	s, err := secrets.NewPostgresStore(sdb, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s, cipher, cfg)
	if len(log.decrypt) > 0 {
		t.Fatalf("ErrDecrypt during the failover (%d): %s", len(log.decrypt), strings.Join(log.decrypt, "; "))
	}
	// A rotation cut off by the failover, if the rotators left one, is
	// finished now; either way every version is read back after it.
	for _, ws := range workspaces {
		res, err := m.RotateKey(ctx, ws, nil)
		if err != nil || len(res.Left) > 0 {
			t.Fatalf("RotateKey(%s) after the failover: %v, left %v", ws, err, res.Left)
		}
		if res.Resumed {
			log.resumed++
		}
	}
	checkFailover(t, m, workspaces, &log)
}

// pause waits a little after a failed call, or until stop.
func pause(stop <-chan struct{}) {
	select {
	case <-stop:
	case <-time.After(20 * time.Millisecond):
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// failoverWriter writes replica r's secrets in turn with check-and-set,
// each Set under an actor of its own, until stop.
func failoverWriter(ctx context.Context, m *secrets.Manager, r int, workspaces []string, names int, stop <-chan struct{}, log *failoverLog) {
	rev := map[string]int64{} // 0: read it first
	for i := 0; !stopped(stop); i++ {
		ws := workspaces[i%len(workspaces)]
		name := fmt.Sprintf("R%d_K%d", r, i/len(workspaces)%names)
		key := ws + "/" + name
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if rev[key] == 0 {
			meta, err := m.Meta(cctx, ws, name)
			if err != nil {
				cancel()
				log.err("Meta", err)
				pause(stop)
				continue
			}
			rev[key] = meta.Revision
		}
		actor := fmt.Sprintf("writer:%d:%d", r, i)
		value := fmt.Sprintf("value-%d-%d", r, i)
		meta, err := m.Set(secrets.WithActor(cctx, actor), ws, name, []byte(value), &secrets.SetOptions{IfRevision: rev[key]})
		cancel()
		if err != nil {
			// The write may have committed all the same: read the
			// revision again.
			rev[key] = 0
			log.err("Set", err)
			pause(stop)
			continue
		}
		rev[key] = meta.Revision
		log.mu.Lock()
		log.writes = append(log.writes, ackedWrite{replica: r, actor: actor, ws: ws, name: name, value: value, version: meta.Version})
		log.mu.Unlock()
	}
}

// failoverInjector injects the workspaces in turn, then ws-child (a job
// with a parent) and reveals a secret, each call under an actor of its
// own, until stop.
func failoverInjector(ctx context.Context, m *secrets.Manager, r int, workspaces []string, stop <-chan struct{}, log *failoverLog) {
	for i := 0; !stopped(stop); i++ {
		turn := i % (len(workspaces) + 2)
		actor := fmt.Sprintf("job:%d:%d", r, i)
		cctx, cancel := context.WithTimeout(secrets.WithActor(ctx, actor), 10*time.Second)
		var (
			ws  string
			env []string
			err error
		)
		switch {
		case turn < len(workspaces):
			ws = workspaces[turn]
			env, err = m.EnvFor(cctx, ws)
		case turn == len(workspaces):
			ws = "ws-child"
			var p *secrets.PreparedJob
			if p, err = m.Prepare(cctx, ws, &secrets.PrepareOptions{Base: []string{}}); err == nil {
				env = slices.Clone(p.Env)
				err = p.Close()
			}
		default:
			ws = workspaces[i%len(workspaces)]
			name := fmt.Sprintf("R%d_K0", r)
			var sec secrets.Secret
			if sec, err = m.Get(cctx, ws, name); err == nil && sec.Value.Len() == 0 {
				err = errors.New("Get returned no value")
			}
			cancel()
			if err != nil {
				log.err("Get", err)
				pause(stop)
				continue
			}
			log.mu.Lock()
			log.reveals = append(log.reveals, returnedReveal{actor: actor, ws: ws, name: name})
			log.mu.Unlock()
			continue
		}
		cancel()
		if err != nil {
			log.err("EnvFor", err)
			pause(stop)
			continue
		}
		names := make([]string, len(env))
		for j, kv := range env {
			names[j], _, _ = strings.Cut(kv, "=")
		}
		log.mu.Lock()
		log.injections = append(log.injections, returnedInjection{replica: r, actor: actor, ws: ws, names: names})
		log.mu.Unlock()
	}
}

// failoverRotator rotates ws's key again and again until stop.
func failoverRotator(ctx context.Context, m *secrets.Manager, ws string, stop <-chan struct{}, log *failoverLog) {
	for !stopped(stop) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := m.RotateKey(cctx, ws, nil)
		cancel()
		if err != nil {
			log.err("RotateKey", err)
			pause(stop)
			continue
		}
		log.mu.Lock()
		log.rotations++
		if res.Resumed {
			log.resumed++
		}
		log.mu.Unlock()
	}
}

// checkFailover checks, on the promoted standby, that every acknowledged
// write has its version and its event, that every returned injection has
// its event, and that every version of every secret decrypts.
func checkFailover(t *testing.T, m *secrets.Manager, workspaces []string, log *failoverLog) {
	t.Helper()
	ctx := context.Background()
	byActor := map[string][]secrets.Event{}
	events := 0
	for after := int64(0); ; {
		evs, err := m.Events(ctx, secrets.EventQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			byActor[e.Actor] = append(byActor[e.Actor], e)
			after = e.ID
		}
		events += len(evs)
		if len(evs) < 1000 {
			break
		}
	}
	lost := 0
	for _, w := range log.writes {
		s, err := m.GetVersion(ctx, w.ws, w.name, w.version)
		if err != nil || string(s.Value.Reveal()) != w.value {
			t.Errorf("acknowledged write %s (%s/%s version %d) lost: %v", w.actor, w.ws, w.name, w.version, err)
			lost++
		}
		evs := byActor[w.actor]
		want := secrets.EventSecret{Name: w.name, Version: w.version}
		if len(evs) != 1 || evs[0].Action != secrets.ActionSet || evs[0].Outcome != secrets.OutcomeOK ||
			evs[0].Workspace != w.ws || len(evs[0].Secrets) != 1 || evs[0].Secrets[0].Name != want.Name || evs[0].Secrets[0].Version != want.Version {
			t.Errorf("acknowledged write %s: %s, want one set event of %s@%d", w.actor, describeEvents(evs), w.name, w.version)
			lost++
		}
		if lost > 10 {
			t.Fatal("too many losses")
		}
	}
	// An EnvFor that read rows under a key rotated meanwhile reads them
	// again, and each read records its event: the last is the delivery.
	for _, in := range log.injections {
		evs := byActor[in.actor]
		ok := len(evs) > 0
		var got []string
		for _, e := range evs {
			ok = ok && e.Action == secrets.ActionInject && e.Outcome == secrets.OutcomeOK && e.Workspace == in.ws
			got = got[:0]
			for _, s := range e.Secrets {
				got = append(got, s.Name)
			}
		}
		slices.Sort(got)
		slices.Sort(in.names)
		if !ok || !slices.Equal(got, in.names) {
			t.Errorf("returned injection %s of %s (%v): %s, want inject events, the last of these names", in.actor, in.ws, in.names, describeEvents(evs))
			lost++
		}
		if lost > 10 {
			t.Fatal("too many losses")
		}
	}
	// A reveal's event follows its read: the default mode returned no
	// value whose event the failover cut off.
	for _, rv := range log.reveals {
		evs := byActor[rv.actor]
		if len(evs) != 1 || evs[0].Action != secrets.ActionReveal || evs[0].Outcome != secrets.OutcomeOK ||
			evs[0].Workspace != rv.ws || len(evs[0].Secrets) != 1 || evs[0].Secrets[0].Name != rv.name {
			t.Errorf("returned reveal %s of %s/%s: %s, want one reveal event", rv.actor, rv.ws, rv.name, describeEvents(evs))
			lost++
		}
		if lost > 10 {
			t.Fatal("too many losses")
		}
	}
	versions := 0
	for _, ws := range workspaces {
		page, err := m.List(ctx, ws, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, meta := range page.Secrets {
			vs, err := m.Versions(ctx, ws, meta.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vs {
				if _, err := m.GetVersion(ctx, ws, meta.Name, v.Version); err != nil {
					t.Errorf("%s/%s version %d after the failover: %v", ws, meta.Name, v.Version, err)
				}
				versions++
			}
		}
		if _, err := m.EnvFor(ctx, ws); err != nil {
			t.Errorf("EnvFor(%s) after the failover: %v", ws, err)
		}
	}
	t.Logf("acknowledged writes %d, returned injections %d, reveals %d, rotations %d (%d resumed after the failover), "+
		"events checked %d of %d, versions read back %d, calls refused while the servers switched %d",
		len(log.writes), len(log.injections), len(log.reveals), log.rotations, log.resumed,
		len(log.writes)+len(log.injections)+len(log.reveals), events, versions, log.failed)
}

// describeEvents says what events are, briefly.
func describeEvents(evs []secrets.Event) string {
	if len(evs) == 0 {
		return "no event"
	}
	var b strings.Builder
	for i, e := range evs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "#%d %s %s %s state %d (", e.ID, e.Action, e.Workspace, e.Outcome, e.State)
		for j, s := range e.Secrets {
			if j > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%s@%d", s.Name, s.Version)
		}
		b.WriteString(")")
	}
	return b.String()
}
