package secrets

import (
	"context"
	"errors"
	"os"
	"strings"
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

// TestPoolerHints: a prepared statement missing or there already, as a
// transaction-mode pooler makes them (lib/pq's 26000, pgx's 42P05), and a
// protocol violation, which lib/pq also met through one (08P01, an
// integrator's trial), say what the host adds to its connection string.
// TestPostgresBehindPgBouncerUnset meets lib/pq's through a real PgBouncer.
func TestPoolerHints(t *testing.T) {
	for _, code := range []string{"26000", "42P05", "08P01"} {
		got := pgErr(context.Background(), "read", stateError(code)).Error()
		if !strings.Contains(got, poolerHint) || !strings.Contains(got, "(SQLSTATE "+code+")") {
			t.Errorf("pgErr(%s) = %q", code, got)
		}
	}
}
