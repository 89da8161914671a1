package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/dataspace/secrets"
)

// The exit statuses, as the help text documents them.
const (
	exitOK          = 0
	exitFailed      = 1 // an operational failure: database, KMS, decryption, I/O
	exitUsage       = 2 // a usage error: arguments, flags, an invalid --env or scope, a missing master key
	exitNotFound    = 3 // no such secret, version or workspace
	exitConflict    = 4 // a stale --if-revision, or a name already used
	exitRefused     = 5 // forbidden, invalid input (a --parents chain, a reference cycle too), a write-only value, an unknown master key
	exitIncomplete  = 6 // a rotation or re-wrap left items, which are printed
	exitUnavailable = 7 // the authorizer could not decide; try again
	exitNoExec      = 126
	exitNoCommand   = 127
)

const exitHelp = `EXIT STATUS:
   0      success
   1      operational failure (database, KMS, decryption, I/O),
          including data whose workspace key is wrapped by a master key
          not given (--old-master-key), or a confirmation answered no
   2      usage error (arguments, flags, an invalid --env, @SCOPE, --actor
          or --by, a time before 1970, no
          master key given, --yes missing off a terminal, an -o FILE that
          exists and is not a regular file, --pass-env of a variable
          secretsctl reads credentials or keys from)
   3      not found (secret, version, key, or a workspace or --parents
          container with no secrets)
   4      conflict: the secret changed since --if-revision (the current
          revision is printed), the name is taken, a stale apply --plan or
          restore --plan, an apply --plan of another scope, a plan made
          for another workspace, disabling the primary key
   5      refused: forbidden, invalid input (name, value, .env text,
          backup, empty value, a --parents chain, ${NAME} references that
          form a cycle or that a job cannot expand), write-only value, a
          value get --json cannot carry (not UTF-8), an age identity
          that does not open the backup, a run --user another job or
          process runs as (unless --shared-user), or a master key (--master-key)
          the store does not know, when the command would write with it,
          or a retired one; rewrap --retire-old of a key that still wraps
          workspace keys
   6      incomplete: rotate or rewrap left items, which are listed
   7      unavailable: the host's authorizer could not decide; try again
   126    run: the program cannot be executed
   127    run: the program was not found
   128+N  interrupted by signal N (Ctrl-C 130, SIGTERM 143), waiting for
          input too; run: the program ended by signal N (as the first
          process of its own PID namespace, the default for a job of
          another user, it does not end by a signal it sends itself, kill
          $$: Linux ignores that for a namespace's first process, so it
          goes on and exits as it then does; --no-pid-namespace if a
          program relies on it)
   other  run: the program's own status

Errors are one line on stderr. They never hold a value, a key or the
database URL.`

// A codedError is an error of secretsctl itself with its exit status.
// With quiet, nothing is printed: a job's own status.
type codedError struct {
	code  int
	msg   string
	quiet bool
}

func (e *codedError) Error() string { return e.msg }

// usage returns a usage error (exit 2).
func usage(format string, args ...any) error {
	return &codedError{code: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// fail returns an error that exits with code.
func fail(code int, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}

// exitCode maps an error to the exit status documented in exitHelp.
func exitCode(err error) int {
	var ce *codedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrNoVersion):
		return exitNotFound
	case errors.Is(err, secrets.ErrConflict), errors.Is(err, secrets.ErrExists):
		return exitConflict
	case errors.Is(err, secrets.ErrIncomplete):
		return exitIncomplete
	case errors.Is(err, secrets.ErrUnavailable):
		return exitUnavailable
	case errors.Is(err, secrets.ErrInvalidScope), errors.Is(err, secrets.ErrInvalidActor):
		// A scope comes from --env or NAME@SCOPE on the command line,
		// an actor from --actor or --by.
		return exitUsage
	case errors.Is(err, secrets.ErrForbidden),
		errors.Is(err, secrets.ErrInvalidName),
		errors.Is(err, secrets.ErrReservedName),
		errors.Is(err, secrets.ErrInvalidValue),
		errors.Is(err, secrets.ErrTooLarge),
		errors.Is(err, secrets.ErrInvalidInfo),
		errors.Is(err, secrets.ErrInvalidWorkspace),
		errors.Is(err, secrets.ErrInvalidParents),
		errors.Is(err, secrets.ErrInvalidDotenv),
		errors.Is(err, secrets.ErrReference),
		errors.Is(err, secrets.ErrInvalidBackup),
		errors.Is(err, secrets.ErrBackupIdentity),
		errors.Is(err, secrets.ErrMasterKey),
		errors.Is(err, secrets.ErrWriteOnly),
		errors.Is(err, secrets.ErrExpired):
		return exitRefused
	}
	return exitFailed
}

