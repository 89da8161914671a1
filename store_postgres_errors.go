package secrets

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// How the Postgres store reports database errors. A driver's text may
// hold the connection string, or pieces of it: lib/pq quotes the whole
// URL when it cannot parse it (a password with "/", "#", "?", "%" or a
// space, as base64 passwords have, is enough), pgx names the user and
// database it connected as, and when a URL is cut in the wrong place the
// server itself echoes a piece of the password as a user, database or
// parameter name while it refuses the connection. No pattern finds a
// password in text that was cut in the wrong place, so no driver text is
// kept: an error says, in the package's words, what kind of failure it
// was, with its SQLSTATE when the server gave one. Only the server's
// message about a statement it refused (classes that cannot arise while
// connecting: a constraint, an undefined table...) is kept, since it
// names what is wrong and the statement never holds the connection string.

// The SQLSTATEs (class SC) that the schema's functions raise for the
// store's own refusals; internal/pgschema/0001_init.sql lists them at its
// top (and 0007 the two it adds). pgErr maps all but the last to the
// package's errors; the last, which the store's writes (always in READ
// COMMITTED transactions of its own) never meet, is a bug's.
const (
	// sqlstateNameTaken: put_secret (a create or rename onto a name in
	// use, case ignored) and add_master_key (the ID is registered).
	sqlstateNameTaken = "SC001"
	// sqlstateConflict: a check-and-set failed, in put_secret and
	// put_key; add_master_key's first start on a store in use.
	sqlstateConflict = "SC002"
	// sqlstateNoSecret: put_secret on a secret that does not exist.
	sqlstateNoSecret = "SC003"
	// sqlstateEnvBudget: put_secret past the workspace's environment budget.
	sqlstateEnvBudget = "SC004"
	// sqlstateKeyChanged: put_secret and reencrypt, when the workspace's
	// key generation moved on since the caller read it.
	sqlstateKeyChanged = "SC005"
	// sqlstateRetiredMasterKey: a workspace key wrapped by a retired
	// master key (the trigger workspace_key_master, whoever writes it).
	sqlstateRetiredMasterKey = "SC006"
	// sqlstateMasterKeyInUse: retire_master_key, while a workspace key is
	// wrapped by the master key.
	sqlstateMasterKeyInUse = "SC007"
	// sqlstateSecretCount: put_secret and put_batch, past the workspace's
	// limit on its number of secrets (migration 9).
	sqlstateSecretCount = "SC008"
	// sqlstateNotReadCommitted: lock_workspace and put_secret, in a
	// transaction that is not READ COMMITTED.
	sqlstateNotReadCommitted = "SC010"
)

// The SQLSTATEs of Postgres itself that the store retries.
const (
	sqlstateSerialization = "40001"
	sqlstateDeadlock      = "40P01"
)

// sqlState returns the SQLSTATE of a database error from either driver.
func sqlState(err error) string {
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		return st.SQLState()
	}
	return ""
}

func transient(err error) bool {
	c := sqlState(err)
	return c == sqlstateSerialization || c == sqlstateDeadlock
}

