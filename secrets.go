// Package secrets keeps each workspace's secrets encrypted in the host's
// database and hands them to child processes as environment variables.
//
// A backend builds one [Manager] with [New] from a [Store] (where
// ciphertext lives) and a [Cipher] (the master key). Editors' calls map to
// [Manager.Set], [Manager.SetIf], [Manager.Rename], [Manager.Delete] and
// [Manager.List]; a build or job gets its environment from
// [Manager.EnvFor] or a ready command from [Manager.Command].
//
//	m, err := secrets.New(secrets.NewMemoryStore(), cipher, nil)
//	ctx = secrets.WithActor(ctx, "user:42")
//	_, err = m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"))
//	env, err := m.EnvFor(ctx, "ws-1") // ["AUTH_TOKEN=s3cr3t"]
//
// # Backends
//
// [MemoryStore] keeps everything in process memory: for tests and for
// single-process use. [PostgresStore] keeps it in the host's Postgres
// database. Any other [Store] should pass the conformance suite in package
// storetest.
//
// # Encryption
//
// Envelope encryption with Tink. Every workspace has its own AES-256-GCM
// keyset (its data key), stored wrapped by the [Cipher] with associated
// data naming the workspace and the Cipher's ID. Every version of every
// secret is encrypted with the workspace's data key and associated data
// that binds it to the workspace, the secret's ID, its name and its version
// number, so a ciphertext copied to any other row fails to decrypt.
// Unwrapped data keys are cached (Config.KeyCacheSize, Config.KeyCacheTTL).
// A [LocalCipher] holds a Tink keyset in memory; [GenerateLocalKey] makes
// one.
//
// # Key lifecycle
//
// [Manager.RotateKey] gives a workspace a new data key and re-encrypts its
// versions while the platform serves; [Manager.SetKeyEnabled] is the kill
// switch for one key; [Manager.Rewrap] moves every workspace key to a new
// master key (a [RemoteCipher] over a KMS, say; package
// github.com/dataspace/secrets/kms builds one from a key URI). All of them
// can be interrupted and resumed.
//
// # Access control and audit
//
// Config.Authorize is asked before every operation, and every operation
// leaves an [Event] in the Store: a write's in the same transaction, a
// read's in the same statement as the read ([Config.AuditReads] chooses
// what a read does when it cannot record). With an [AuditKey], events carry
// keyed fingerprints of values, so [Manager.Events] can find every
// injection of a leaked token. [Info] marks secrets write-only and records
// their expiry and rotation dates ([Manager.Due]).
//
// # Environment injection
//
// [Manager.EnvFor] returns a workspace's "NAME=value" strings from one
// consistent read. [Environ] merges them onto an explicit base environment
// (never the backend's own, which holds its database password and master
// key), [Manager.Command] builds an [os/exec.Cmd] with that environment, and
// [Manager.Run] runs a [Job] with its output passed through a [Redactor],
// which masks the values (and their common encodings) even when split
// across writes. [Manager.Import] and [Manager.Export] read and write .env
// text.
// Names and values are validated when they are saved, not when a build
// starts: see [Manager.Set].
//
// # Errors
//
// Errors can be tested with [errors.Is] against the Err values below. No
// error text ever contains a secret value or key material; names of
// secrets do appear, except names that failed validation (users paste
// values into name fields). Any failure to decrypt is [ErrDecrypt],
// without saying which check failed.
//
// Values are returned as [Value], which prints as "[redacted]" in fmt, log
// and JSON output; [Value.Reveal] returns the bytes.
package secrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/dataspace/secrets/internal/keycache"
)

