package secrets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The classes of refusal. Every error a Manager returns for a refused or
// failed call matches exactly one of them with [errors.Is], except
// operational failures (a database that cannot be reached, a cancelled
// context: those match the cause, such as [context.Canceled]). Messages
// are one line, start with "secrets: " once, may be shown to the editor
// who made the call, and never hold a value, key material or a
// connection string.
var (
	// ErrNotFound: no secret of that name (ignoring case), or the secret
	// is soft-deleted and the call needs a live one (see [Manager.Delete]).
	ErrNotFound = errors.New("secrets: not found")
	// ErrNoVersion: the secret exists but the version asked for is not
	// retained: pruned from its history (Config.KeepVersions) or never
	// written.
	ErrNoVersion = errors.New("secrets: version not retained")
	// ErrConflict: a conditional write found the secret at another
	// revision than the one the editor saw, or deleted or destroyed since,
	// or was made from a negative revision, which no secret is ever at;
	// such a write to one secret returns a *[ConflictError] carrying the
	// current revision. A whole-workspace change (Apply, Import, Restore,
	// RestoreAt) that found the workspace changed since its preview or
	// lost a race, a change to a workspace key that found the key changed
	// meanwhile, SetKeyEnabled asked to disable the primary key, and a
	// write to one secret that kept losing races to other writers (see
	// SetOptions) return a plain error matching ErrConflict instead, with
	// no ConflictError.
	ErrConflict = errors.New("secrets: changed since the revision seen")
	// ErrExists: a secret of the workspace, live or soft-deleted, already
	// has that name ignoring case. The error is an *[ExistsError] naming
	// the existing spelling.
	ErrExists = errors.New("secrets: name already used")
	// ErrInvalidName: the name does not follow the environment-variable
	// rule [A-Za-z_][A-Za-z0-9_]* or is too long.
	ErrInvalidName = errors.New("secrets: invalid name")
	// ErrReservedName: the name is on the deny-list (see [DeniedNames]),
	// on the stricter preset or matches [NamePatterns] with
	// Config.StrictNames, is reserved by the host (Config.ReservedNames,
	// ReservedPrefixes), or is not one Config.OnlyNames allows.
	ErrReservedName = errors.New("secrets: reserved name")
	// ErrInvalidValue: the value holds a NUL byte.
	ErrInvalidValue = errors.New("secrets: invalid value")
	// ErrTooLarge: a "NAME=value" string over [MaxEnvString], a workspace
	// environment over Config.MaxEnvBytes, a new secret past
	// Config.MaxSecrets, a job's arguments and environment over what the
	// kernel accepts, a backup document over RestoreOptions.MaxBytes or
	// holding more secrets than a workspace may hold, a .env text larger
	// than the workspace could hold or naming more secrets than it could,
	// or a job's runtime masks (Job.RuntimeMasks) past [MaxRuntimeMasks]
	// or [MaxRuntimeMaskBytes].
	ErrTooLarge = errors.New("secrets: too large")
	// ErrInvalidInfo: a description over 4 KiB or not UTF-8, a date
	// out of the years 1970 to 9999, or a write-only secret that expands.
	ErrInvalidInfo = errors.New("secrets: invalid info")
	// ErrInvalidWorkspace: the workspace identifier is empty, too long, or
	// not UTF-8.
	ErrInvalidWorkspace = errors.New("secrets: invalid workspace")
	// ErrInvalidDotenv: a .env text could not be parsed, holds a name
	// twice, or holds a name or value that Set would refuse. The error is
	// a *[DotenvError] giving the line.
	ErrInvalidDotenv = errors.New("secrets: invalid .env text")
	// ErrDecrypt: a ciphertext or wrapped key failed authentication
	// (tampering, a ciphertext moved between rows, a re-flagged secret, a
	// disabled data key, a wrong master key). A *[DecryptError] names the
	// secrets concerned.
	ErrDecrypt = errors.New("secrets: decryption failed")
	// ErrMasterKey: the Manager's master key is not one the Store knows
	// (and Config.AddMasterKey is not set), is not the key the Store
	// knows under that ID, or is retired (see [Manager.RetireMasterKey]);
	// or a master key may not be retired (the Manager's own, or one that
	// still wraps workspace keys). Nothing was written. A
	// *[MasterKeyError] names the key IDs, never key material.
	ErrMasterKey = errors.New("secrets: unknown master key")
	// ErrForbidden: Config.Authorize refused the call. Nothing was changed
	// or revealed.
	ErrForbidden = errors.New("secrets: forbidden")
	// ErrWriteOnly: the secret is write-only: it is injected into jobs but
	// never revealed, whoever asks.
	ErrWriteOnly = errors.New("secrets: write-only secret")
	// ErrExpired: a job asked for a secret past its Info.Expires while
	// Config.Expired is ExpiredRefuse.
	ErrExpired = errors.New("secrets: secret expired")
	// ErrAudit: a read that reveals or injects values could not record its
	// audit event, and Config.AuditReads is AuditFailClosed.
	ErrAudit = errors.New("secrets: audit event not recorded")
	// ErrIncomplete: a rotation or re-wrap did all it could but left some
	// items, which its result lists with the reason.
	ErrIncomplete = errors.New("secrets: incomplete")
	// ErrUnavailable: Config.Authorize could not decide (it returned a
	// *Refusal with Unavailable, or an error matching ErrUnavailable):
	// nothing was done; the call may be tried again.
	ErrUnavailable = errors.New("secrets: authorization unavailable")
	// ErrDatabaseUnavailable: the Store's database could not be reached
	// or could not serve the call: the connection was refused, timed out
	// or lost, the server is starting, shutting down or at its
	// connection limit, or a pooler in front of it could not reach it.
	// The call may be tried again; a write that failed so may have been
	// committed (the Postgres store runs a write again when its
	// connection is lost before COMMIT, not when it is lost after):
	// retry it on condition (IfRevision) rather than trusting a
	// read-back.
	ErrDatabaseUnavailable = errors.New("secrets: database unavailable")
	// ErrMigratePrivilege: Migrate found the schema missing or behind the
	// version this package needs, and the database role it runs as lacks
	// a privilege that applying the migrations needs (the runtime role of
	// [PostgresGrants], say). Nothing was changed. Run Migrate as the
	// migration role (secretsctl migrate) first. The error is a
	// *[MigratePrivilegeError], which names what is missing.
	ErrMigratePrivilege = errors.New("secrets: the database role may not migrate the schema")
	// ErrInvalidIdentifier: [PostgresGrants] was given a schema name that
	// is not a lower-case SQL identifier (as [PostgresConfig].Schema), a
	// role name that is empty, over 63 bytes, not UTF-8, holds a control
	// character, starts with "pg_" or is "public", or the same role twice.
	ErrInvalidIdentifier = errors.New("secrets: invalid identifier")
	// ErrInvalidActor: the actor of the context (WithActor) is over 256
	// bytes, not UTF-8, or holds a control character (NUL included).
	// Nothing is done, and nothing is recorded: such an actor could not
	// be.
	ErrInvalidActor = errors.New("secrets: invalid actor")
	// ErrInvalidParents: Config.Parents named more than [MaxParents]
	// containers, one twice or the workspace itself (a cycle), or an
	// invalid container identifier. The job gets nothing.
	ErrInvalidParents = errors.New("secrets: invalid parents")
	// ErrInvalidScope: the scope in a secret's name (after '@') or a
	// job's environment is not valid: empty, over 255 bytes, with white
	// space, control or formatting characters, a character that shows
	// nothing in a name being created (see docs/scopes.md), a '*' anywhere but at the
	// end (so also "**"), or "*" itself, which is written by leaving the
	// scope out ("NAME", not "NAME@*"). An environment holds no '*'.
	ErrInvalidScope = errors.New("secrets: invalid scope")
	// ErrReference: a ${NAME} reference of a secret that opted in to
	// expansion (Info.Expand) cannot be expanded for a job: it names a
	// secret the job does not get, a parent's value references a nearer
	// level's secret (without Config.ReferNearer), or the references form
	// a cycle, nest deeper than MaxReferenceDepth or expand over the size
	// limits; or a Set or SetInfo would make references form a cycle.
	// The error is a *[ReferenceError] naming the secrets, never a value.
	ErrReference = errors.New("secrets: reference cannot be expanded")
	// ErrKeyChanged: a write was encrypted under a workspace key
	// generation that is no longer current. Stores return it; the Manager
	// reloads the key and retries, so callers see it only if that keeps
	// failing.
	ErrKeyChanged = errors.New("secrets: workspace key changed")
	// ErrInvalidBackup: a backup document given to PreviewRestore or
	// Restore is not JSON, not a backup, of an unknown version, damaged,
	// or holds a secret that Set would refuse on its own (references are
	// not checked) or a name twice. The message
	// names the secret by position (and name, if valid), never a value.
	ErrInvalidBackup = errors.New("secrets: invalid backup")
	// ErrBackupIdentity: a backup encrypted to age recipients was given
	// without an identity, or with none that matches them.
	ErrBackupIdentity = errors.New("secrets: no identity opens the backup")
	// ErrInvalidTime: the time given to PreviewRestoreAt is zero.
	ErrInvalidTime = errors.New("secrets: invalid time")
)

