package secrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dataspace/secrets/internal/keycache"
)

// Config tunes a Manager. A nil *Config, and every zero field, means the
// default given with the field.
type Config struct {
	// KeepVersions is how many value versions of each secret are retained,
	// current one included. Default 10.
	KeepVersions int
	// MaxNameLength bounds names, in bytes, without their scope (a
	// scoped name takes up to 256 bytes more: "@" and the scope).
	// Default 256; at most
	// MaxMaxNameLength (New refuses more: Postgres cannot index longer
	// names with their workspace).
	MaxNameLength int
	// MaxEnvBytes bounds a workspace's whole environment: the sum over its
	// live secrets of len(name)+len(value)+2. Default 1 MiB (Linux allows
	// about 2 MiB of arguments and environment together); negative means
	// no limit, except that a job's expanded references (Info.Expand)
	// still stop at 64 MiB (ReferenceSize).
	MaxEnvBytes int64
	// MaxSecrets bounds how many secrets a container (a workspace or a
	// parent) stores, live and soft-deleted together, in every scope: a
	// write that would add one past it (Set, Import, Apply or Restore of a
	// new name) fails with ErrTooLarge and changes nothing. A deleted
	// secret counts until Purge or Destroy removes it; an update, a
	// rename, a delete, an undelete, a RestoreAt (which never recreates a
	// destroyed secret), a destroy or a purge never fails on it, and a container already over it (a lower
	// limit than its data) keeps working but takes no new secret. Default
	// 10,000; negative means no limit, which leaves the whole-workspace
	// calls (backups, RestoreAt, List, Events' counts) unbounded.
	MaxSecrets int
	// ReservedNames and ReservedPrefixes are names the host keeps for
	// itself (e.g. "PLATFORM_JOB_ID", "PLATFORM_"); Set refuses them with
	// ErrReservedName. Compared ignoring ASCII case.
	ReservedNames    []string
	ReservedPrefixes []string
	// AllowNames permits names that the deny-list, the stricter preset or
	// NamePatterns would refuse or warn about. Compared ignoring ASCII
	// case.
	AllowNames []string
	// StrictNames also refuses the names of [StrictNames] and
	// [StrictPrefixes]: variables that redirect a job's traffic or trust
	// (proxies, CA bundles, package indexes) without running code; and the
	// names matching [NamePatterns] (*RC, *_OPTS...), which are otherwise
	// accepted with a [NameWarning].
	StrictNames bool
	// OnlyNames, if not nil, is the host's allowlist: Set, Rename, Import
	// and Apply accept only the names for which it returns true (called
	// with the name as given, after the name rule and ReservedNames) and
	// refuse the others with ErrReservedName. The deny-list still applies
	// to the names it allows; AllowNames does not override it. A job is
	// refused while it would deliver a stored secret whose name it
	// refuses (asked again on each job: its answers may change). It must
	// be safe for concurrent use; [MatchNames] builds one from patterns.
	OnlyNames func(name string) bool
	// DecryptOnly are former master keys: data keys they wrapped can still
	// be unwrapped, but new data keys are wrapped by the primary Cipher.
	DecryptOnly []Cipher
	// AddMasterKey lets the Manager register its master key in a Store
	// that does not know it yet: a new master key (a migration to a KMS),
	// or a Store shared by deployments with their own keys. Without it, a
	// Manager whose master key the Store has never seen refuses to create
	// or wrap workspace keys (ErrMasterKey), except on a Store that holds
	// no master key and no workspace key yet (a first start).
	AddMasterKey bool
	// KeyCacheSize bounds how many unwrapped workspace keys are cached.
	// Default 1024.
	KeyCacheSize int
	// KeyCacheTTL bounds how long an unwrapped key is cached. Default 5
	// minutes. A cached key is used only for rows read under its
	// generation, so a rotation or a kill switch elsewhere takes effect at
	// the next read, whatever the TTL.
	KeyCacheTTL time.Duration
	// Expired says what a job gets for a secret past its Info.Expires.
	// Default ExpiredInject.
	Expired ExpiredPolicy
	// DestroyRotates makes Destroy (and Purge, which destroys) also
	// rotate the workspace's data key, re-encrypting every other version,
	// and then delete the former keys from the keyset, not only disable
	// them. A copy of the destroyed rows put back into the database
	// afterwards, from a backup or snapshot of the secrets tables, or while
	// the rotation runs (it leaves the destroyed secrets' versions under
	// the keys it deletes), then no longer decrypts. Without it, such a copy decrypts for as long as the
	// key it was encrypted under is in the keyset. No option helps
	// against a restore of the whole database, keys included, with the
	// master key: see Destroy.
	DestroyRotates bool
	// KeepFormerKeys is how many former data keys RotateKey keeps in a
	// workspace's keyset, disabled, the most recent ones: SetKeyEnabled
	// can bring them back, for rows restored from a backup taken before
	// those rotations. Once a rotation completes, no version uses a former
	// key, and it deletes the older ones (RotateResult.Deleted); a copy of
	// rows encrypted under them then never decrypts again. Default 2;
	// negative keeps every former key.
	KeepFormerKeys int
	// DeleteRetention is how long Purge keeps soft-deleted secrets before
	// destroying them. Default 30 days; negative keeps them until a
	// Destroy.
	DeleteRetention time.Duration
	// EventRetention is how long Purge keeps audit events. Default 400
	// days: a year of history, which audits commonly ask for, and a month
	// to spare; negative keeps them forever. Events are dropped only by
	// Purge, which the host runs.
	EventRetention time.Duration
	// UnauditedLists leaves the calls that reveal no value (List, Meta,
	// Versions, Due, DueAll and Keys) unrecorded, while reveals,
	// injections, exports, diffs, writes and every refusal stay audited
	// as AuditReads says. A settings page lists on every load: without
	// it, the audit trail holds more page loads than changes.
	UnauditedLists bool
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Parents, if not nil, names the containers a workspace inherits
	// secrets from, nearest first: for example "group:acme/data",
	// "group:acme", "instance". A parent is a container like a workspace,
	// with its own secrets, key, versions, events and authorization: a
	// host edits a group's secrets with the same calls, passing the
	// group's identifier as the workspace. Every job (EnvFor, Command,
	// Prepare, Run) asks it once and reads all the levels in one Store
	// read: for each name, the nearest level that has it wins, and an
	// expired secret left out by ExpiredOmit counts as absent, so that a
	// farther level's value applies. A parent that does not exist is
	// empty. It is called on every job: keep it cheap (a lookup in the
	// host's memory). An error fails the job; more than MaxParents
	// containers, one named twice or the workspace itself fail it with
	// ErrInvalidParents. Export, Diff and the editing calls act on the
	// workspace's own secrets only.
	Parents func(ctx context.Context, workspace string) ([]string, error)
	// Withhold, if not nil, is asked, for every job, about each secret
	// the rule would give it (o: its container, variable, scope and
	// protection); true keeps it from the job. The job then runs without
	// that variable (no farther level or wider scope stands in for it),
	// its value is not masked in the job's output (scanning a job's output
	// for a value it does not have tells the job what the value begins
	// with: see the README), and the job's event names it as withheld. Compare o.Variable to decide for every
	// scope of a variable at once. Authorize still decides whether the
	// job runs at all. With Withhold set, every job's event is recorded
	// after its read, as a job with parents' is.
	Withhold func(ctx context.Context, r Request, o Offer) bool
	// ReferNearer lets a parent's value that expands (Info.Expand)
	// reference a name whose secret, for the job, is at a nearer level
	// (the workspace's own, or a level between): ${DB_PASSWORD} in a
	// group's DATABASE_URL then takes each workspace's DB_PASSWORD. By
	// default such a job fails with a *ReferenceError of kind
	// ReferenceNearer and gets nothing: whoever edits a parent could
	// otherwise save https://${CHILD_TOKEN}@their.example and receive
	// every child's token in the jobs that use it, so editing a group's
	// secrets would mean reading its workspaces'. Set it only if every
	// editor of a parent may read the secrets of the workspaces below it.
	ReferNearer bool
	// Authorize, if not nil, is asked before every operation; an error
	// refuses it (ErrForbidden), changing and revealing nothing, and the
	// refusal is audited. Neither the caller's error nor the event quotes
	// the hook's error: return a *Refusal to give a reason both say, or to
	// say that the hook could not decide (ErrUnavailable). Without it every
	// operation is allowed to anyone: the host decides upstream who may
	// call the Manager (panel.New refuses such a Manager unless told
	// AllowAll).
	Authorize func(ctx context.Context, r Request) error
	// AuditKey, if not nil, adds keyed fingerprints of values to the
	// ledger and to events.
	AuditKey *AuditKey
	// AuditReads says what a read does when its event cannot be recorded.
	// Default AuditFailClosed: a read whose event cannot be recorded
	// returns no value.
	AuditReads AuditReads
	// OnEvent, if not nil, receives every event once it is recorded (for
	// writes: once committed). See SlogEvents.
	OnEvent func(ctx context.Context, e Event)
	// OnAuditError, if not nil, receives events that could not be
	// recorded, with the error.
	OnAuditError func(ctx context.Context, events []Event, err error)
}