var (
	// ErrNotFound: no secret (or version, or workspace key) of that name.
	ErrNotFound = errors.New("secrets: not found")
	// ErrConflict: a check-and-set failed because the secret changed since
	// the version the caller saw.
	ErrConflict = errors.New("secrets: changed since the version seen")
	// ErrExists: another secret of the workspace has that name, ignoring
	// case. Manager methods return it together with ErrConflict, so that
	// errors.Is(err, ErrConflict) also catches it.
	ErrExists = errors.New("secrets: name already used")
	// ErrInvalidName: the name does not follow the environment-variable
	// rule [A-Za-z_][A-Za-z0-9_]* or is too long.
	ErrInvalidName = errors.New("secrets: invalid name")
	// ErrReservedName: the name is refused by the default deny-list (see
	// DeniedNames) or reserved by the host (Config.ReservedNames).
	ErrReservedName = errors.New("secrets: reserved name")
	// ErrInvalidValue: the value holds a NUL byte.
	ErrInvalidValue = errors.New("secrets: invalid value")
	// ErrTooLarge: a "NAME=value" string over MaxEnvString, or a workspace
	// environment over Config.MaxEnvBytes.
	ErrTooLarge = errors.New("secrets: too large")
	// ErrInvalidWorkspace: the workspace identifier is empty, too long, or
	// not UTF-8.
	ErrInvalidWorkspace = errors.New("secrets: invalid workspace")
	// ErrDecrypt: a ciphertext or wrapped key failed authentication:
	// tampering, a ciphertext moved between rows, or a wrong master key.
	ErrDecrypt = errors.New("secrets: decryption failed")
	// ErrKeyChanged: a write was encrypted under a workspace key revision
	// that is no longer current (another replica rotated the key). Stores
	// return it; the Manager reloads the key and retries, so hosts see it
	// only if that keeps failing.
	ErrKeyChanged = errors.New("secrets: workspace key changed")
)

// Config tunes a Manager. A nil *Config, and every zero field, means the
// default given with the field.
type Config struct {
	// KeepVersions is how many versions of each secret are retained,
	// current one included. Default 10.
	KeepVersions int
	// MaxNameLength bounds names, in bytes. Default 256.
	MaxNameLength int
	// MaxEnvBytes bounds a workspace's whole environment: the sum over its
	// secrets of len(name)+len(value)+2. Default 1 MiB (Linux allows about
	// 2 MiB of arguments and environment together); negative means no
	// limit.
	MaxEnvBytes int64
	// ReservedNames and ReservedPrefixes are names the host keeps for
	// itself (e.g. "PLATFORM_JOB_ID", "PLATFORM_"); Set refuses them with
	// ErrReservedName. Compared ignoring ASCII case.
	ReservedNames    []string
	ReservedPrefixes []string
	// AllowNames permits names that DeniedNames or DeniedPrefixes would
	// refuse. Compared ignoring ASCII case.
	AllowNames []string
	// DecryptOnly are former master keys: data keys they wrapped can still
	// be unwrapped, but new data keys are wrapped by the primary Cipher.
	DecryptOnly []Cipher
	// KeyCacheSize bounds how many unwrapped workspace keys are cached.
	// Default 1024.
	KeyCacheSize int
	// KeyCacheTTL bounds how long an unwrapped key is cached. Default 5
	// minutes.
	KeyCacheTTL time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Authorize, if not nil, is asked before every operation; an error
	// refuses it (ErrForbidden), changing and revealing nothing, and the
	// refusal is audited. Without it every operation is allowed: the host
	// decides who may call the Manager.
	Authorize func(ctx context.Context, r Request) error
	// AuditKey, if not nil, adds keyed fingerprints of values to events.
	AuditKey *AuditKey
	// AuditReads says what a read does when its event cannot be recorded.
	// Default AuditBestEffort.
	AuditReads AuditReads
	// OnEvent, if not nil, receives every event once it is recorded (for
	// writes: once committed; their ID is not known to the Manager and is
	// 0 here). See SlogEvents.
	OnEvent func(ctx context.Context, e Event)
	// OnAuditError, if not nil, receives events that could not be
	// recorded, with the error.
	OnAuditError func(ctx context.Context, events []Event, err error)
}

