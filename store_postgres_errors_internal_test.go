package secrets

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

// stateError is a driver error carrying only a SQLSTATE, as both drivers'
// errors do through their SQLState method.
type stateError string

func (e stateError) Error() string    { return "ERROR: refused (SQLSTATE " + string(e) + ")" }
func (e stateError) SQLState() string { return string(e) }

// TestSQLStatesMatchSchema: every SQLSTATE the store names is raised by
// the schema's functions under that code, and pgErr maps each refusal to
// the error the API documents for it.
func TestSQLStatesMatchSchema(t *testing.T) {
	sql, err := os.ReadFile("internal/pgschema/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]error{
		sqlstateNameTaken:        ErrExists,
		sqlstateConflict:         ErrConflict,
		sqlstateNoSecret:         ErrNotFound,
		sqlstateEnvBudget:        ErrTooLarge,
		sqlstateKeyChanged:       ErrKeyChanged,
		sqlstateNotReadCommitted: nil,
	} {
		if !strings.Contains(string(sql), "USING ERRCODE = '"+code+"'") {
			t.Errorf("0001_init.sql raises no %s", code)
		}
		got := pgErr(context.Background(), "put", stateError(code))
		if want != nil && !errors.Is(got, want) {
			t.Errorf("pgErr(%s) = %v, want %v", code, got, want)
		}
		if want == nil && !strings.Contains(got.Error(), "(SQLSTATE "+code+")") {
			t.Errorf("pgErr(%s) = %v, want a database error", code, got)
		}
	}
}

// messageError is a driver error with a SQLSTATE and a server message.
type messageError struct{ code, msg string }

func (e messageError) Error() string    { return "ERROR: " + e.msg + " (SQLSTATE " + e.code + ")" }
func (e messageError) SQLState() string { return e.code }

// TestPoolerHints: a prepared statement missing or there already, as a
// transaction-mode pooler makes them (lib/pq's 26000, pgx's 42P05), and a
// protocol violation of a statement, which lib/pq also met through one
// (08P01, an integrator's trial), say what the host adds to its
// connection string. TestPostgresBehindPgBouncerUnset meets lib/pq's
// through a real PgBouncer.
func TestPoolerHints(t *testing.T) {
	for _, err := range []error{stateError("26000"), stateError("42P05"),
		messageError{"08P01", `bind message supplies 1 parameters, but prepared statement "" requires 2`}} {
		code := err.(interface{ SQLState() string }).SQLState()
		got := pgErr(context.Background(), "read", err)
		if !strings.Contains(got.Error(), poolerHint) || !strings.Contains(got.Error(), "(SQLSTATE "+code+")") || errors.Is(got, ErrDatabaseUnavailable) {
			t.Errorf("pgErr(%s) = %q", code, got)
		}
	}
}

// TestDatabaseUnavailable: a database that cannot serve now matches
// ErrDatabaseUnavailable, and a pooler's own reason for a broken
// connection is kept (an SRE trial: during a failover, PgBouncer's
// "server login has been failing" came out as the hint to add pooler
// settings the host had); a refusal or a misconfiguration does not match.
func TestDatabaseUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
		text string
	}{
		{messageError{"08P01", "server login has been failing, try again later (server_login_retry)"}, true, "server login has been failing"},
		{messageError{"08P01", "pgbouncer cannot connect to server"}, true, "cannot connect to server"},
		// PgBouncer's refusal of a database it does not know names it, as
		// the connection string gave it: not kept, not to be retried.
		{messageError{"08P01", "No such database: secret-bits"}, false, "the pooler knows no database of that name"},
		{messageError{"08P01", "SASL authentication failed"}, false, "the pooler refused the login"},
		{messageError{"08P01", "some other refusal: secret-bits"}, false, "broke the connection (SQLSTATE 08P01)"},
		{stateError("25006"), true, "read-only"},
		{stateError("08006"), true, "connection exception"},
		{stateError("57P01"), true, "shutting down"},
		{stateError("57P03"), true, "not accepting connections"},
		{stateError("53300"), true, "too many connections"},
		{stateError("28P01"), false, "refused the password"},
		{stateError("42501"), false, "lacks a privilege"},
		{syscall.ECONNREFUSED, true, "refused the connection"},
		{io.ErrUnexpectedEOF, true, "was lost"},
		{&net.DNSError{Err: "server misbehaving", Name: "db", IsTemporary: true}, true, "could not be resolved"},
		{&net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, true, "could not be resolved"},
		{&url.Error{Op: "parse", URL: "x", Err: errors.New("bad")}, false, "could not be parsed"},
		{errors.New("driver: odd"), false, "driver failed"},
	} {
		got := pgErr(context.Background(), "read", c.err)
		if strings.Contains(got.Error(), "secret-bits") {
			t.Errorf("pgErr(%v) = %q keeps a text of the connection attempt", c.err, got)
		}
		if errors.Is(got, ErrDatabaseUnavailable) != c.want || !strings.Contains(got.Error(), c.text) {
			t.Errorf("pgErr(%v) = %q (unavailable: %v), want unavailable %v and %q", c.err, got, errors.Is(got, ErrDatabaseUnavailable), c.want, c.text)
		}
	}
}