// ExpiredPolicy says what a job gets for an expired secret.
type ExpiredPolicy int

// The policies. Whatever the policy, [PreparedJob].Expired names the
// expired secrets and [Manager.Due] lists them.
const (
	// ExpiredInject injects expired secrets like any other: the job runs,
	// and fails where the service refuses the old token.
	ExpiredInject ExpiredPolicy = iota
	// ExpiredOmit leaves expired secrets out of the environment, and out
	// of Export, which names each in a comment so that a Diff with
	// Remove of its text keeps it.
	ExpiredOmit
	// ExpiredRefuse makes EnvFor, Prepare, Run and Export fail with
	// ErrExpired.
	ExpiredRefuse
)

// DefaultKeepFormerKeys is Config.KeepFormerKeys's default.
const DefaultKeepFormerKeys = 2

// MaxMaxNameLength is the most Config.MaxNameLength may be: a B-tree
// index entry of Postgres holds about 2,700 bytes, and the store indexes
// a name with its workspace (up to 256 bytes) and its lower-cased form.
const MaxMaxNameLength = 1024

// DefaultEventRetention is Config.EventRetention's default: 400 days.
const DefaultEventRetention = 400 * 24 * time.Hour

// DefaultMaxSecrets is Config.MaxSecrets's default: 10,000 secrets a
// container, deleted ones included (GitHub allows an organisation 1,000
// secrets, GitLab.com a project 8,000 CI/CD variables).
const DefaultMaxSecrets = 10_000

