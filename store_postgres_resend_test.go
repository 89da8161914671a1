package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// A cutProxy passes TCP connections on to a server until cut closes every
// one open, both ways, as a network failure between a replica and its
// database does; connections made after still pass.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
	// afterCommit, when set, cuts a connection from its client right
	// after passing on a COMMIT, which then reaches the server.
	afterCommit atomic.Bool
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); p.forward(u, c); u.Close(); c.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); u.Close(); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

// forward copies what the client c sends to the server u.
func (p *cutProxy) forward(u, c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := u.Write(buf[:n]); werr != nil {
				return
			}
			// A simple query's text ends with a NUL: "COMMIT\x00" is
			// never BEGIN's "READ COMMITTED".
			if p.afterCommit.Load() && bytes.Contains(bytes.ToUpper(buf[:n]), []byte("COMMIT\x00")) {
				c.Close() // the client's side only: the server commits
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every connection open now.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// proxied returns a Manager over a pool of kind p (at most four
// connections) that reaches the database through a cutProxy, in a schema
// of its own, made by base, a store over a direct pool.
func proxied(t *testing.T, p pgPool) (*secrets.Manager, *cutProxy, *secrets.PostgresStore) {
	t.Helper()
	base := newPGStore(t, p.open(t, 2))
	u, err := url.Parse(p.dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db := p.openDSN(t, u.String())
	db.SetMaxOpenConns(4)
	return newManager(t, sameSchema(t, db, base), newCipher(t), nil), proxy, base
}

// A write whose connection is lost while the server runs it is never made
// twice: one Set makes at most one version, and one that returned nil
// exactly one. database/sql sends a statement of the pool again on
// another connection when the driver calls the first bad, and lib/pq does
// on io.EOF after the statement went out: the server, which had it, went
// on and committed it, and so did the second (a trial: one Set, two
// versions and two events; IfRevision's own write came back as a
// conflict). The write runs in a transaction, which the server rolls back
// when its connection is lost before COMMIT (over pgx, a statement alone
// could commit after its error): the store runs it again on another
// connection, and Set succeeds. The workspace's lock, held by another
// session, keeps the statement running until the connection is cut.
func TestPostgresWriteSentOnce(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			ctx := context.Background()
			admin := pgDB(t)
			m, proxy, base := proxied(t, p)
			mustSet(t, m, "ws", "TOKEN", "resend-before")

			done := make(chan error, 1)
			_, release := holdWorkspace(t, admin, base, "ws", func() {
				go func() {
					_, err := m.Set(ctx, "ws", "TOKEN", []byte("resend-after"), nil)
					done <- err
				}()
			})
			proxy.cut()
			// A driver that sends the write again does so now, on a new
			// connection, which waits for the lock as the first did.
			time.Sleep(500 * time.Millisecond)
			release()
			var setErr error
			select {
			case setErr = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Set did not return")
			}
			if setErr != nil {
				// Its write ran in a transaction, lost before COMMIT:
				// rolled back, and run again on another connection.
				t.Errorf("Set: %v, want it run again", setErr)
			}
			// The server may finish the first statement after Set returned.
			time.Sleep(300 * time.Millisecond)
			vs, err := m.Versions(ctx, "ws", "TOKEN")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(vs) > 2:
				t.Errorf("one Set made %d versions (Set: %v)", len(vs)-1, setErr)
			case setErr == nil && len(vs) != 2:
				t.Errorf("Set returned nil and made %d versions", len(vs)-1)
			}
			events, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Name: "TOKEN", Action: secrets.ActionSet, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			ok := 0
			for _, e := range events {
				if e.Outcome == secrets.OutcomeOK {
					ok++
				}
			}
			if ok != len(vs) {
				t.Errorf("%d ok set events for %d versions", ok, len(vs))
			}
		})
	}
}

// A write whose connection is lost after its COMMIT went out is not run
// again: it may have been committed (here it is), and a second run would
// make it twice. It fails with ErrDatabaseUnavailable, the write made
// once.
func TestPostgresWriteLostAfterCommit(t *testing.T) {
	for _, p := range pgPools[:2] {
		t.Run(p.String(), func(t *testing.T) {
			ctx := context.Background()
			m, proxy, _ := proxied(t, p)
			mustSet(t, m, "ws", "TOKEN", "commit-before")
			proxy.afterCommit.Store(true)
			_, setErr := m.Set(ctx, "ws", "TOKEN", []byte("commit-after"), nil)
			proxy.afterCommit.Store(false)
			if !errors.Is(setErr, secrets.ErrDatabaseUnavailable) {
				t.Errorf("Set whose COMMIT went out and connection was lost: %v, want ErrDatabaseUnavailable", setErr)
			}
			time.Sleep(300 * time.Millisecond) // the server's commit, if it lags
			vs, err := m.Versions(ctx, "ws", "TOKEN")
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 2 {
				t.Errorf("%d versions after a Set whose COMMIT went out, want 2", len(vs))
			}
		})
	}
}