// A Manager encrypts, stores, versions and injects workspace secrets. It
// is safe for concurrent use. Several Managers (in several processes) may
// share one Store.
type Manager struct {
	store   Store
	cipher  Cipher
	ciphers map[string]Cipher
	cfg     Config
	keys    *keycache.Cache[string, *dataKey]
	// hints remembers the current version (metadata only) of recently
	// written or read secrets, so that a write can skip its lookup; a
	// stale hint costs a failed check-and-set and a lookup.
	hints            *keycache.Cache[string, Version]
	reserved         map[string]bool
	reservedPrefixes []string
	allowed          map[string]bool
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
		c.MaxNameLength = 256
	}
	if c.MaxEnvBytes == 0 {
		c.MaxEnvBytes = 1 << 20
	}
	if c.KeyCacheSize <= 0 {
		c.KeyCacheSize = 1024
	}
	if c.KeyCacheTTL <= 0 {
		c.KeyCacheTTL = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	m := &Manager{
		store:    store,
		cipher:   cipher,
		ciphers:  map[string]Cipher{cipher.ID(): cipher},
		cfg:      c,
		keys:     keycache.New[string, *dataKey](c.KeyCacheSize, c.KeyCacheTTL, c.Now),
		hints:    keycache.New[string, Version](4*c.KeyCacheSize, c.KeyCacheTTL, c.Now),
		reserved: map[string]bool{},
		allowed:  map[string]bool{},
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
// Manager records it with every version it writes.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by WithActor, or "".
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// Meta describes a secret or one of its versions, without its value.
type Meta struct {
	Name      string
	Version   int64
	Created   time.Time // when the secret was created
	CreatedBy string
	Updated   time.Time // when this version was written
	UpdatedBy string
	Info
}

// Info is what a secret carries besides its value; SetInfo changes it
// without changing the value. Set and SetIf keep it.
type Info struct {
	Description string
	// Expires is when the value stops being valid (a token's expiry);
	// zero for never. Due lists secrets by it.
	Expires time.Time
	// RotateBy is when the value should be replaced; zero for no
	// deadline. Due lists secrets by it.
	RotateBy time.Time
	// WriteOnly secrets are injected into jobs but never revealed by Get,
	// GetVersion or Export, whoever asks. It cannot be turned off: delete
	// the secret instead.
	WriteOnly bool
}

func metaOf(v Version) Meta {
	return Meta{Name: v.Name, Version: v.Version, Created: v.Created, CreatedBy: v.CreatedBy, Updated: v.Updated, UpdatedBy: v.UpdatedBy, Info: v.Info}
}

// A Value is a secret's bytes. It prints as "[redacted]" with every fmt
// verb, in log/slog and in JSON or text encodings; only Reveal gives the
// bytes.
type Value struct{ b []byte }

// Reveal returns a copy of the value's bytes.
func (v Value) Reveal() []byte { return append([]byte{}, v.b...) }

// Len returns the value's length in bytes.
func (v Value) Len() int { return len(v.b) }

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

// A Secret is a revealed version of a secret: its metadata and its value.
type Secret struct {
	Meta
	Value Value
}

// Format prints the metadata and a redacted value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{%s v%d value:%s}", s.Name, s.Version, redacted)
}

// LogValue hides the value from log/slog.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", s.Name), slog.Int64("version", s.Version), slog.String("value", redacted))
}

// A DecryptError reports the secrets of a workspace that could not be
// decrypted. It matches ErrDecrypt with errors.Is.
type DecryptError struct {
	Workspace string
	Names     []string
	// Cause, if not nil, is why: e.g. the workspace key could not be
	// unwrapped. It never holds key material or values.
	Cause error
}

// Error names the workspace and the secrets, never a value.
func (e *DecryptError) Error() string {
	cause := e.Cause
	if cause == nil {
		cause = ErrDecrypt
	}
	return fmt.Sprintf("secrets: workspace %q: cannot decrypt %s: %v", e.Workspace, strings.Join(e.Names, ", "), cause)
}