// A Manager encrypts, stores, versions and injects workspace secrets. It
// is safe for concurrent use. Several Managers (in several processes) may
// share one Store.
type Manager struct {
	store   Store
	cipher  Cipher
	ciphers map[string]Cipher
	cfg     Config
	keys    *keycache.Cache[string, *dataKey]
	// hints remembers recently written or read secrets (metadata only),
	// so that a write can skip its lookup; a stale hint costs a failed
	// check-and-set and a lookup.
	hints *keycache.Cache[string, Entry]
	// redactors shares the Redactor built for one state of a workspace
	// between the jobs prepared from it.
	redactors        *keycache.Cache[redactorKey, *Redactor]
	reserved         map[string]bool
	reservedPrefixes []string
	allowed          map[string]bool
	// refused remembers what the rules say of names a job delivers
	// (names_stored.go).
	refused refusals

	// masterSem is held (a value in it) while the master key is checked:
	// a lock that a caller can stop waiting for when its ctx ends, since
	// the holder may wait on a hung KMS. Guards masterKnown.
	masterSem   chan struct{}
	masterKnown bool // the Store knows m.cipher, and it is the right key

	// sweptRoots holds the roots of job folders this Manager has swept
	// of leftovers (see SweepJobFiles).
	sweptRoots sync.Map

	// reads group-commits the durable events of reads (audit_batch.go);
	// oneRecordPerRead, set only by tests and benchmarks, records each
	// alone instead, as before group commit.
	reads            readBatcher
	oneRecordPerRead bool
	// raceBudget is raceBudget, shortened only by tests.
	raceBudget time.Duration
}