// pgErr maps a database error to the package's errors: the store's own
// conditions to their classes, sql.ErrNoRows to ErrNotFound, and any
// other failure to one line in the package's words (see above), which
// wraps nothing of the driver's.
func pgErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if f := (*failure)(nil); errors.As(err, &f) && f.class == ErrDatabaseUnavailable {
		return wrapf(err, "postgres: %s", op) // a write's COMMIT cut short by ctx: see write
	}
	if ctx.Err() != nil {
		return wrapf(ctx.Err(), "postgres: %s", op)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(ErrNotFound, "%s: not found", op)
	}
	switch code := sqlState(err); code {
	case sqlstateNameTaken:
		return errorf(ErrExists, "%s: the name is taken", op)
	case sqlstateConflict:
		return errorf(ErrConflict, "%s: changed meanwhile", op)
	case sqlstateNoSecret:
		return errorf(ErrNotFound, "%s: no such secret", op)
	case sqlstateEnvBudget:
		return errorf(ErrTooLarge, "%s: over the environment budget", op)
	case sqlstateSecretCount:
		return tooManySecrets("%s: over the limit on the workspace's secrets", op)
	case sqlstateKeyChanged:
		return errorf(ErrKeyChanged, "%s: the workspace key changed", op)
	case sqlstateRetiredMasterKey:
		return errorf(ErrMasterKey, "%s: the master key is retired", op)
	case sqlstateMasterKeyInUse:
		return errorf(ErrMasterKey, "%s: the master key still wraps workspace keys", op)
	case "":
		what, unreachable := clientFailure(err)
		var class error
		if unreachable {
			class = ErrDatabaseUnavailable
		}
		return errorf(class, "postgres: %s: %s", op, what)
	case "08P01":
		// A protocol violation of a statement is a pooler's missing
		// setting. PgBouncer sends its own refusals with this code too:
		// those that say it cannot reach the server now are kept, whole
		// (fixed texts), and may be retried; any other (a database name
		// it does not know, which echoes the connection string) is not
		// kept, as no text of a connection attempt is.
		m := serverMessage(err)
		for _, t := range poolerTransient {
			if strings.HasPrefix(m, t) {
				return errorf(ErrDatabaseUnavailable, "postgres: %s: the pooler could not serve the call: %s (SQLSTATE %s)", op, m, code)
			}
		}
		if strings.Contains(m, "prepared statement") || strings.Contains(m, "bind message") {
			return errorf(nil, "postgres: %s: %s (SQLSTATE %s)", op, serverFailure(err, code), code)
		}
		for _, r := range poolerRefusals {
			if len(m) >= len(r.start) && strings.EqualFold(m[:len(r.start)], r.start) { // PgBouncer's case varies by release
				return errorf(nil, "postgres: %s: %s (SQLSTATE %s)", op, r.words, code)
			}
		}
		return errorf(nil, "postgres: %s: a pooler or the server broke the connection (SQLSTATE %s)", op, code)
	case "0A000":
		// lib/pq begins every transaction READ WRITE, which a standby
		// refuses so, not as read-only (25006) as pgx's BEGIN meets it
		// (a trial: on a demoted primary, writes over lib/pq were no
		// ErrDatabaseUnavailable). Told by the stage, a BEGIN, whatever
		// the server's language, or by the server's English text.
		var begin beginError
		if errors.As(err, &begin) || strings.HasPrefix(serverMessage(err), "cannot set transaction read-write mode during recovery") {
			return errorf(ErrDatabaseUnavailable, "postgres: %s: %s (SQLSTATE %s)", op, sqlStates["25006"], code)
		}
		return errorf(nil, "postgres: %s: %s (SQLSTATE %s)", op, serverFailure(err, code), code)
	default:
		var class error
		if strings.HasPrefix(code, "08") || unavailableStates[code] {
			class = ErrDatabaseUnavailable
		}
		return errorf(class, "postgres: %s: %s (SQLSTATE %s)", op, serverFailure(err, code), code)
	}
}

// poolerRefusals are the starts of PgBouncer's refusals of a login
// (SQLSTATE 08P01, as any of its refusals) that will not mend by trying
// again, and what the store says instead: never the rest of the text,
// which names the database or parameter of the connection string (an SRE
// trial: a wrong password through PgBouncer said only that the connection
// broke).
var poolerRefusals = []struct{ start, words string }{
	{"SASL authentication failed", "the pooler refused the login: check the user and password (its auth_file or auth_query)"},
	{"password authentication failed", "the pooler refused the login: check the user and password (its auth_file or auth_query)"},
	{"no such user", "the pooler refused the login: check the user and password (its auth_file or auth_query)"},
	{"no such database", "the pooler knows no database of that name (its [databases] section)"},
	{"unsupported startup parameter", "the pooler refused a parameter of the connection string (options=, or one the driver sends): " +
		"remove it, or list it in the pooler's ignore_startup_parameters"},
}

// poolerTransient are the starts of PgBouncer's refusals (SQLSTATE
// 08P01) that say it cannot serve now but may soon: its fixed texts,
// which hold nothing of the connection string.
var poolerTransient = []string{
	"server login has been failing",
	"pgbouncer cannot connect to server",
	"query_wait_timeout",
	"server conn crashed?",
	"no more connections allowed",
	"client_idle_timeout",
	"server shutting down",
	"pgbouncer is shutting down",
}

