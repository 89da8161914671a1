package secrets

// The values that cross the Store interface: what a Store keeps of keys,
// secrets and their versions, apart from the types callers of the Manager
// see (types.go). Only ciphertext and metadata are in them.

import (
	"slices"
	"strings"
	"time"
)

// A WrappedKey is a workspace's data keyset, encrypted by a [Cipher].
type WrappedKey struct {
	Workspace  string
	CipherID   string // ID of the Cipher that wrapped Ciphertext
	Ciphertext []byte // the encrypted Tink keyset
	// Generation is set by the Store on every PutKey, larger than any the
	// Store gave the workspace before, also after the workspace is deleted
	// and created again, and after the database is restored from a backup
	// (replicas may still hold the keys of generations given since). The
	// Postgres store takes the database clock in microseconds (or one more
	// than the workspace's last): this holds unless the server's clock
	// goes back; the memory store counts.
	Generation int64
	Updated    time.Time
}

// A MasterKey is a master key the Store knows: its Cipher's ID and a
// check value, a constant encrypted by that key, which tells a wrong key
// presented under the right ID.
type MasterKey struct {
	ID    string
	Check []byte
	Added time.Time
	// Retired, if not zero, is when the key was retired (see
	// [MasterKeyRetirer]): the Store refuses to store a workspace key
	// wrapped by it.
	Retired time.Time
}

// A Version is one stored value version of a secret: its ciphertext and
// what is bound into it.
type Version struct {
	Workspace string
	SecretID  string // stable for the life of the secret, across renames
	Version   int64  // 1 for the first value, then 2, 3, ...
	// Name (with its scope: see [SplitName]), WriteOnly, File, Protected
	// and Expand are bound into the ciphertext: a rename, a change of
	// scope or a flag change re-encrypts every retained version.
	Name      string
	WriteOnly bool
	File      bool
	Protected bool
	Expand    bool
	// Format is how the associated data was built: 1 (without the flags,
	// written by the first releases), 2 (write-only and file) or 3 (also
	// protected and expand; the format of scoped, protected and expanded
	// secrets).
	Format     int
	Ciphertext []byte
	KeyID      uint32 // ID of the data key (in the workspace keyset) that encrypted it
	EnvSize    int64  // len(Name)+len(value)+2: the bytes the value takes in an environment
	// Fingerprint is the audit fingerprint of the value (see AuditKey), or
	// nil.
	Fingerprint []byte
	Written     time.Time
	WrittenBy   string
	// KeyGen is set by reads: the generation of the workspace key in the
	// snapshot the version was read from (0 if the workspace has none).
	KeyGen int64
}

// An Entry is a secret as a Store keeps it: its metadata and a copy of its
// current version.
type Entry struct {
	Workspace   string
	SecretID    string
	Name        string // equals Current.Name
	Revision    int64
	Created     time.Time
	CreatedBy   string
	Updated     time.Time
	UpdatedBy   string
	Description string
	Expires     time.Time
	RotateBy    time.Time
	Deleted     time.Time // zero unless soft-deleted
	DeletedBy   string
	Current     Version
}

// meta is the Entry as callers see it.
func (e Entry) meta() Meta {
	variable, scope := SplitName(e.Name)
	return Meta{
		Name: e.Name, Variable: variable, Scope: scope, Revision: e.Revision, Version: e.Current.Version,
		Created: e.Created, CreatedBy: e.CreatedBy, Updated: e.Updated, UpdatedBy: e.UpdatedBy,
		ValueUpdated: e.Current.Written, ValueUpdatedBy: e.Current.WrittenBy,
		Info: e.Info(), Deleted: e.Deleted, DeletedBy: e.DeletedBy,
	}
}

// Info is what an editor set on the secret besides its value: its
// description and dates, and its current version's flags.
func (e Entry) Info() Info {
	return Info{Description: e.Description, Expires: e.Expires, RotateBy: e.RotateBy,
		WriteOnly: e.Current.WriteOnly, File: e.Current.File, Protected: e.Current.Protected, Expand: e.Current.Expand}
}

// SplitName splits the name of a secret into the environment variable a
// job gets it as and its scope: "API_TOKEN@review/*" into "API_TOKEN" and
// "review/*", "API_TOKEN" into "API_TOKEN" and "*". Names are split at
// their first '@', which no variable's name holds.
func SplitName(name string) (variable, scope string) {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return name, "*"
}

// ScopedName is the name of the secret of variable in scope: variable
// alone for "*" (or ""), variable + "@" + scope otherwise. It checks
// nothing: the calls that take the name do.
func ScopedName(variable, scope string) string {
	if scope == "" || scope == "*" {
		return variable
	}
	return variable + "@" + scope
}

// sameNameKey is the key under which two secrets' names are one: the
// variable ignoring ASCII case (variables are ASCII), the scope byte for
// byte, as a job's scopes are matched (a database's lower() of a
// non-ASCII scope depends on its locale: in a C locale "A@Été" and
// "A@été" are two secrets, for two environments).
func sameNameKey(name string) string {
	v, sc := SplitName(name)
	return strings.ToUpper(v) + "@" + sc
}

// variableOf is SplitName's first result, without allocating.
func variableOf(name string) string {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i]
	}
	return name
}

// unscoped keeps, in place, the entries of scope "*" that are not
// protected: what EnvQuery.Unscoped reads.
func unscoped(es []EnvEntry) []EnvEntry {
	return slices.DeleteFunc(es, func(e EnvEntry) bool { return scopedOrProtected(&e) })
}

// scopedOrProtected reports whether an unscoped read leaves e out.
func scopedOrProtected(e *EnvEntry) bool {
	return e.Protected || strings.IndexByte(e.Name, '@') >= 0
}
