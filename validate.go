package secrets

import (
	"bytes"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dataspace/secrets/internal/scope"
)

// MaxEnvString is the largest "NAME=value" string, counting its final NUL,
// that Linux passes to a new process (MAX_ARG_STRLEN, 32 pages of 4 KiB).
// A longer one makes execve fail with E2BIG, so Set refuses it.
const MaxEnvString = 128 << 10

// maxWorkspaceLen bounds workspace identifiers.
const maxWorkspaceLen = 256

// ValidWorkspace returns nil if ws is a valid container identifier (a
// workspace or a parent), and otherwise an error matching
// ErrInvalidWorkspace: 1 to 256 bytes of UTF-8 without NUL. Every call
// that takes a workspace refuses an invalid one so; a host that passes
// one to a call where "" means every workspace (EventQuery.Workspace)
// checks it first.
func ValidWorkspace(ws string) error { return validWorkspace(ws) }

func validWorkspace(ws string) error {
	if ws == "" || len(ws) > maxWorkspaceLen || !utf8.ValidString(ws) || strings.ContainsRune(ws, 0) {
		return errorf(ErrInvalidWorkspace, "a workspace must be 1 to %d bytes of UTF-8 without NUL", maxWorkspaceLen)
	}
	return nil
}

// maxActorLen bounds an actor (WithActor), in bytes.
const maxActorLen = 256

// validActor checks the caller's identity before anything happens: it
// goes into every event, and Postgres refuses text with NUL or invalid
// UTF-8. "" (no actor) is valid.
func validActor(actor string) error {
	if len(actor) > maxActorLen || !utf8.ValidString(actor) || strings.ContainsFunc(actor, unicode.IsControl) {
		return errorf(ErrInvalidActor, "the actor must be at most %d bytes of UTF-8 without control characters", maxActorLen)
	}
	return nil
}

// askable returns the names that m would accept (the environment-variable
// rule and Config.MaxNameLength): the others are refused unquoted, never
// shown to an authorizer or put in an event. A name as stored passes, as
// the caller's spelling of it did to be looked up.
func (m *Manager) askable(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if validSyntax(n, m.cfg.MaxNameLength) == nil {
			out = append(out, n)
		}
	}
	return out
}

// defaultMaxNameLength is Config.MaxNameLength's default.
const defaultMaxNameLength = 256

// maxDescription bounds Info.Description, in bytes.
const maxDescription = 4096

// validInfo checks what an editor sets besides the value.
func validInfo(info Info) error {
	if len(info.Description) > maxDescription || !utf8.ValidString(info.Description) || strings.ContainsRune(info.Description, 0) {
		return errorf(ErrInvalidInfo, "a description must be at most %d bytes of UTF-8 without NUL", maxDescription)
	}
	for _, t := range []time.Time{info.Expires, info.RotateBy} {
		if !t.IsZero() && (t.Year() < 1970 || t.Year() > 9999) {
			return errorf(ErrInvalidInfo, "dates must fall between the years 1970 and 9999")
		}
	}
	if info.WriteOnly && info.Expand {
		// The names a value references are text of it: a job that cannot
		// resolve one, or a cycle, names them in errors and events, which
		// a write-only value must never reach.
		return errorf(ErrInvalidInfo, "a write-only secret cannot expand references (the names it references would show in errors and events)")
	}
	return nil
}

// validEnvironment checks a job's environment ("" for none):
// ErrInvalidScope if it is not one.
func validEnvironment(env string) error {
	if err := scope.ValidEnvironment(env); err != nil {
		return errorf(ErrInvalidScope, "%s", err.Error())
	}
	return nil
}

// validShown checks the scope of a name being created (ErrInvalidScope if
// it could look like another scope: a character that shows nothing, a word
// of two scripts, a letter of none; see scope.Shown). Names
// already stored are not checked: they stay readable, renamable,
// deletable and restorable.
func validShown(name string) error {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		if err := scope.Shown(name[i+1:]); err != nil {
			return errorf(ErrInvalidScope, "%s", err.Error())
		}
	}
	return nil
}

// validSyntax checks the environment-variable rule. An invalid name is not
// quoted in the error: users paste values into name fields.
//
// A name may end in '@' and a scope (see [SplitName]): the scope must be
// valid (ErrInvalidScope) and not "*", which is written without '@'.
func validSyntax(name string, maxLen int) error {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		sc := name[i+1:]
		if err := scope.Valid(sc); err != nil {
			return errorf(ErrInvalidScope, "%s", err.Error())
		}
		if sc == scope.Any {
			return errorf(ErrInvalidScope, "the scope of every environment is written by leaving it out (NAME, not NAME@*)")
		}
		name = name[:i]
	}
	if name == "" || len(name) > maxLen {
		return errorf(ErrInvalidName, "a name must be 1 to %d characters", maxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return errorf(ErrInvalidName, "a name must match [A-Za-z_][A-Za-z0-9_]* (character %d does not)", i+1)
		}
	}
	return nil
}

func validValue(name string, value []byte) error {
	if bytes.IndexByte(value, 0) >= 0 {
		return errorf(ErrInvalidValue, "the value of %s contains a NUL byte, which no environment can hold", name)
	}
	if n := envSize(name, len(value)); n > MaxEnvString {
		return errorf(ErrTooLarge, "%s=value takes %d bytes, over the %d a process environment string may hold", name, n, MaxEnvString)
	}
	return nil
}

// envSize is the bytes "NAME=value\x00" takes: the variable's name, not
// the scope a secret's name may add to it.
func envSize(name string, valueLen int) int64 { return int64(len(variableOf(name)) + valueLen + 2) }
