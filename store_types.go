package secrets

// The values that cross the Store interface: what a Store keeps of keys,
// secrets and their versions, apart from the types callers of the Manager
// see (types.go). Only ciphertext and metadata are in them.

import "time"

// A WrappedKey is a workspace's data keyset, encrypted by a [Cipher].
type WrappedKey struct {
	Workspace  string
	CipherID   string // ID of the Cipher that wrapped Ciphertext
	Ciphertext []byte // the encrypted Tink keyset
	// Generation is set by the Store on every PutKey from a sequence that
	// never repeats, not even after the workspace is deleted and created
	// again.
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
}

// A Version is one stored value version of a secret: its ciphertext and
// what is bound into it.
type Version struct {
	Workspace string
	SecretID  string // stable for the life of the secret, across renames
	Version   int64  // 1 for the first value, then 2, 3, ...
	// Name, WriteOnly and File are bound into the ciphertext (Format 2):
	// a rename or a flag change re-encrypts every retained version.
	Name      string
	WriteOnly bool
	File      bool
	// Format is how the associated data was built: 1 (without the flags,
	// written by the first releases) or 2.
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
	return Meta{
		Name: e.Name, Revision: e.Revision, Version: e.Current.Version,
		Created: e.Created, CreatedBy: e.CreatedBy, Updated: e.Updated, UpdatedBy: e.UpdatedBy,
		ValueUpdated: e.Current.Written, ValueUpdatedBy: e.Current.WrittenBy,
		Info: Info{Description: e.Description, Expires: e.Expires, RotateBy: e.RotateBy,
			WriteOnly: e.Current.WriteOnly, File: e.Current.File},
		Deleted: e.Deleted, DeletedBy: e.DeletedBy,
	}
}
