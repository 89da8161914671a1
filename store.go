package secrets

import (
	"context"
	"slices"
	"time"
)

// A Store persists workspace keys, secrets, their versions and the audit
// trail. Only ciphertext and metadata cross this interface: a Store never
// sees a value or a key in the clear, so it needs no protection beyond
// that of ordinary data.
//
// Every method is scoped to one workspace (Events, and the master-key
// registry, excepted) and must neither read nor change anything of
// another. Every method must be safe for concurrent use by several
// processes sharing the Store, must honour ctx, and must copy byte slices
// on the way in and out so that a caller's later change to a slice never
// reaches stored data.
//
// Errors: a missing entry wraps [ErrNotFound], a failed condition
// [ErrConflict], a name already used [ErrExists], a write that would push
// the workspace over its environment budget [ErrTooLarge], a write under
// a stale key generation [ErrKeyChanged]. Other errors (connection,
// driver) are returned with their cause reduced to one line that holds no
// connection string, credential or stored byte. Transient failures of the
// database (serialization failures, deadlocks) are retried inside the
// Store, never reported as a conflict.
//
// Each workspace has a change counter, its state, drawn with key
// generations from one sequence of the Store that never repeats (not even
// after DeleteWorkspace). Every write that changes what a job would
// receive (a value, a name, a flag, a delete, an undelete, a destroy)
// moves the workspace to a new state and adds, for each secret it
// changes, a ledger entry: the secret's name, version and fingerprint
// from that state on (version 0 once it is no longer delivered). The
// ledger outlives pruned versions and destroyed secrets, so that an
// inject event, which records only the state it read, still says which
// versions it delivered.
//
// The package storetest checks all of this; every implementation should
// pass it.
type Store interface {
	// Key returns the workspace's wrapped data key, or ErrNotFound.
	Key(ctx context.Context, workspace string) (WrappedKey, error)

	// PutKey stores k if the workspace's key is at generation expect (0:
	// the workspace has no key yet) and returns the new generation;
	// otherwise it returns ErrConflict and changes nothing.
	PutKey(ctx context.Context, k WrappedKey, expect int64) (int64, error)

	// MasterKeys returns the master keys the Store knows, by ID.
	MasterKeys(ctx context.Context) ([]MasterKey, error)

	// AddMasterKey registers a master key. An ID already registered is
	// ErrExists. With first, the key is registered only if the Store
	// knows no master key and holds no workspace key (ErrConflict
	// otherwise): the first start of a deployment.
	AddMasterKey(ctx context.Context, k MasterKey, first bool) error

	// Lookup returns the secret, live or soft-deleted, whose name equals
	// name ignoring ASCII case, or ErrNotFound. Current.KeyGen is set.
	Lookup(ctx context.Context, workspace, name string) (Entry, error)

	// History returns the retained versions of the secret, newest first,
	// with KeyGen set, or ErrNotFound if there is no such secret.
	History(ctx context.Context, workspace, secretID string) ([]Version, error)

	// List returns secrets in the order of their names in lower case
	// (byte order), after q.After, matching q; see [ListQuery].
	List(ctx context.Context, workspace string, q ListQuery) ([]Entry, error)

	// Env returns the live secrets of the workspace (or the ones q.Names
	// names) and of its q.Parents, sorted by level and then by name in
	// byte order, with the state and key generation of each level, all
	// read as one consistent snapshot: a concurrent write, to any level,
	// is seen entirely or not at all. If q.Audit is not nil, Env records
	// it, with its State set to the state read, in the same statement or
	// transaction as the read; if it cannot, Env returns an error and
	// nothing else. With q.Relaxed the event may be committed without
	// waiting for it to be durable. Of each EnvEntry, every field is set.
	Env(ctx context.Context, workspace string, q EnvQuery) (Snapshot, error)

	// Put applies the writes in order, all or nothing: if any fails, it
	// returns that error and changes nothing. Later writes see the effects
	// of earlier ones. See [Write] for what each checks and does.
	Put(ctx context.Context, writes ...Write) error

	// Record stores audit events that are not part of a write (reads,
	// refusals, key operations), assigning their IDs.
	Record(ctx context.Context, events []Event) error

	// Events returns the recorded events that match q; see [EventQuery].
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// A ListQuery selects secrets for [Store.List].
type ListQuery struct {
	// After, if not empty, skips names up to and including it, compared in
	// lower case: the last name of the previous page.
	After string
	// Search, if not empty, keeps names that contain it, ignoring ASCII
	// case.
	Search string
	// Deleted selects the soft-deleted secrets instead of the live ones.
	Deleted bool
	// Names, if not nil, keeps the secrets whose name equals one of these
	// ignoring ASCII case (a full name, with its scope: "API_TOKEN@prod"),
	// live or soft-deleted as Deleted says; names not found are left out,
	// and an empty, non-nil Names selects nothing. A Store must not read
	// the workspace's other secrets for it: Manager.Diff and Import read
	// only the names of their text this way.
	Names []string
	// Limit is the most entries to return (at least 1).
	Limit int
	// Values asks for Current.Ciphertext; otherwise it may be nil.
	Values bool
}

// An EnvQuery asks [Store.Env] for a workspace's environment.
type EnvQuery struct {
	// Names, if not nil, restricts the read to the secrets of these
	// variables' names (compared ignoring ASCII case), in every scope;
	// names not found are left out.
	Names []string
	// Unscoped restricts the read to what a job without an environment
	// that is not protected gets of one level: the secrets of scope "*"
	// (names without '@') that are not protected.
	Unscoped bool
	// Audit, if not nil, is recorded in the same snapshot as the read,
	// which is then Unscoped whatever that field says: the event names
	// exactly the secrets read.
	Audit *Event
	// Relaxed lets the event commit without waiting for durability.
	Relaxed bool
	// Parents, if not empty, are containers the workspace inherits from,
	// nearest first: Env reads their live secrets too (restricted to
	// Names as the workspace's are), in the same snapshot, and gives each
	// its LevelState in Snapshot.Parents. A container that does not exist
	// reads as empty, with state and key generation 0. Audit must be nil
	// with Parents (Env returns an error otherwise): the Manager records
	// such a read's event itself, once it knows what the job got.
	Parents []string
}

// A Snapshot is what [Store.Env] read.
type Snapshot struct {
	State  int64 // the workspace's state; 0 if it has never been written
	KeyGen int64 // the generation of the workspace key; 0 if none
	// Entries are sorted by level (the workspace's first), then by name
	// in byte order.
	Entries []EnvEntry
	// Parents has one LevelState for each of EnvQuery.Parents, in order.
	Parents []LevelState
}

// A LevelState is the state and key generation of a parent container in
// a [Snapshot].
type LevelState struct {
	Container string
	State     int64
	KeyGen    int64
}

// An EnvEntry is a live secret as a job's environment needs it: its name
// and its current version's ciphertext with what is bound into it. It is
// a quarter of an Entry's size, which matters for a read of thousands.
type EnvEntry struct {
	// Level is 0 for a secret of the workspace, i+1 for one of
	// EnvQuery.Parents[i].
	Level      int
	SecretID   string
	Name       string
	Version    int64 // the current version
	Format     int   // the current version's Format
	WriteOnly  bool
	File       bool
	Protected  bool
	Expand     bool
	Ciphertext []byte
	Expires    time.Time // zero for never
}

// expired reports whether the entry is past its expiry at time now, as
// Meta.Expired does.
func (e *EnvEntry) expired(now time.Time) bool { return !e.Expires.IsZero() && !now.Before(e.Expires) }

// A Write asks [Store.Put] to change one secret, given as it must be after
// the write (Entry). The Store checks, changing nothing if any check fails:
//
//   - KeyGen: if positive, the workspace key must be at that generation
//     (ErrKeyChanged), so a writer holding a keyset that was rotated,
//     disabled or deleted meanwhile cannot add ciphertext under it.
//   - Expect: 0 creates the secret: Entry.SecretID must be new
//     (ErrConflict), no secret, live or deleted, may have Entry.Name
//     ignoring case (ErrExists), Entry.Revision must be 1 and NewVersion
//     set with Current.Version 1. Otherwise the secret must exist
//     (ErrNotFound) at revision Expect (ErrConflict) and Entry.Revision
//     must be Expect+1.
//   - A new name (ignoring case) must not be another secret's (ErrExists).
//   - NewVersion: Entry.Current is a new version, one more than the
//     stored current one (ErrConflict); it is added to the history and
//     only the newest Keep versions are retained (Keep < 1 means 1).
//     Without it, Entry.Current.Version must be the stored current
//     version's (ErrConflict).
//   - Reseal, if not empty, replaces the ciphertext, name and flags of
//     every retained version other than a new one: it must list exactly
//     those versions (ErrConflict).
//   - MaxEnvBytes: if positive, and the write grows the sum of EnvSize
//     over the live secrets' current versions, that sum must not exceed
//     it (ErrTooLarge). Soft-deleted secrets do not count.
//   - MaxSecrets: if positive, a write that adds a secret must not take
//     the workspace past that many secrets, live and soft-deleted
//     together (ErrTooLarge, wrapping errTooManySecrets). A Store may
//     check once after a run of one workspace's writes instead (then
//     their order within the run does not matter; this package's stores
//     do where they write a Put in one batch); the Manager never puts a
//     write that adds a secret with one that destroys another.
//
// CheckState makes ExpectState a precondition of the whole Put: before any
// of its writes applies, the write's workspace must be at state
// ExpectState (see [Snapshot]; 0 for a workspace never written;
// ErrConflict otherwise), so that a change planned from earlier reads
// fails if anything a job would receive changed since, a secret created
// meanwhile included.
//
// Destroy removes the secret and all its versions instead (Entry gives
// only Workspace and SecretID; Expect applies). Check changes nothing:
// the write only checks Expect (with Put's other writes, an all-or-nothing
// precondition).
//
// If the write changes what a job would receive, the workspace moves to a
// new state with a ledger entry for the secret (see [Store]). If Audit is
// not nil, the event is recorded in the same transaction, with State set
// to the workspace's state after the write: both happen or neither does.
type Write struct {
	Entry       Entry
	Expect      int64
	NewVersion  bool
	Reseal      []Version
	Destroy     bool
	Check       bool
	CheckState  bool
	ExpectState int64
	KeyGen      int64
	Keep        int
	MaxEnvBytes int64
	MaxSecrets  int
	Audit       *Event
}

// A RotationStore is a Store that supports key rotation: finding and
// re-encrypting the versions under a retired data key, and finding the
// workspace keys wrapped by a former master key. MemoryStore and
// PostgresStore are RotationStores; Manager.RotateKey and Manager.Rewrap
// need one.
type RotationStore interface {
	Store

	// Stale returns up to q.Limit versions of the workspace (current or
	// past, of live or deleted secrets) whose KeyID is not q.Keep or whose
	// Format is older than 2, ordered by secret ID and version, after the
	// version (q.AfterSecretID, q.AfterVersion), and how many such
	// versions the workspace has in all; see [StaleQuery].
	Stale(ctx context.Context, workspace string, q StaleQuery) ([]Version, int, error)

	// Reencrypt replaces ciphertexts in place, without making versions or
	// changing any revision. Each item applies only if its version still
	// exists with KeyID FromKeyID and Format FromFormat; others are
	// skipped, not errors (a concurrent write or rotation got there
	// first). It returns how many applied. All of it fails with
	// ErrKeyChanged, changing nothing, if the workspace's key is no longer
	// at generation keyGen.
	Reencrypt(ctx context.Context, workspace string, keyGen int64, items []Reencryption) (int, error)

	// ForeignKeys returns up to q.Limit workspace keys not wrapped by the
	// master key q.CipherID, in workspace byte order after the workspace
	// q.After ("" for the first), and how many such keys there are in
	// all; see [ForeignKeysQuery].
	ForeignKeys(ctx context.Context, q ForeignKeysQuery) ([]WrappedKey, int, error)

	// Workspaces returns up to q.Limit workspaces that have a key, in byte
	// order, after the workspace q.After ("" for the first); see
	// [WorkspacesQuery].
	Workspaces(ctx context.Context, q WorkspacesQuery) ([]string, error)

	// SetMasterKeyCheck replaces the check value of the registered master
	// key id (see AddMasterKey), or returns ErrNotFound. Rewrap makes it
	// again under the key as it is now (a KMS key's newest version), so
	// that the key's older versions can be retired.
	SetMasterKeyCheck(ctx context.Context, id string, check []byte) error
}

// A MasterKeyRetirer is a Store that can retire a master key: once
// retired, PutKey refuses a workspace key wrapped by it, so that a replica
// or a tool still configured with a former master key cannot make
// workspace keys that replicas without that key cannot read. MemoryStore
// and PostgresStore are MasterKeyRetirers (on Postgres the database
// itself refuses, so replicas of releases that know nothing of
// retirement are refused too); Manager.RetireMasterKey needs one.
type MasterKeyRetirer interface {
	Store

	// RetireMasterKey marks the registered master key id retired at at,
	// and from then on PutKey refuses a key whose CipherID is id with a
	// *MasterKeyError (Retired). It returns ErrNotFound if id is not
	// registered, and a *MasterKeyError (InUse), changing nothing, while
	// the Store holds a workspace key wrapped by id; the check and the
	// mark are atomic with respect to PutKey. Retiring a retired key
	// again changes nothing and is not an error. A retired key stays in
	// MasterKeys, with Retired set.
	RetireMasterKey(ctx context.Context, id string, at time.Time) error
}

// A StaleQuery selects versions for [RotationStore.Stale].
type StaleQuery struct {
	// Keep is the key ID that is not stale: versions under another key
	// (or of a Format older than 2) are.
	Keep uint32
	// AfterSecretID and AfterVersion, if AfterSecretID is not empty, skip
	// the versions up to and including that one, in the order of secret
	// ID and version: the last version of the previous batch.
	AfterSecretID string
	AfterVersion  int64
	// Limit is the most versions to return (at least 1).
	Limit int
}

// A ForeignKeysQuery selects workspace keys for [RotationStore.ForeignKeys].
type ForeignKeysQuery struct {
	// CipherID is the master key whose workspace keys are not foreign.
	CipherID string
	// After, if not empty, skips workspaces up to and including it, in
	// byte order: the last workspace of the previous batch.
	After string
	// Limit is the most keys to return (at least 1).
	Limit int
}

// A WorkspacesQuery selects workspaces for [RotationStore.Workspaces].
type WorkspacesQuery struct {
	// After, if not empty, skips workspaces up to and including it, in
	// byte order: the last workspace of the previous page.
	After string
	// Limit is the most workspaces to return (at least 1).
	Limit int
}

// A Reencryption asks Reencrypt to replace one version's ciphertext.
type Reencryption struct {
	SecretID   string
	Version    int64
	FromKeyID  uint32 // the key the stored ciphertext must still be under
	FromFormat int    // the format it must still have
	Ciphertext []byte
	KeyID      uint32
	Format     int
}

// A DueSecret is a secret whose expiry or rotation date is near, with its
// workspace: what Manager.DueAll returns of a DueStore's entries.
type DueSecret struct {
	Workspace string `json:"workspace"`
	Meta
}

// A DueStore is a Store that can find, across workspaces, the live
// secrets whose expiry or rotation date comes before a time. Manager.DueAll
// needs one.
type DueStore interface {
	// Due returns up to q.Limit live secrets, of any workspace, whose
	// Expires or RotateBy is before q.Before, ordered by workspace and
	// name, after the secret (q.AfterWorkspace, q.AfterName); see
	// [DueQuery]. Ciphertexts may be left out.
	Due(ctx context.Context, q DueQuery) ([]Entry, error)
}

// A DueQuery selects secrets for [DueStore.Due].
type DueQuery struct {
	// Before is the time an Expires or RotateBy must come before.
	Before time.Time
	// AfterWorkspace and AfterName, if AfterWorkspace is not empty, skip
	// the secrets up to and including that one, in the order of workspace
	// and name: the last secret of the previous page.
	AfterWorkspace string
	AfterName      string
	// Limit is the most secrets to return (at least 1).
	Limit int
}

// A WorkspaceDeleter is a Store that can delete a whole workspace.
type WorkspaceDeleter interface {
	// DeleteWorkspace removes every secret, version and the key of the
	// workspace, and records audit (if not nil), all at once. The event
	// lists, in audit.Secrets, every secret removed (soft-deleted ones
	// too) with its current version and fingerprint, sorted by name in
	// byte order, so that EventQuery's Name and Fingerprint find it; its
	// State is the deletion's. The ledger marks every secret as no longer
	// delivered; audit events are kept. A workspace that does not exist is
	// not an error.
	DeleteWorkspace(ctx context.Context, workspace string, audit *Event) error
}

// A Purger is a Store that can find old soft-deleted secrets and drop old
// audit events. Manager.Purge needs one.
type Purger interface {
	// DeletedBefore returns up to limit secrets, of any workspace,
	// soft-deleted before the given time, ordered by workspace and name.
	// Ciphertexts may be left out.
	DeletedBefore(ctx context.Context, before time.Time, limit int) ([]Entry, error)

	// DropEvents deletes up to limit audit events recorded before the
	// given time, oldest first, and returns how many events it deleted.
	// A call that deletes fewer than limit (the last of a purge) also
	// deletes the ledger entries that only deleted events could need; one
	// that deletes limit leaves them to the next.
	DropEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// A FingerprintStore is a Store whose ledger entries can be given
// fingerprints after the fact: values written before an AuditKey was
// configured. Manager.Events uses it, when the Store has it, before a
// fingerprint search.
type FingerprintStore interface {
	// Unfingerprinted returns up to q.Limit retained versions of the
	// workspace q.Workspace (all workspaces if it is "") whose ledger
	// entries have no fingerprint, ordered by workspace, secret ID and
	// version, after the version (q.AfterWorkspace, q.AfterSecretID,
	// q.AfterVersion); see [UnfingerprintedQuery].
	Unfingerprinted(ctx context.Context, q UnfingerprintedQuery) ([]Version, error)

	// SetFingerprints sets the fingerprint of the ledger entries (and
	// retained versions) of each given version that have none.
	SetFingerprints(ctx context.Context, vs []Version) error
}

// An UnfingerprintedQuery selects versions for
// [FingerprintStore.Unfingerprinted].
type UnfingerprintedQuery struct {
	// Workspace, if not empty, keeps the versions of this workspace only.
	Workspace string
	// AfterWorkspace, AfterSecretID and AfterVersion skip the versions up
	// to and including that one, in the order of workspace, secret ID and
	// version: the last version of the previous batch (zero for the
	// first).
	AfterWorkspace string
	AfterSecretID  string
	AfterVersion   int64
	// Limit is the most versions to return (at least 1).
	Limit int
}

// A LedgerStore is a Store whose ledger can be read as of a time.
// MemoryStore and PostgresStore are LedgerStores; Manager.PreviewRestoreAt
// and Manager.RestoreAt need one.
type LedgerStore interface {
	// LedgerAt returns, for each secret of the workspace (live,
	// soft-deleted, destroyed, or of a deleted workspace of that name)
	// with a ledger entry written at or before at, its newest such entry
	// (the one of the highest state), ordered by secret ID. Entries that
	// Purger.DropEvents dropped are not returned.
	LedgerAt(ctx context.Context, workspace string, at time.Time) ([]LedgerEntry, error)
}

// A LedgerEntry is what a secret delivered from a state on: its name and
// version (0: not delivered, being soft-deleted or destroyed). At is when
// it was written (the Updated time of the write).
type LedgerEntry struct {
	SecretID string
	Name     string
	State    int64
	At       time.Time
	Version  int64
}

// An EventQuery selects events; zero fields select everything.
type EventQuery struct {
	Workspace string
	Actor     string
	Action    Action
	// SkipLists leaves out the successful list events (reads of names and
	// metadata, which anyone who may list makes at will): a page of
	// changes is not pushed out by reads (a panel trial: a viewer's 300
	// lists left the Activity view empty). A Store that does not know the
	// field returns them; the panel hides them too.
	SkipLists bool
	// Name keeps the events that touched a secret of this name (ignoring
	// ASCII case), inject and export events included when they list it:
	// delivered, withheld or an ingredient (its EventSecret says which),
	// and the DeleteWorkspace that removed it.
	Name     string
	From, To time.Time // From <= Time < To
	// Fingerprint keeps the events that involved a value with this
	// fingerprint: the writes that stored it (or renamed or deleted the
	// secret that held it, or deleted its workspace), and the reveals,
	// injections and exports that delivered it, even after its version was
	// pruned or its secret destroyed.
	Fingerprint []byte
	// Fingerprints keeps the events that involved a value with any of
	// these fingerprints (with Fingerprint, any of them all): a value's
	// fingerprints by every key of a rotated AuditKey keyset
	// (Manager.Fingerprints).
	Fingerprints [][]byte
	// Newest lists newest first, starting before ID Before (0: from the
	// newest); otherwise oldest first, after ID After. IDs become visible
	// as their writes commit, out of order under concurrent writes: a
	// reader following the trail by ID re-reads a margin behind its last
	// one (README, audit).
	Newest bool
	Before int64
	After  int64
	// Limit is the most events to return. Manager.Events makes it 100
	// if it is 0 or less and 1000 if it is more; a Store is given it as
	// it is, and this package's stores return at most max(Limit, 1).
	// The secrets the events of a page list are bounded too: past
	// MaxEventPageSecrets in all, the page's further events come without
	// them (Event.SecretsOmitted), its first event always with them.
	Limit int
}

// fingerprints returns Fingerprint and Fingerprints together, nil for
// none: the fingerprints an event must involve one of.
func (q EventQuery) fingerprints() [][]byte {
	if q.Fingerprint == nil && len(q.Fingerprints) == 0 {
		return nil
	}
	out := slices.Clone(q.Fingerprints)
	if q.Fingerprint != nil {
		out = append(out, q.Fingerprint)
	}
	return out
}

// MaxEventPageSecrets bounds the secrets a page of events lists in all
// (EventQuery.Limit): an injection of a workspace lists every secret it
// delivered, and a page of a thousand of a workspace of 50,000 secrets
// would hold fifty million.
const MaxEventPageSecrets = 100_000

// An expandedRecorder is a Store that can add the fingerprints of the
// values a job got expanded to the event its read recorded (EnvQuery.Audit):
// both of this package's stores.
type expandedRecorder interface {
	// recordExpanded adds fps to the event id; relaxed commits it without
	// waiting for the flush (AuditRelaxed).
	recordExpanded(ctx context.Context, id int64, fps [][]byte, relaxed bool) error
}