// unavailableStates are the SQLSTATEs, besides the connection exceptions
// (class 08), of a server that cannot serve now but may soon.
// A statement cancelled by the server's statement_timeout (57014) or
// lock_timeout (55P03) is one: nothing of it was committed (a trial: every
// write refused so came back as a plain error).
//
// So is a read-only server (25006): a primary demoted to a standby in a
// failover, which a DSN with target_session_attrs=read-write leaves at
// the next connection.
var unavailableStates = map[string]bool{"57P01": true, "57P02": true, "57P03": true, "53300": true, "57014": true, "55P03": true, "25006": true}

// poolerHint is what a host behind PgBouncer in transaction mode must add
// to its connection string (README, "Behind PgBouncer").
const poolerHint = "add binary_parameters=yes (lib/pq) or default_query_exec_mode=exec (pgx) to the connection string"

// sqlStates names the SQLSTATEs a host most likely meets, and what to do.
var sqlStates = map[string]string{
	"28P01":               "the database refused the password",
	"28000":               "the database refused the login",
	"3D000":               "the database does not exist",
	"3F000":               "the store's schema does not exist (call Migrate)",
	"42P01":               "a table of the store does not exist (call Migrate)",
	"42883":               "a function of the store does not exist (call Migrate)",
	"42501":               "the database role lacks a privilege (a runtime role needs the grants of PostgresGrants, secretsctl grants)",
	"25006":               "the database is read-only (a standby?)",
	"53300":               "the database has too many connections",
	"55P03":               "a lock was not available",
	"57014":               "the statement was cancelled (statement_timeout, or a cancel request)",
	"26000":               "a prepared statement does not exist: behind a transaction-mode pooler, " + poolerHint,
	"42P05":               "a prepared statement already exists: behind a transaction-mode pooler, " + poolerHint,
	"08P01":               "the server saw a protocol violation: behind a transaction-mode pooler, " + poolerHint,
	"57P01":               "the database is shutting down",
	"57P02":               "the database restarted after a crash",
	"57P03":               "the database is not accepting connections yet",
	sqlstateSerialization: "a serialization failure persisted",
	sqlstateDeadlock:      "a deadlock persisted",
}

// sqlClasses names the classes of SQLSTATE (its first two characters),
// in PostgreSQL's words.
var sqlClasses = map[string]string{
	"08": "connection exception",
	"0A": "feature not supported",
	"22": "data exception",
	"23": "integrity constraint violation",
	"25": "invalid transaction state",
	"28": "invalid authorization specification",
	"2B": "dependent privilege descriptors still exist",
	"3D": "invalid catalog name",
	"3F": "invalid schema name",
	"40": "transaction rollback",
	"42": "syntax error or access rule violation",
	"53": "insufficient resources",
	"54": "program limit exceeded",
	"55": "object not in prerequisite state",
	"57": "operator intervention",
	"58": "system error",
	"P0": "PL/pgSQL error",
	"XX": "internal error",
}

// statementClasses are the classes of SQLSTATE whose server message is
// kept: the server refuses statements with them, never a connection
// (unlike 42501, permission denied for a database, and 42704, an unknown
// parameter of the connection string, which are not kept).
var statementClasses = map[string]bool{"23": true, "25": true, "40": true, "42": true, "55": true, "P0": true}

// serverFailure describes err, which the server reported with code.
func serverFailure(err error, code string) string {
	if s, ok := sqlStates[code]; ok {
		return s
	}
	class := code[:min(2, len(code))]
	if statementClasses[class] && code != "42501" && code != "42704" {
		if m := serverMessage(err); m != "" {
			return m
		}
	}
	if s, ok := sqlClasses[class]; ok {
		return "database error: " + s
	}
	return "database error"
}

