package secrets

import (
	"context"
	"time"
)

// A Store persists workspace keys and secret versions. Only ciphertext and
// metadata cross this interface: a Store never sees a value or a key in the
// clear, so it needs no protection beyond that of ordinary data.
//
// Every method is scoped to one workspace and must neither read nor change
// anything of another. Every method must be safe for concurrent use, must
// honour ctx, and must copy byte slices on the way in and out so that a
// caller's later change to a slice never reaches stored data.
//
// Errors: a missing entry is reported as an error wrapping [ErrNotFound],
// a failed check-and-set as one wrapping [ErrConflict], a name already used
// by another secret as one wrapping [ErrExists], and a write that would push
// the workspace over its environment budget as one wrapping [ErrTooLarge].
// Other errors (connection, driver) are returned wrapped, never with
// connection strings or stored bytes in their text.
//
// The package storetest checks all of this; every implementation should
// pass it.
type Store interface {
	// Key returns the workspace's wrapped data key, or ErrNotFound.
	Key(ctx context.Context, workspace string) (WrappedKey, error)

	// PutKey stores k if the workspace's key is at revision expect: 0 means
	// that the workspace must have no key yet. On success the stored key's
	// revision is expect+1 (k.Revision is ignored). Otherwise it returns
	// ErrConflict and changes nothing.
	PutKey(ctx context.Context, k WrappedKey, expect int64) error

	// Lookup returns the current version of the secret whose name equals
	// name ignoring ASCII case, or ErrNotFound.
	Lookup(ctx context.Context, workspace, name string) (Version, error)

	// History returns the retained versions of the secret with the given
	// ID, newest first, or ErrNotFound if there is no such secret.
	History(ctx context.Context, workspace, secretID string) ([]Version, error)

	// Current returns the current version of every secret of the workspace,
	// sorted by name (byte order), read as one consistent snapshot: a
	// concurrent write is seen entirely or not at all. A workspace without
	// secrets gives an empty slice and no error.
	Current(ctx context.Context, workspace string) ([]Version, error)

	// Put adds w.Version as the new current version of its secret, all or
	// nothing; see [Write] for the conditions it checks.
	Put(ctx context.Context, w Write) error

	// PutBatch applies every write, in order, all or nothing: if any
	// fails, as Put would, it returns that error and changes nothing.
	// Later writes see the effects of earlier ones (a budget counts them).
	PutBatch(ctx context.Context, writes []Write) error

	// Delete removes the secret with the given ID and all its versions if
	// its current version is expect, and records audit (if not nil) in the
	// same transaction. It returns ErrNotFound if there is no such secret
	// and ErrConflict if its version differs.
	Delete(ctx context.Context, workspace, secretID string, expect int64, audit *Event) error

	// Record stores audit events that are not part of a write (reads,
	// refusals, key operations), assigning their IDs.
	Record(ctx context.Context, events []Event) error

	// Events returns the recorded events that match q (q.Limit > 0), by
	// increasing ID.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// A WrappedKey is a workspace's data keyset, encrypted by a [Cipher].
type WrappedKey struct {
	Workspace  string
	CipherID   string // ID of the Cipher that wrapped Ciphertext
	Ciphertext []byte // the encrypted Tink keyset
	Revision   int64  // 1 for a new key; incremented by each PutKey
	Updated    time.Time
}

// A Version is one stored version of a secret: its metadata and its
// ciphertext. The name is stored per version because it is bound into the
// ciphertext: a rename makes a new version.
type Version struct {
	Workspace  string
	SecretID   string // stable for the life of the secret, across renames
	Name       string // the name this version was written under
	Version    int64  // 1 for a new secret, then 2, 3, ...
	Ciphertext []byte
	KeyID      uint32 // ID of the data key (in the workspace keyset) that encrypted it
	EnvSize    int64  // len(Name)+len(value)+2: the bytes the value takes in an environment
	Created    time.Time
	CreatedBy  string // actor who created the secret (version 1)
	Updated    time.Time
	UpdatedBy  string // actor who wrote this version
	Info              // description, lifecycle dates, write-only flag
	// Fingerprint is the audit fingerprint of the value (see AuditKey), or
	// nil: events that read this version carry it.
	Fingerprint []byte
}

// A Write asks [Store.Put] to add a version.
//
// If Expect is 0 the write creates a secret: it fails with ErrExists if a
// secret of the workspace already has Version.Name ignoring ASCII case, and
// Version.Version must be 1. Otherwise the secret Version.SecretID must
// exist (else ErrNotFound) with current version Expect (else ErrConflict),
// Version.Version must be Expect+1, and if the name changes ignoring case no
// other secret may have the new name (else ErrExists).
//
// If MaxEnvBytes is positive, the sum of EnvSize over the workspace's
// current versions, counting the new one instead of the one it replaces,
// must not exceed it (else ErrTooLarge).
//
// If KeyRevision is positive, the workspace's key must be at that revision
// (else ErrKeyChanged): a writer holding a rotated-away keyset cannot add
// ciphertext under a key that rotation is retiring.
//
// After the write only the newest Keep versions of the secret are retained
// (Keep < 1 means 1).
//
// If Audit is not nil, the event is recorded in the same transaction as
// the write: both happen or neither does.
type Write struct {
	Version     Version
	Expect      int64
	Keep        int
	MaxEnvBytes int64
	KeyRevision int64
	Audit       *Event
}

// An EnvStore is a Store with a fast path for EnvFor, which uses it when
// the Store has it.
type EnvStore interface {
	// Env returns the current version of every secret of the workspace,
	// sorted by name, as Current does, but with only Workspace, SecretID,
	// Name, Version and Ciphertext sure to be set (and Fingerprint, when
	// auditing). If
	// audit is not nil, Env records it in the same statement or
	// transaction as the read, with one EventSecret (name, version,
	// fingerprint) for each version read appended to audit.Secrets; if it
	// cannot, Env returns an error and nothing else. With relaxed, the
	// event may be committed without waiting for it to be durable (it can
	// be lost if the database crashes right after); reads that must fail
	// closed pass false.
	Env(ctx context.Context, workspace string, audit *Event, relaxed bool) ([]Version, error)
}

// A RotationStore is a Store that supports key rotation: finding and
// re-encrypting the versions under a retired data key, and finding the
// workspace keys wrapped by a former master key. MemoryStore and
// PostgresStore are RotationStores; Manager.RotateKey and Manager.Rewrap
// need one.
type RotationStore interface {
	Store

	// Stale returns up to limit versions of the workspace (current or
	// past) whose KeyID is not keep, ordered by secret ID and version, and
	// how many such versions there are in all.
	Stale(ctx context.Context, workspace string, keep uint32, limit int) ([]Version, int, error)

	// Reencrypt replaces ciphertexts in place, without making versions.
	// Each item applies only if its version still exists with KeyID
	// FromKeyID; others are skipped, not errors (a concurrent write or
	// rotation got there first). It returns how many applied. All of it
	// fails with ErrKeyChanged, changing nothing, if the workspace's key
	// is no longer at keyRevision.
	Reencrypt(ctx context.Context, workspace string, keyRevision int64, items []Reencryption) (int, error)

	// ForeignKeys returns up to limit workspace keys not wrapped by the
	// master key cipherID, ordered by workspace, and how many there are
	// in all.
	ForeignKeys(ctx context.Context, cipherID string, limit int) ([]WrappedKey, int, error)

	// Workspaces returns up to limit workspaces that have a key, in byte
	// order, starting after the workspace named after ("" for the first).
	Workspaces(ctx context.Context, after string, limit int) ([]string, error)
}

// A Reencryption asks Reencrypt to replace one version's ciphertext.
type Reencryption struct {
	SecretID   string
	Version    int64
	FromKeyID  uint32 // the key the stored ciphertext must still be under
	Ciphertext []byte
	KeyID      uint32
}

// A DueStore is a Store that can find, across workspaces, the secrets
// whose expiry or rotation date comes before a time. Manager.DueAll needs
// one.
type DueStore interface {
	// Due returns up to limit current versions, of any workspace, whose
	// Expires or RotateBy is before the given time, ordered by workspace
	// and name. Ciphertext may be left out.
	Due(ctx context.Context, before time.Time, limit int) ([]Version, error)
}

// A WorkspaceDeleter is a Store that can delete a whole workspace.
type WorkspaceDeleter interface {
	// DeleteWorkspace removes every secret, version and the key of the
	// workspace, and records audit (if not nil), all at once. A workspace
	// that does not exist is not an error. Audit events are kept.
	DeleteWorkspace(ctx context.Context, workspace string, audit *Event) error
}