// message is the one line secretsctl prints for err, without the
// library's "secrets: " prefix (secretsctl prints its own).
func message(err error) string {
	var mk *secrets.MasterKeyError
	var ce *secrets.ConflictError
	var msg string
	switch {
	case errors.As(err, &mk) && mk.Wrong:
		msg = fmt.Sprintf("master key %s is not the key this store knows under that ID: check --master-key or --kms", mk.ID)
	case errors.As(err, &mk) && mk.Retired:
		msg = fmt.Sprintf("master key %s is retired: give the master key the store moved to with --master-key or --kms", mk.ID)
	case errors.As(err, &mk) && mk.InUse != 0:
		msg = fmt.Sprintf("master key %s still wraps workspace keys: run rewrap with it as --old-master-key or --old-kms first", mk.ID)
	case errors.As(err, &mk) && mk.Primary:
		msg = fmt.Sprintf("master key %s is the master key given: retire only a former key", mk.ID)
	case errors.As(err, &mk):
		known := strings.Join(mk.Known, ", ")
		if known == "" {
			known = "none"
		}
		msg = fmt.Sprintf("master key %s is not known to this store (it knows: %s); give --add-master-key to register it", mk.ID, known)
	default:
		msg = strings.TrimPrefix(err.Error(), "secrets: ")
		if errors.As(err, &ce) && ce.Revision > 0 && !strings.Contains(msg, fmt.Sprintf("revision %d", ce.Revision)) {
			msg += fmt.Sprintf(" (current revision %d)", ce.Revision)
		}
	}
	return cliWords(oneLine(msg))
}

// cliWords puts the flags that set them for the library's Config fields
// that its messages name.
func cliWords(s string) string {
	return strings.NewReplacer(
		"Config.DecryptOnly", "--old-master-key or --old-kms",
		"Config.AddMasterKey", "--add-master-key",
		"RestoreOptions.SkipWithheld", "--skip-withheld",
		"RestoreOptions.TrustVersion1", "--trust-version-1",
		"(RestoreOptions.MaxBytes)", backupLimitWords,
	).Replace(s)
}

// backupLimitWords says what the largest backup restore takes is, for an
// operator: there is no flag to raise it.
const backupLimitWords = "(the size of a backup of the largest workspace the store allows: is it a backup secretsctl wrote?)"

// oneLine folds control characters and runs of blanks into single spaces.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }), " ")
}

// scrubber removes a database URL, and the password in it, from text
// printed to the operator: the library's errors never hold them, and
// this makes sure no driver or URL-parsing error of secretsctl does.
type scrubber []string

func newScrubber(dsn string) scrubber {
	if dsn == "" {
		return nil
	}
	s := scrubber{dsn}
	u, perr := url.Parse(dsn)
	if perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			s = append(s, p, url.QueryEscape(p), url.PathEscape(p))
		}
	}
	// A URL that does not parse (a password with "/", "#", "?", "%" or a
	// blank, typed unescaped): its password is what lies between the
	// user's colon and the last "@", and a parser that cut it in the
	// wrong place prints pieces of it, so each piece goes too. Only then:
	// the pieces of a URL that parses are words of its password, which,
	// replaced in a message, said which words it holds (a CLI trial:
	// "NOPE [redacted] exist" of a password "does not").
	if _, rest, ok := strings.Cut(dsn, "://"); ok && perr != nil {
		if i := strings.LastIndex(rest, "@"); i > 0 {
			if _, p, ok := strings.Cut(rest[:i], ":"); ok {
				s = append(s, p)
				s = append(s, strings.FieldsFunc(p, func(r rune) bool { return strings.ContainsRune("/#?@% :", r) })...)
			}
		}
	}
	// A key=value connection string: password=... up to a blank.
	for _, f := range strings.Fields(dsn) {
		if p, ok := strings.CutPrefix(f, "password="); ok {
			s = append(s, strings.Trim(p, "'"))
		}
	}
	return s
}

// scrub replaces every string of s found in text. Passwords shorter
// than four bytes are left alone: replacing every "a" of a message would
// make it unreadable, and such a password protects nothing.
func (s scrubber) scrub(text string) string {
	for _, x := range s {
		if len(x) >= 4 {
			text = strings.ReplaceAll(text, x, "[redacted]")
		}
	}
	return text
}