// errTooManySecrets is the cause of a store's ErrTooLarge for a Put past
// Write.MaxSecrets, which the Manager reports in its own words.
var errTooManySecrets = errors.New("too many secrets")

// tooManySecrets is a store's refusal of a Put past Write.MaxSecrets.
func tooManySecrets(format string, args ...any) error {
	return &failure{class: ErrTooLarge, msg: oneLine(fmt.Sprintf(format, args...)), cause: errTooManySecrets}
}

// failure is an error of one class with a one-line message and an
// optional cause.
type failure struct {
	class error
	msg   string
	cause error
}

// Error returns "secrets: " and the message, then the cause.
func (e *failure) Error() string {
	if e.cause == nil {
		return "secrets: " + e.msg
	}
	return "secrets: " + e.msg + ": " + detail(e.cause)
}

// Is reports whether target is the error's class.
func (e *failure) Is(target error) bool { return e.class != nil && target == e.class }

// Unwrap returns the cause.
func (e *failure) Unwrap() error { return e.cause }

// errorf returns an error of class with a message built from format.
func errorf(class error, format string, args ...any) error {
	return &failure{class: class, msg: oneLine(fmt.Sprintf(format, args...))}
}

// wrapf returns an error that adds context to cause, keeping its class.
func wrapf(cause error, format string, args ...any) error {
	if cause == nil {
		return nil
	}
	return &failure{msg: oneLine(fmt.Sprintf(format, args...)), cause: cause}
}