// Is reports whether target is ErrDecrypt.
func (e *DecryptError) Is(target error) bool { return target == ErrDecrypt }

func (m *Manager) now() time.Time { return m.cfg.Now().UTC().Truncate(time.Microsecond) }

func newSecretID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// dataKey returns the workspace's unwrapped key, from the cache or the
// Store. It returns ErrNotFound if the workspace has none.
func (m *Manager) dataKey(ctx context.Context, ws string) (*dataKey, error) {
	return m.keys.Load(ws, func() (*dataKey, error) {
		wk, err := m.store.Key(ctx, ws)
		if err != nil {
			return nil, err
		}
		c, ok := m.ciphers[wk.CipherID]
		if !ok {
			return nil, fmt.Errorf("secrets: workspace %q: data key wrapped by master key %q, which this Manager does not have: %w", ws, wk.CipherID, ErrDecrypt)
		}
		h, err := unwrapKey(ctx, c, wk)
		if err != nil {
			return nil, err
		}
		return newDataKey(h, wk.Revision)
	})
}

// writeKey returns the workspace's key, creating it if there is none.
func (m *Manager) writeKey(ctx context.Context, ws string) (*dataKey, error) {
	k, err := m.dataKey(ctx, ws)
	if !errors.Is(err, ErrNotFound) {
		return k, err
	}
	h, wrapped, err := newWorkspaceKey(ctx, m.cipher, ws)
	if err != nil {
		return nil, err
	}
	err = m.store.PutKey(ctx, WrappedKey{Workspace: ws, CipherID: m.cipher.ID(), Ciphertext: wrapped, Updated: m.now()}, 0)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrExists) {
		// Another writer created it first: use theirs.
		m.keys.Remove(ws)
		return m.dataKey(ctx, ws)
	}
	if err != nil {
		return nil, err
	}
	k, err = newDataKey(h, 1)
	if err != nil {
		return nil, err
	}
	m.keys.Add(ws, k)
	return k, nil
}

// freshKey makes sure k knows the key that encrypted every ciphertext of
// vs. If one is unknown (another replica rotated the keyset), it reloads
// the keyset from the Store once. A key that is known but disabled is not
// reloaded for: its ciphertexts fail.
func (m *Manager) freshKey(ctx context.Context, ws string, k *dataKey, vs ...Version) (*dataKey, error) {
	for _, v := range vs {
		if id, ok := cipherKeyID(v.Ciphertext); ok && !k.known[id] {
			m.keys.Remove(ws)
			return m.dataKey(ctx, ws)
		}
	}
	return k, nil
}

func (m *Manager) seal(k *dataKey, v *Version, value []byte) error {
	ct, err := k.aead.Encrypt(value, secretAD(v.Workspace, v.SecretID, v.Name, v.Version))
	if err != nil {
		return fmt.Errorf("secrets: encrypt %s: %w", v.Name, err)
	}
	v.Ciphertext = ct
	v.KeyID = k.primary
	v.EnvSize = envSize(v.Name, len(value))
	v.Fingerprint = m.Fingerprint(value)
	return nil
}

func open(k *dataKey, v Version) ([]byte, error) {
	p, err := k.aead.Decrypt(v.Ciphertext, secretAD(v.Workspace, v.SecretID, v.Name, v.Version))
	if err != nil {
		return nil, ErrDecrypt
	}
	return p, nil
}

// reveal decrypts one version.
func (m *Manager) reveal(ctx context.Context, v Version) ([]byte, error) {
	k, err := m.dataKey(ctx, v.Workspace)
	if errors.Is(err, ErrNotFound) {
		err = ErrDecrypt // rows without a key: the key row is gone
	}
	if err == nil {
		k, err = m.freshKey(ctx, v.Workspace, k, v)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: %s: %w", v.Name, err)
	}
	p, err := open(k, v)
	if err != nil {
		return nil, &DecryptError{Workspace: v.Workspace, Names: []string{v.Name}}
	}
	return p, nil
}
