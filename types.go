package secrets

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A Value is a secret's bytes. It prints as "[redacted]" with every fmt
// verb, in log/slog and in JSON or text encodings; only Reveal gives the
// bytes. It holds them behind a function: fmt prints the unexported
// fields of a host's struct by reflection, without calling their methods
// and following pointers, but prints a function as its address, never
// calling it.
type Value struct{ get func() []byte }

func newValue(b []byte) Value { return Value{func() []byte { return b }} }

func (v Value) bytes() []byte {
	if v.get == nil {
		return nil
	}
	return v.get()
}

// Reveal returns a copy of the value's bytes.
func (v Value) Reveal() []byte { return append([]byte{}, v.bytes()...) }

// Len returns the value's length in bytes.
func (v Value) Len() int { return len(v.bytes()) }

const redacted = "[redacted]"

// Format writes "[redacted]" whatever the verb.
func (v Value) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// String returns "[redacted]".
func (v Value) String() string { return redacted }

// GoString returns "[redacted]".
func (v Value) GoString() string { return redacted }

// LogValue hides the value from log/slog.
func (v Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText hides the value from encoders.
func (v Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Info is what an editor sets on a secret besides its value.
type Info struct {
	// Description says what the secret is for.
	Description string `json:"description"`
	// Expires is when the value stops being valid (a token's expiry);
	// zero for never. Due lists secrets by it; Config.Expired says what a
	// job gets for a secret past it.
	Expires time.Time `json:"expires,omitzero"`
	// RotateBy is when the value should be replaced; zero for no
	// deadline. Due lists secrets by it.
	RotateBy time.Time `json:"rotate_by,omitzero"`
	// WriteOnly secrets are injected into jobs but never revealed by Get,
	// GetVersion or Export, whoever asks. It cannot be turned off: destroy
	// the secret instead. The flag is bound into every version's
	// ciphertext, so flipping it in the database makes the value fail to
	// decrypt.
	WriteOnly bool `json:"write_only"`
	// File secrets are delivered to jobs as a file (see [Manager.Prepare]):
	// the variable holds the file's path. Bound into the ciphertext, as
	// WriteOnly is.
	File bool `json:"file"`
	// Protected secrets are delivered only to jobs the host marks
	// protected (PrepareOptions.Protected: a protected branch, a deploy):
	// for any other job a protected secret is absent, as if it did not
	// exist, so a wider scope's or a farther level's value of the name
	// applies (see [Manager.Prepare]). Bound into the ciphertext, as
	// WriteOnly is; unlike WriteOnly it can be turned off (asking
	// ActionUnprotect), for the current value only: every other retained
	// version that was sealed protected stays protected, and a Rollback
	// or RestoreAt to it makes the secret protected again.
	Protected bool `json:"protected"`
	// Expand makes a job get the value with its ${NAME} references
	// replaced by the values of the secrets they name, as the job
	// resolves them (see the README's "References"). Off by default, so
	// that a value that merely holds "$" (a password) keeps its meaning.
	// Get, GetVersion, Export and the other calls that return a value
	// return its raw text, never the expansion. Bound into the
	// ciphertext, as Protected is. A write-only secret cannot expand
	// (ErrInvalidInfo): the names a value references would show in the
	// errors and events of jobs that cannot resolve them.
	Expand bool `json:"expand"`
}

// Meta describes a secret without its value.
type Meta struct {
	// Name identifies the secret in its workspace: the variable's name,
	// followed for a scope other than "*" by '@' and the scope
	// ("API_TOKEN@production"; see [SplitName]). Pass it as it is to
	// Get, SetInfo, Rename and the other calls that name one secret.
	Name string `json:"name"`
	// Variable is the environment variable a job gets the secret as:
	// Name without its scope.
	Variable string `json:"variable"`
	// Scope is the environments the secret is for: "*" (every one),
	// an exact name ("production") or a pattern ending in '*'
	// ("review/*").
	Scope string `json:"scope"`
	// Revision counts every change of the secret (value, Info, name,
	// delete, undelete): the check-and-set token of every write.
	Revision int64 `json:"revision"`
	// Version is the current value's version: 1 for the first value, and
	// one more for each new value (Set, Rollback). Metadata changes do not
	// make versions.
	Version   int64     `json:"version"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	// Updated is the time of the last change of any kind, by UpdatedBy.
	Updated   time.Time `json:"updated"`
	UpdatedBy string    `json:"updated_by"`
	// ValueUpdated is when the current value was written, by
	// ValueUpdatedBy.
	ValueUpdated   time.Time `json:"value_updated"`
	ValueUpdatedBy string    `json:"value_updated_by"`
	Info
	// Deleted is when the secret was soft-deleted (zero if it is live),
	// by DeletedBy.
	Deleted   time.Time `json:"deleted,omitzero"`
	DeletedBy string    `json:"deleted_by,omitempty"`
	// Warnings are set by the calls that save a name (Set, Rename, Import,
	// Apply): the patterns of names programs read as code, configuration
	// or a command line that the name matches (see NameWarning). Calls
	// that only read leave them empty.
	Warnings []NameWarning `json:"warnings,omitempty"`
	// Undefined, set by Set, SetInfo, Rollback and Undelete of a secret
	// that opts in to expansion (Info.Expand), are the names its value
	// references that no secret of the workspace or of its parents
	// defines yet, in any scope: the value is saved all the same, and a
	// job that does not get them fails (ErrReference).
	Undefined []string `json:"undefined,omitempty"`
	// ShortValue, set by Set, says that the value is shorter than
	// DefaultMinMaskLength bytes (and not empty): a job's output, with
	// RedactConfig's default MinLength, does not mask it. The value is
	// saved all the same.
	ShortValue bool `json:"short_value,omitempty"`
}

// DefaultMinMaskLength is RedactConfig.MinLength's default: a value
// shorter than this is not masked in a job's output.
const DefaultMinMaskLength = 6

// Expired reports whether the secret is past its expiry at time now.
func (m Meta) Expired(now time.Time) bool { return !m.Expires.IsZero() && !now.Before(m.Expires) }

// isDue reports whether an expiry or rotation date comes before before.
func isDue(expires, rotateBy, before time.Time) bool {
	return !expires.IsZero() && expires.Before(before) || !rotateBy.IsZero() && rotateBy.Before(before)
}

// A VersionMeta describes one retained value version of a secret.
type VersionMeta struct {
	Version   int64     `json:"version"`
	Written   time.Time `json:"written"`
	WrittenBy string    `json:"written_by"`
	Current   bool      `json:"current"`
	// Protected says that the version is sealed protected: a Rollback
	// to it makes the secret protected (see Info.Protected). As stored,
	// not decrypted: GetVersion's Meta says it as the ciphertext
	// authenticates it.
	Protected bool `json:"protected"`
}

// A Secret is a revealed version of a secret: its metadata and its value.
// Its Meta is the secret's, but for Version and the flags of Info
// (WriteOnly, File, Protected, Expand): the version revealed's.
type Secret struct {
	Meta
	Value Value `json:"value"`
}

// Format prints the metadata and a redacted value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{%s v%d value:%s}", s.Name, s.Version, redacted)
}

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", s.Name), slog.Int64("version", s.Version), slog.String("value", redacted))
}

// An Action is what an operation does, as the authorizer and the audit
// trail see it.
type Action string

// The actions. Each Manager method is one of them: List, Meta, Versions,
// Due and Keys list; Get and GetVersion reveal; Set, SetInfo, Rollback,
// Undelete, Import and Apply set; Diff diffs; Delete deletes (softly); Destroy
// destroys; Rename renames; EnvFor, Command, Prepare and Run inject;
// Export exports; RotateKey, SetKeyEnabled and Rewrap rotate;
// DeleteWorkspace deletes a workspace; Purge purges.
const (
	ActionList   Action = "list"
	ActionReveal Action = "reveal"
	ActionSet    Action = "set"
	// ActionDiff compares a text's values with the stored ones (Diff),
	// which tells whether a guess of a value is right: allow it to those
	// who may reveal, or to editors where that is acceptable (write-only
	// values are never compared). Apply and RestoreAt are ActionDiff too
	// (they compare as their previews do); Restore answers alike whatever
	// a plan sent to it says of which values changed. A write still tells
	// a guess by its result (Import, Apply and Restore make no new version
	// of an unchanged value), and is recorded.
	ActionDiff            Action = "diff"
	ActionDelete          Action = "delete"
	ActionDestroy         Action = "destroy"
	ActionRename          Action = "rename"
	ActionInject          Action = "inject"
	ActionExport          Action = "export"
	ActionRotate          Action = "rotate"
	ActionDeleteWorkspace Action = "delete-workspace"
	ActionPurge           Action = "purge"
	// ActionAudit reads the audit trail (Events): an ability apart from
	// listing, since events say who revealed, exported and injected what.
	ActionAudit Action = "audit"
	// ActionUnprotect is asked, after set, of a write that would make a
	// protected secret unprotected (Set or SetInfo with an Info, Restore):
	// its value would then reach every job, so a host may keep this to
	// maintainers. A refusal refuses the whole write.
	ActionUnprotect Action = "unprotect"
	// ActionExportWriteOnly is asked, after export, of a Backup with
	// recipients of a workspace that holds write-only secrets, with their
	// names: their values go into the document, encrypted to recipients
	// the caller chooses, so whoever may do this can read them. A host
	// keeps it to operators. A refusal refuses the whole backup.
	ActionExportWriteOnly Action = "export-write-only"
)

// An Outcome is how an audited operation ended.
type Outcome string

// The outcomes.
const (
	OutcomeOK     Outcome = "ok"
	OutcomeDenied Outcome = "denied" // the authorizer refused
	OutcomeFailed Outcome = "failed" // refused by validation, a conflict, a decryption failure...
)

// An Event is one audited operation. It never holds a value: only names,
// versions and, when the Manager has an AuditKey, keyed fingerprints.
type Event struct {
	ID        int64     `json:"id"` // assigned by the Store, increasing
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Action    Action    `json:"action"`
	Workspace string    `json:"workspace"`
	// State is the workspace's change counter that the operation read or
	// wrote (0 if none): an inject or export event names the secrets it
	// delivered by it, and Events lists them in Secrets.
	State int64 `json:"state,omitempty"`
	// Secrets are the secrets the operation touched. For inject and
	// export events the Store records only the state and, for a job given
	// a subset, the names asked for; Events fills in what was delivered.
	Secrets []EventSecret `json:"secrets"`
	// SecretsOmitted marks an event of a page of Events that left its
	// Secrets out: listing them would have taken the page, counting the
	// lists it left out before, past MaxEventPageSecrets (an event that
	// lists none is never marked). Read it alone (Limit 1, After its ID -
	// 1) to get them.
	SecretsOmitted bool `json:"secretsOmitted,omitempty"`
	// Parents are the containers an inject event's job inherited from,
	// nearest first (see Config.Parents). Not nil (but empty for a job
	// without parents) marks an event that lists in Secrets exactly what
	// it delivered and withheld, each with its Container: a job with
	// parents, an environment, protection, named secrets, or of a Manager
	// with Config.Withhold or ExpiredOmit, and an export or backup. nil
	// marks the default job's event, recorded in its read's statement,
	// whose Secrets the Store fills in from its ledger.
	Parents []string `json:"parents,omitempty"`
	// Environment and Protected are those of an inject or export event's
	// job (PrepareOptions.Environment, Protected). An event of a job that
	// names an environment or is protected lists in Secrets exactly what
	// it delivered and withheld, as one with Parents does.
	Environment string  `json:"environment,omitempty"`
	Protected   bool    `json:"protected,omitempty"`
	Outcome     Outcome `json:"outcome"`
	Detail      string  `json:"detail,omitempty"` // why it was denied or failed; never a value
	// Expanded, for a job that got values by expanding references
	// (Info.Expand), are the AuditKey fingerprints of those values as the
	// job got them, which no stored version holds (nil without an
	// AuditKey): EventQuery.Fingerprints finds the event by them as by
	// its Secrets'. A Store records them with the events it is given; a
	// job whose read recorded its event (EnvQuery.Audit) gives them
	// afterwards to this package's stores only.
	Expanded [][]byte `json:"expanded,omitempty"`
}

// EventSecret is one secret an event touched.
type EventSecret struct {
	Name        string `json:"name"`
	Version     int64  `json:"version,omitempty"`
	Fingerprint []byte `json:"fingerprint,omitempty"` // AuditKey.Fingerprint of the value; nil without an AuditKey
	// Container is where an inherited secret came from: one of the
	// event's Parents; "" for the event's own workspace.
	Container string `json:"container,omitempty"`
	// Withheld marks a secret the job would have got but Config.Withhold
	// kept from it (its value was masked in the job's output all the
	// same).
	Withheld bool `json:"withheld,omitempty"`
	// Ingredient marks a secret the job did not get but whose value went
	// into one of its expanded values (see Info.Expand): its value was
	// masked in the job's output all the same.
	Ingredient bool `json:"ingredient,omitempty"`
}

// String is the secret as SlogEvents's lines and secretsctl's events table
// write it, never its fingerprint: its name (with its scope), quoted if it
// holds a comma, a quote or a character that does not print, so that a
// list of them reads back unambiguously; " v" and its version; " from"
// and its container, quoted, when inherited; " withheld" or
// " ingredient" when the job did not get it.
func (s EventSecret) String() string {
	var b []byte
	if strings.ContainsAny(s.Name, `,"`) || !utf8.ValidString(s.Name) || strings.IndexFunc(s.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		b = strconv.AppendQuote(b, s.Name)
	} else {
		b = append(b, s.Name...)
	}
	if s.Version > 0 {
		b = append(b, " v"...)
		b = strconv.AppendInt(b, s.Version, 10)
	}
	if s.Container != "" {
		b = append(b, " from "...)
		b = strconv.AppendQuote(b, s.Container)
	}
	switch {
	case s.Withheld:
		b = append(b, " withheld"...)
	case s.Ingredient:
		b = append(b, " ingredient"...)
	}
	return string(b)
}
