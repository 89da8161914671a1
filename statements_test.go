package secrets_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// statementLog is a database/sql connector over lib/pq that keeps the
// text of every statement and transaction its connections run: a count
// of round trips made by the real driver, not a model of them.
type statementLog struct {
	driver.Connector
	mu    sync.Mutex
	texts []string
}

func (l *statementLog) add(s string) {
	l.mu.Lock()
	l.texts = append(l.texts, s)
	l.mu.Unlock()
}

// take returns the statements logged since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.texts
	l.texts = nil
	return out
}

func (l *statementLog) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := l.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &loggedConn{Conn: c, log: l}, nil
}

type loggedConn struct {
	driver.Conn
	log *statementLog
}

func (c *loggedConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.log.add(q + argsNote(args))
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *loggedConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.log.add(q + argsNote(args))
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

// loggedDB opens a lib/pq pool whose statements log keeps.
func loggedDB(t *testing.T) (*statementLog, *sqlx.DB) {
	t.Helper()
	pgURL(t)
	conn, err := pq.NewConnector(pgPools[0].dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	log := &statementLog{Connector: conn}
	db := sqlx.NewDb(sql.OpenDB(log), "postgres")
	t.Cleanup(func() { db.Close() })
	return log, db
}

// argsNote notes how many parameters a statement went with.
func argsNote(args []driver.NamedValue) string {
	if len(args) == 0 {
		return ""
	}
	return fmt.Sprintf("\n-- with %d parameters", len(args))
}

func (c *loggedConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.log.add("PREPARE " + q)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *loggedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.log.add("BEGIN")
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// TestPostgresStatementsPerJob counts what a job start sends to Postgres,
// once the keys are cached: the default job (EnvFor) one statement that
// reads every row and records the event; a job with an environment,
// protection and two parent levels one statement that reads every level,
// then the insert of its event (which concurrent jobs share: group
// commit); no transaction in either. A write is one statement with
// parameters.
func TestPostgresStatementsPerJob(t *testing.T) {
	log, db := loggedDB(t)
	s := newPGStore(t, db)
	m := newManager(t, s, newCipher(t), &secrets.Config{Parents: func(_ context.Context, ws string) ([]string, error) {
		if ws == "ws" {
			return []string{"group:acme", "instance"}, nil
		}
		return nil, nil
	}})
	ctx := context.Background()
	for _, ws := range []string{"ws", "group:acme", "instance", "alone"} {
		mustSet(t, m, ws, "TOKEN", ws+"-any")
		mustSet(t, m, ws, "TOKEN@production", ws+"-prod")
		if _, err := m.Set(ctx, ws, "DEPLOY", []byte(ws+"-deploy"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
			t.Fatal(err)
		}
	}
	job := func(ws string) {
		t.Helper()
		p, err := m.Prepare(ctx, ws, &secrets.PrepareOptions{Environment: "production", Protected: true, Base: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		if len(p.Env) != 2 {
			t.Fatalf("the job got %d variables", len(p.Env))
		}
	}
	// Warm the key cache of every level.
	job("ws")
	envMap(t, m, "alone")
	log.take()

	if _, err := m.EnvFor(ctx, "alone"); err != nil {
		t.Fatal(err)
	}
	got := log.take()
	if len(got) != 1 || !strings.Contains(got[0], ".env_audited(") {
		t.Errorf("the default job sent %d statements, want the one that reads and records:\n%s", len(got), strings.Join(got, "\n---\n"))
	}

	job("ws")
	got = log.take()
	reads, inserts := 0, 0
	for _, q := range got {
		switch {
		case strings.Contains(q, "BEGIN") || strings.HasPrefix(q, "PREPARE"):
			t.Errorf("a job started a transaction or prepared a statement: %s", q)
		case strings.Contains(q, ".env_levels("):
			reads++
		case strings.Contains(q, "INSERT INTO") && strings.Contains(q, ".audit"):
			inserts++
		}
	}
	if reads != 1 || inserts != 1 || len(got) != 2 {
		t.Errorf("a job with an environment, protection and two parents sent %d statements (%d reads, %d event inserts), want one of each:\n%s",
			len(got), reads, inserts, strings.Join(got, "\n---\n"))
	}

	// A write goes with parameters (never as a simple query: see
	// PostgresStore.run), in one statement, in a transaction of its own
	// (see PostgresStore.write).
	mustSet(t, m, "ws", "TOKEN", "again")
	got = log.take()
	var stmts []string
	began := false
	for _, q := range got {
		switch strings.TrimSpace(q) {
		case "BEGIN", "BEGIN READ WRITE", "BEGIN ISOLATION LEVEL READ COMMITTED", "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE":
			began = true
		case "COMMIT":
		default:
			stmts = append(stmts, q)
		}
	}
	if !began || len(stmts) != 1 || !strings.Contains(stmts[0], "-- with ") || strings.Contains(stmts[0], "'ws'") {
		t.Errorf("a Set sent, want BEGIN and one statement with parameters:\n%s", strings.Join(got, "\n---\n"))
	}
}

// TestPostgresBigReadUsesParameters: over lib/pq a job's read goes as a
// simple query, its arguments written into it, until a read of the
// workspace returns more than 400 secrets; the next read goes as a
// statement with parameters (ciphertexts in binary), and once a read finds
// the workspace at 400 or fewer, the one after goes as a simple query
// again; a job's read of some names changes nothing of that. Every read
// delivers the same.
func TestPostgresBigReadUsesParameters(t *testing.T) {
	log, db := loggedDB(t)
	m := newManager(t, newPGStore(t, db), newCipher(t), nil)
	ctx := context.Background()
	var dotenv strings.Builder
	for i := range 401 {
		fmt.Fprintf(&dotenv, "SECRET_%03d=value-%d\n", i, i)
	}
	if _, err := m.Import(ctx, "big", []byte(dotenv.String()), nil); err != nil {
		t.Fatal(err)
	}
	read := func(want int, simple bool) {
		t.Helper()
		log.take()
		env, err := m.EnvFor(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		got := log.take()
		if len(env) != want || len(got) != 1 {
			t.Fatalf("EnvFor: %d variables in %d statements, want %d in 1:\n%s", len(env), len(got), want, strings.Join(got, "\n---\n"))
		}
		for _, kv := range env {
			var i int
			if _, err := fmt.Sscanf(kv, "SECRET_%03d=value-%d", &i, &i); err != nil {
				t.Fatalf("delivered %q", kv)
			}
		}
		if params := strings.Contains(got[0], "-- with "); params == simple || strings.Contains(got[0], "'big'") != simple {
			t.Fatalf("read as a simple query: %v, want %v:\n%s", !params, simple, got[0])
		}
	}
	read(401, true)  // not known to be big yet
	read(401, false) // known big: parameters
	// A job that reads some names only leaves the workspace known big.
	log.take()
	p, err := m.Prepare(ctx, "big", &secrets.PrepareOptions{Names: []string{"SECRET_007"}, Base: []string{}})
	if err != nil || len(p.Env) != 1 {
		t.Fatalf("a job of one name: %v, %v", p, err)
	}
	p.Close()
	read(401, false)
	for _, name := range []string{"SECRET_000", "SECRET_001"} {
		if _, err := m.Delete(ctx, "big", name, nil); err != nil {
			t.Fatal(err)
		}
	}
	read(399, false) // still known big; this read finds it small
	read(399, true)
}