// detail is an error's text without a leading "secrets: ", so that
// wrapping never repeats the prefix, on one line.
func detail(err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), "secrets: "))
}

// oneLine folds control characters and runs of white space into single
// spaces: messages may be shown in a UI or a log line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }), " ")
}

// A ConflictError reports a conditional write that found the secret
// changed. It matches [ErrConflict].
type ConflictError struct {
	Name     string // the secret's name, as stored
	Seen     int64  // the revision the caller expected
	Revision int64  // the secret's current revision; 0 if it is gone
	Version  int64  // the current value version; 0 if the secret is gone
	Deleted  bool   // the secret is soft-deleted
}

// Error says what the secret is at now.
func (e *ConflictError) Error() string {
	switch {
	case e.Seen < 0:
		return fmt.Sprintf("secrets: %s is never at revision %d: revisions start at 1", e.Name, e.Seen)
	case e.Revision == 0:
		return fmt.Sprintf("secrets: %s no longer exists (revision %d was expected)", e.Name, e.Seen)
	case e.Deleted && e.Seen == e.Revision:
		return fmt.Sprintf("secrets: %s is deleted", e.Name)
	case e.Deleted:
		return fmt.Sprintf("secrets: %s was deleted at revision %d (revision %d was expected)", e.Name, e.Revision, e.Seen)
	case e.Seen == e.Revision:
		return fmt.Sprintf("secrets: %s is not deleted", e.Name)
	}
	return fmt.Sprintf("secrets: %s was changed by someone else: it is at revision %d, not %d", e.Name, e.Revision, e.Seen)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// An ExistsError reports that a name is taken. It matches [ErrExists].
type ExistsError struct {
	Name    string // the existing secret's name, as stored
	Deleted bool   // that secret is soft-deleted: it holds the name until destroyed
}

// Error names the existing secret.
func (e *ExistsError) Error() string {
	if e.Deleted {
		return fmt.Sprintf("secrets: the deleted secret %s holds that name until it is destroyed or restored", e.Name)
	}
	return fmt.Sprintf("secrets: a secret named %s exists (names are unique ignoring case)", e.Name)
}

// Is reports whether target is ErrExists.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// A DecryptError reports the secrets of a workspace that could not be
// decrypted. It matches [ErrDecrypt].
type DecryptError struct {
	Workspace string   // the container of the secrets: the workspace or, for a job, a parent
	Names     []string // the secrets that failed, as stored; a past version as "NAME version N"
	// Cause, if not nil, is why: e.g. the workspace key could not be
	// unwrapped. It never holds key material or values.
	Cause error
}

// Error names the workspace and the secrets, never a value.
func (e *DecryptError) Error() string {
	s := fmt.Sprintf("secrets: workspace %q: cannot decrypt %s", e.Workspace, strings.Join(e.Names, ", "))
	if e.Cause != nil {
		s += ": " + detail(e.Cause)
	}
	return s
}

// Is reports whether target is ErrDecrypt.
func (e *DecryptError) Is(target error) bool { return target == ErrDecrypt }

// Unwrap returns the cause, so that an unreachable KMS or a cancelled
// context can be told from tampering.
func (e *DecryptError) Unwrap() error { return e.Cause }

// A DotenvError reports where a .env text is wrong. It never quotes a
// value, nor a name that failed validation. It matches [ErrInvalidDotenv]
// only: its Reason says which rule the line broke.
type DotenvError struct {
	Line   int    // 1-based line where the entry starts
	Msg    string // what is wrong, naming the variable when its name is valid
	Reason error  // the validation class (ErrInvalidName, ErrInvalidScope, ErrReservedName, ErrInvalidValue, ErrTooLarge, ErrExists), or nil for syntax
}

// Error gives the line and what is wrong.
func (e *DotenvError) Error() string {
	return fmt.Sprintf("secrets: .env line %d: %s", e.Line, oneLine(e.Msg))
}

// Is reports whether target is ErrInvalidDotenv.
func (e *DotenvError) Is(target error) bool { return target == ErrInvalidDotenv }

// A MasterKeyError reports a master key the Store does not know, or a key
// that is not the one the Store knows under its ID. It matches
// [ErrMasterKey].
type MasterKeyError struct {
	ID    string   // the Manager's master key, or the key to retire
	Known []string // the master keys the Store knows
	Wrong bool     // the Store knows ID, but this key is not that key
	// Retired: ID is retired, so no workspace key may be wrapped by it;
	// configure the master key the store moved to.
	Retired bool
	// InUse: ID may not be retired, since workspace keys (InUse of them,
	// or -1 if the Store did not say how many) are still wrapped by it:
	// Rewrap them first.
	InUse int
	// Primary: ID may not be retired, since it is the master key of the
	// Manager asked to retire it.
	Primary bool
	// Cause, with Wrong, is the key's refusal to open the store's check
	// value (a KMS's own message, such as a key version disallowed by
	// policy), when there was one: its text ends the message. It is not
	// unwrapped, so that the error matches ErrMasterKey only.
	Cause error
}

// Error names the key IDs and what to do.
func (e *MasterKeyError) Error() string {
	switch {
	case e.Retired:
		return fmt.Sprintf("secrets: master key %s is retired: it wraps no new workspace key; configure the master key the store moved to (see Rewrap)", e.ID)
	case e.InUse > 0:
		return fmt.Sprintf("secrets: master key %s still wraps %d workspace keys: re-wrap them (Rewrap) before retiring it", e.ID, e.InUse)
	case e.InUse < 0:
		return fmt.Sprintf("secrets: master key %s still wraps workspace keys: re-wrap them (Rewrap) before retiring it", e.ID)
	case e.Primary:
		return fmt.Sprintf("secrets: master key %s is this Manager's master key: retire a former key, from a Manager configured with the new one", e.ID)
	}
	if e.Wrong {
		msg := fmt.Sprintf("secrets: master key %s is not the key this store knows under that ID", e.ID)
		if e.Cause != nil {
			msg += " (" + detail(e.Cause) + ")"
		}
		return msg
	}
	known := strings.Join(e.Known, ", ")
	if known == "" {
		known = "none, but holds workspace keys"
	}
	return fmt.Sprintf("secrets: master key %s is not known to this store (it knows %s); set Config.AddMasterKey to add it", e.ID, known)
}

// Is reports whether target is ErrMasterKey.
func (e *MasterKeyError) Is(target error) bool { return target == ErrMasterKey }

// A MigratePrivilegeError is the [ErrMigratePrivilege] that Migrate
// returns: the schema is behind, and the role lacks what migrating needs.
type MigratePrivilegeError struct {
	Schema  string // the store's schema
	Role    string // the database role Migrate ran as (current_user)
	Version int64  // the schema's version: the highest recorded (0: none, or not readable)
	Want    int64  // the version this package needs
	Missing string // what the role lacks, such as `CREATE on database "app"`
	// Unreadable: the schema's versions exist but the role may not read
	// them (the grants of PostgresGrants are missing), so Version is 0
	// whatever the schema's version is.
	Unreadable bool
}

// Error says what is missing, and what to do.
func (e *MigratePrivilegeError) Error() string {
	if e.Unreadable {
		return oneLine(fmt.Sprintf("secrets: migrate: role %s may not read the version of schema %s (this package needs %d) and lacks %s: "+
			"if the migration role has migrated it, run the SQL of PostgresGrants as that role; otherwise run Migrate as it first",
			quote(e.Role), quote(e.Schema), e.Want, e.Missing))
	}
	return oneLine(fmt.Sprintf("secrets: migrate: schema %s is at version %d, this package needs %d, and role %s lacks %s: run Migrate as the migration role first (see PostgresGrants)",
		quote(e.Schema), e.Version, e.Want, quote(e.Role), e.Missing))
}

// Is reports whether target is ErrMigratePrivilege.
func (e *MigratePrivilegeError) Is(target error) bool { return target == ErrMigratePrivilege }

// The helpers below build the text of errors and events; every layer
// uses them, so they live here, at the bottom.

// maxDetail bounds an event's detail, in bytes.
const maxDetail = 500

// truncateUTF8 cuts s to at most n bytes on a character boundary, and
// replaces invalid UTF-8, so that the database accepts it.
func truncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// quote quotes s as Go does, for a message.
func quote(s string) string { return strconv.Quote(s) }

// itoa formats n in decimal.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
