package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// canary is in every password of these tests: no error, audit event or
// log line may hold it, nor any piece of a password around it.
const canary = "pwcanary"

// The passwords of these tests hold the characters that a connection URL
// gives a meaning to (base64 passwords hold some), all together
// (allSpecial) or one at a time (credentialPasswords), at the start, in
// the middle and at the end.
const special = "/#?@% :"

var canaryA, canaryB = canary + "A1x", canary + "B2y"

var allSpecial = canaryA + special + canaryB

func credentialPasswords() []string {
	out := []string{canaryA + canaryB, special + canaryA, canaryA + special}
	for _, c := range special {
		out = append(out, string(c)+canaryA, canaryA+string(c)+canaryB, canaryA+string(c))
	}
	return out
}

// credentialDSNs are the ways a host writes a connection string with
// password pw onto the test database: a URL with the password as typed
// (not escaped, as people paste it), the same URL escaped, and key=value.
// The user, host and database are the test database's, so the server
// answers every DSN that parses with a refused login.
func credentialDSNs(t *testing.T, pw string) map[string]string {
	base, err := url.Parse(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	user := base.User.Username()
	escaped := *base
	escaped.User = url.UserPassword(user, pw)
	raw := base.Scheme + "://" + user + ":" + pw + "@" + base.Host + base.Path + "?" + base.RawQuery
	q := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw)
	kv := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable connect_timeout=5 password='%s'",
		base.Hostname(), base.Port(), user, strings.TrimPrefix(base.Path, "/"), q)
	return map[string]string{"url as typed": raw, "url escaped": escaped.String(), "key=value": kv}
}

// leaky reports whether text shows a password of these tests, or a piece
// of one.
func leaky(text string) bool {
	return strings.Contains(text, canary) || strings.Contains(text, "A1x") || strings.Contains(text, "B2y")
}

// No error carries a connection string or its password, whatever the
// driver reports and whatever the password holds: a URL the driver cannot
// parse (lib/pq quotes it), a refused login, an unreachable host. This
// holds for every entry point that reaches the database, for the errors
// and events that Config.OnAuditError gets, and for the panel's Logger.
// Every entry point runs over each way of writing the connection string
// with every special character in the password; the other passwords run
// through Migrate and Set (whose failure is audited, and the audit fails
// too).
func TestErrorsHoldNoCredentials(t *testing.T) {
	pgURL(t)
	type dsnCase struct {
		driver, what, dsn string
		full              bool // every entry point
	}
	var cases []dsnCase
	for _, driver := range []string{"postgres", "pgx"} {
		for _, pw := range append(credentialPasswords(), allSpecial) {
			for what, dsn := range credentialDSNs(t, pw) {
				cases = append(cases, dsnCase{driver, fmt.Sprintf("%s %q", what, pw), dsn, pw == allSpecial})
			}
		}
		base, _ := url.Parse(pgURL(t))
		unreachable := *base
		unreachable.User = url.UserPassword(base.User.Username(), allSpecial)
		unreachable.Host = "127.0.0.1:1"
		badPort := *base
		badPort.User = unreachable.User
		badPort.Host = "127.0.0.1:badport"
		cases = append(cases, dsnCase{driver, "unreachable", unreachable.String(), true},
			dsnCase{driver, "malformed port", badPort.String(), true},
			dsnCase{driver, "key=value unreachable", "host=127.0.0.1 port=1 user=x password=" + canaryA + " sslmode=disable connect_timeout=5", true})
	}
	reached := map[string]int{}
	for i, c := range cases {
		db, err := sqlx.Open(c.driver, c.dsn)
		if err != nil {
			// pgx parses the connection string here, in the host's own
			// call, before the library sees the pool.
			continue
		}
		reached[c.driver]++
		// In parallel: a case mostly waits for the server's refusal.
		t.Run(fmt.Sprintf("%s-%03d", c.driver, i), func(t *testing.T) {
			t.Parallel()
			defer db.Close()
			checkNoCredentials(t, c.driver+" "+c.what, db, c.full)
		})
	}
	// lib/pq parses the connection string on each connection, pgx when
	// the pool is opened: both reach the store with a refused login.
	if reached["postgres"] != len(cases)/2 || reached["pgx"] < 2*len(credentialPasswords()) {
		t.Errorf("pools opened: %v of %d cases", reached, len(cases))
	}
}