// serverMessage is the primary message of the server's error in err's
// chain (the error of either driver that has the SQLSTATE), without the
// drivers' decoration: lib/pq's Message, pgx's "SEVERITY: " prefix and
// " (SQLSTATE ...)" suffix. What wraps it (pgx's connection details) is
// left out.
func serverMessage(err error) string {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return oneLine(pe.Message)
	}
	var st interface {
		error
		SQLState() string
	}
	if !errors.As(err, &st) {
		return ""
	}
	m := st.Error()
	if i := strings.LastIndex(m, " (SQLSTATE "); i > 0 {
		m = m[:i]
	}
	for _, p := range []string{"ERROR: ", "FATAL: ", "PANIC: "} {
		m = strings.TrimPrefix(m, p)
	}
	return oneLine(m)
}

// connectionLost tells an error of a connection that broke: closed by
// the server or the network, or one the driver had marked bad (pgx's
// "conn closed", pgconn.ErrConnClosed, told by its text so that the
// library does not import pgx: a COMMIT whose connection was lost came
// back so).
func connectionLost(err error) bool {
	var pgxClosed interface {
		SafeToRetry() bool
		Error() string
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, net.ErrClosed) || errors.Is(err, sql.ErrConnDone) ||
		errors.As(err, &pgxClosed) && pgxClosed.Error() == "conn closed"
}

// lostBeforeCommit tells an error of a statement in a transaction, before
// its COMMIT, that ended the connection, so that the server rolled the
// transaction back: connectionLost's, and the server's own notice that it
// terminated the backend or is going down (57P01, 57P02, 57P03) or a
// connection exception (class 08), which pgx returns as such where lib/pq
// says the connection is bad (a trial: a backend killed before COMMIT was
// run again on lib/pq, not on pgx).
func lostBeforeCommit(err error) bool {
	c := sqlState(err)
	return connectionLost(err) || c == "57P01" || c == "57P02" || c == "57P03" || strings.HasPrefix(c, "08")
}

// staleConn tells an error of a connection that broke or that the server
// ended (57P01, 57P02: terminated, or going down after a crash): another
// connection of the pool may serve. Not a connection exception (class
// 08), which PgBouncer also uses for its refusals of a login: sending
// those again would only repeat a failed login.
func staleConn(err error) bool {
	c := sqlState(err)
	return connectionLost(err) || c == "57P01" || c == "57P02"
}

// clientFailure describes an error without a SQLSTATE: the driver's or
// the network's, before or between the server's answers; unreachable says
// the database could not be reached or the connection broke (not a
// connection string, a certificate or the driver itself, which trying
// again does not mend).
func clientFailure(err error) (what string, unreachable bool) {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		opErr   *net.OpError
		urlErr  *url.Error
		certErr *tls.CertificateVerificationError
		authErr x509.UnknownAuthorityError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, pq.ErrSSLNotSupported):
		// lib/pq's default sslmode is require (pgx's is prefer).
		return "the server does not accept TLS, which the connection string asks for (lib/pq's default sslmode is require): " +
			"enable TLS on the server, or add sslmode=disable where the network is trusted", false
	case errors.As(err, &urlErr):
		return "the connection string could not be parsed", false
	case errors.As(err, &certErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &recErr):
		return "the TLS connection to the database failed", false
	case errors.As(err, &dnsErr):
		// Retried too when no server knows the name: a database's name
		// may resolve only once it runs (a compose service starting).
		return "the database's host name could not be resolved", true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the database refused the connection (is it running, on that host and port?)", true
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out reaching the database", true
	case connectionLost(err):
		return "the connection to the database was lost", true
	case errors.As(err, &opErr):
		return "a network error reaching the database", true
	}
	if err.Error() == "sql: database is closed" { // database/sql's, unexported
		return "the host closed the database pool (sql.DB.Close)", false
	}
	// A typo in sslmode: lib/pq's and pgx's errors are plain texts (pgx's
	// quotes the connection string), matched here and never shown.
	if msg := err.Error(); strings.Contains(msg, "sslmode") && (strings.Contains(msg, "is not supported") || strings.Contains(msg, "sslmode is invalid")) {
		return "the connection string's sslmode is not one the driver knows (disable, require, verify-ca or verify-full; pgx also allow and prefer)", false
	}
	if b := (beginError{}); errors.As(err, &b) {
		err = b.err // the driver's own type, not the wrapper's
	}
	return fmt.Sprintf("the database driver failed (%T)", err), false
}