// New returns a Manager that keeps secrets in store and wraps workspace keys
// with cipher. cfg may be nil.
func New(store Store, cipher Cipher, cfg *Config) (*Manager, error) {
	if store == nil || cipher == nil {
		return nil, errors.New("secrets: New needs a Store and a Cipher")
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.KeepVersions <= 0 {
		c.KeepVersions = 10
	}
	if c.MaxNameLength <= 0 {
		c.MaxNameLength = defaultMaxNameLength
	}
	if c.MaxNameLength > MaxMaxNameLength {
		return nil, fmt.Errorf("secrets: Config.MaxNameLength %d is over %d bytes, which Postgres cannot index", c.MaxNameLength, MaxMaxNameLength)
	}
	if c.MaxEnvBytes == 0 {
		c.MaxEnvBytes = 1 << 20
	}
	if c.MaxSecrets == 0 {
		c.MaxSecrets = DefaultMaxSecrets
	}
	if c.KeyCacheSize <= 0 {
		c.KeyCacheSize = 1024
	}
	if c.KeyCacheTTL <= 0 {
		c.KeyCacheTTL = 5 * time.Minute
	}
	if c.EventRetention == 0 {
		c.EventRetention = DefaultEventRetention
	}
	if c.KeepFormerKeys == 0 {
		c.KeepFormerKeys = DefaultKeepFormerKeys
	}
	if c.DeleteRetention == 0 {
		c.DeleteRetention = 30 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	m := &Manager{
		store:     store,
		cipher:    cipher,
		ciphers:   map[string]Cipher{cipher.ID(): cipher},
		cfg:       c,
		keys:      keycache.New[string, *dataKey](c.KeyCacheSize, c.KeyCacheTTL, c.Now),
		hints:     keycache.New[string, Entry](4*c.KeyCacheSize, c.KeyCacheTTL, c.Now),
		redactors: keycache.New[redactorKey, *Redactor](redactorCacheSize, c.KeyCacheTTL, c.Now),
		reserved:  map[string]bool{},
		allowed:   map[string]bool{},
		masterSem: make(chan struct{}, 1),

		raceBudget: raceBudget,
	}
	for _, d := range c.DecryptOnly {
		if _, ok := m.ciphers[d.ID()]; !ok {
			m.ciphers[d.ID()] = d
		}
	}
	for _, n := range c.ReservedNames {
		m.reserved[strings.ToUpper(n)] = true
	}
	for _, p := range c.ReservedPrefixes {
		m.reservedPrefixes = append(m.reservedPrefixes, strings.ToUpper(p))
	}
	for _, n := range c.AllowNames {
		m.allowed[strings.ToUpper(n)] = true
	}
	return m, nil
}

// Format prints no key material.
func (m *Manager) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "secrets.Manager(store=%T, cipher=%s)", m.store, m.cipher.ID())
}

type actorKey struct{}

// WithActor returns a context that names who acts (e.g. "user:42"); the
// Manager records it with every change and in every event. An actor over
// 256 bytes, not UTF-8 or with a control character makes every call fail
// with ErrInvalidActor before anything happens.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by WithActor, or "".
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

func (m *Manager) now() time.Time { return m.cfg.Now().UTC().Truncate(time.Microsecond) }

func newSecretID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Limits are the bounds a Manager enforces on what editors give it, with
// Config's defaults applied: a user interface can check input before
// sending it and size its uploads.
type Limits struct {
	MaxNameLength int   `json:"max_name_length"` // bytes of a name
	MaxEnvString  int   `json:"max_env_string"`  // bytes of "NAME=value" plus its NUL
	MaxEnvBytes   int64 `json:"max_env_bytes"`   // a workspace's whole environment; negative for none
	KeepVersions  int   `json:"keep_versions"`   // versions kept per secret
	MaxSecrets    int   `json:"max_secrets"`     // secrets a workspace stores, deleted ones included; negative for none
	// MaxDotenvBytes is the largest .env text Diff, Apply and Import read
	// (larger: ErrTooLarge): room for any Export of a workspace within
	// MaxEnvBytes, and 256 KiB of people's comments; 0 for none (no
	// MaxEnvBytes).
	MaxDotenvBytes int64 `json:"max_dotenv_bytes"`
}

// Limits returns the Manager's limits.
func (m *Manager) Limits() Limits {
	return Limits{MaxNameLength: m.cfg.MaxNameLength, MaxEnvString: MaxEnvString, MaxEnvBytes: m.cfg.MaxEnvBytes, KeepVersions: m.cfg.KeepVersions,
		MaxSecrets: m.cfg.MaxSecrets, MaxDotenvBytes: m.maxDotenvText()}
}