// checkNoCredentials runs the entry points that reach the database (all
// of them if full, else Migrate and Set) over db, whose connection string
// holds the canary, and checks what they say.
func checkNoCredentials(t *testing.T, what string, db *sqlx.DB, full bool) {
	t.Helper()
	var mu sync.Mutex
	var auditErrs []error
	var events []secrets.Event
	s, err := secrets.NewPostgresStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s, newCipher(t), &secrets.Config{OnAuditError: func(_ context.Context, es []secrets.Event, err error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, es...)
		auditErrs = append(auditErrs, err)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"Migrate": func() error { return s.Migrate(ctx) },
		"Set":     func() error { _, err := m.Set(ctx, "ws", "A", []byte("x"), nil); return err },
		"SetInfo": func() error { _, err := m.SetInfo(ctx, "ws", "A", secrets.Info{}, nil); return err },
		"Rename":  func() error { _, err := m.Rename(ctx, "ws", "A", "B", nil); return err },
		"Delete":  func() error { _, err := m.Delete(ctx, "ws", "A", nil); return err },
		"Destroy": func() error { return m.Destroy(ctx, "ws", "A", nil) },
		"Get":     func() error { _, err := m.Get(ctx, "ws", "A"); return err },
		"Meta":    func() error { _, err := m.Meta(ctx, "ws", "A"); return err },
		"List":    func() error { _, err := m.List(ctx, "ws", nil); return err },
		"EnvFor":  func() error { _, err := m.EnvFor(ctx, "ws"); return err },
		"Import":  func() error { _, err := m.Import(ctx, "ws", []byte("A=1\n"), nil); return err },
		"Events":  func() error { _, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws"}); return err },
		"Purge":   func() error { _, err := m.Purge(ctx); return err },
		"Keys":    func() error { _, err := m.Keys(ctx, "ws"); return err },
	}
	for name, call := range calls {
		if !full && name != "Migrate" && name != "Set" {
			continue
		}
		err := call()
		if err == nil {
			t.Errorf("%s: %s succeeded", what, name)
			continue
		}
		text := fmt.Sprintf("%v %+v %#v", err, err, errors.Unwrap(err))
		if leaky(text) || strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("%s: %s: %q", what, name, err)
		}
		var pe *pq.Error
		if errors.As(err, &pe) {
			t.Errorf("%s: %s: a *pq.Error reached the caller: %v", what, name, err)
		}
	}
	mu.Lock()
	if len(auditErrs) == 0 {
		t.Errorf("%s: OnAuditError was not called", what)
	}
	for _, err := range auditErrs {
		if leaky(fmt.Sprintf("%v %+v", err, err)) {
			t.Errorf("%s: OnAuditError got %q", what, err)
		}
	}
	for _, e := range events {
		if leaky(e.Detail) {
			t.Errorf("%s: an audit event shows the password: %q", what, e.Detail)
		}
	}
	mu.Unlock()

	if !full {
		return
	}
	// The panel logs what it answers with a 5xx.
	var log bytes.Buffer
	h, err := panel.New(m, &panel.Config{
		Caller:   func(*http.Request) (panel.Caller, error) { return panel.Caller{Workspace: "ws", Actor: "user:a"}, nil },
		AllowAll: true, // the store fails before any question of who may
		Logger:   slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/secrets", nil))
	if w.Code < 500 || log.Len() == 0 {
		t.Errorf("%s: the panel answered %d and logged %q", what, w.Code, log.String())
	}
	if leaky(log.String() + w.Body.String()) {
		t.Errorf("%s: the panel shows the password: logged %q, answered %q", what, log.String(), w.Body.String())
	}
}

// What the Postgres store says instead of the driver's text: the kind of
// failure in the package's words, with the SQLSTATE when the server gave
// one, on both drivers.
func TestPostgresErrorWords(t *testing.T) {
	base, err := url.Parse(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	wrongPassword := *base
	wrongPassword.User = url.UserPassword(base.User.Username(), allSpecial)
	unreachable := *base
	unreachable.Host = "127.0.0.1:1"
	noDatabase := *base
	noDatabase.Path = "/no_such_db_7f3a"
	for _, driver := range []string{"postgres", "pgx"} {
		for _, c := range []struct {
			what, dsn, schema, want string
		}{
			{"wrong password", wrongPassword.String(), "", "the database refused the password (SQLSTATE 28P01)"},
			{"no such database", noDatabase.String(), "", "the database does not exist (SQLSTATE 3D000)"},
			{"unreachable", unreachable.String(), "", "the database refused the connection"},
			{"not migrated", base.String(), randomSchema("never_"), "(call Migrate) (SQLSTATE 42P01)"},
		} {
			db := pgPool{driver: driver}.openDSN(t, c.dsn)
			s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: c.schema})
			if err != nil {
				t.Fatal(err)
			}
			m := newManager(t, s, newCipher(t), &secrets.Config{AuditReads: secrets.AuditWritesOnly})
			_, err = m.List(context.Background(), "ws", nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "secrets: postgres: ") {
				t.Errorf("%s, %s: %v; want %q", driver, c.what, err, c.want)
			}
		}
	}
	// lib/pq cannot parse a URL whose password holds "/": it quoted it.
	db := pgPool{driver: "postgres"}.openDSN(t, base.Scheme+"://u:"+allSpecial+"@"+base.Host+base.Path)
	s, err := secrets.NewPostgresStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err == nil || err.Error() != "secrets: postgres: migrate: the connection string could not be parsed" {
		t.Errorf("unparsable URL: %v", err)
	}
}

// TestPostgresLoginErrorWords: what the store says when PgBouncer refuses
// a login (SQLSTATE 08P01 and a text of its own), and when lib/pq's
// default sslmode (require) meets a server without TLS: what to mend,
// never the database's name or the password.
func TestPostgresLoginErrorWords(t *testing.T) {
	// An SRE trial: each came out as "a pooler or the server broke the
	// connection" or "the database driver failed (*errors.errorString)".
	base, err := url.Parse(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	bouncer, err := url.Parse(pgBouncerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	bouncerWrong := *bouncer
	bouncerWrong.User = url.UserPassword(bouncer.User.Username(), "wrong-password")
	bouncerNoDB := *bouncer
	bouncerNoDB.Path = "/no_such_db_7f3a"
	bouncerOptions := *bouncer
	q := bouncerOptions.Query()
	q.Set("options", "-c work_mem=1MB")
	bouncerOptions.RawQuery = q.Encode()
	noSSLMode := *base
	q = noSSLMode.Query()
	q.Del("sslmode")
	noSSLMode.RawQuery = q.Encode()
	badSSLMode := *base
	q = badSSLMode.Query()
	q.Set("sslmode", "verify-fuill")
	badSSLMode.RawQuery = q.Encode()
	for _, c := range []struct {
		what, driver, dsn, want string
	}{
		{"a wrong password through PgBouncer", "postgres", bouncerWrong.String(), "the pooler refused the login: check the user and password"},
		{"a wrong password through PgBouncer", "pgx", bouncerWrong.String(), "the pooler refused the login: check the user and password"},
		{"no such database through PgBouncer", "postgres", bouncerNoDB.String(), "the pooler knows no database of that name"},
		{"options= through PgBouncer", "postgres", bouncerOptions.String(), "the pooler refused a parameter of the connection string"},
		{"TLS asked of a server without it", "postgres", noSSLMode.String(), "the server does not accept TLS"},
		// A typo in sslmode said "the database driver failed" (a leftover).
		{"an unknown sslmode", "postgres", badSSLMode.String(), "the connection string's sslmode is not one the driver knows"},
		{"an unknown sslmode", "pgx", badSSLMode.String(), "the connection string's sslmode is not one the driver knows"},
	} {
		db := pgPool{driver: c.driver}.openDSN(t, c.dsn)
		s, err := secrets.NewPostgresStore(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := newManager(t, s, newCipher(t), &secrets.Config{AuditReads: secrets.AuditWritesOnly})
		_, err = m.List(context.Background(), "ws", nil)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "no_such_db") || strings.Contains(err.Error(), "wrong-password") {
			t.Errorf("%s, %s: %v; want %q", c.driver, c.what, err, c.want)
		}
	}

}
