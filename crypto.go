package secrets

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// A Cipher is a master key (key-encryption key). It wraps and unwraps the
// workspaces' data keys; it never sees a secret value.
//
// Encrypt and Decrypt are authenticated encryption with associated data:
// Decrypt must fail, and return no plaintext, unless ciphertext was produced
// by Encrypt of the same key with the same associated data. Both must be
// safe for concurrent use. A Cipher backed by a remote service (a KMS)
// should honour ctx.
//
// ID names the key. It is stored beside everything the Cipher wraps, so
// that several master keys can coexist while data keys move from one to
// another; it must be stable for the life of the key and must not contain
// key material.
type Cipher interface {
	ID() string
	Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error)
	Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error)
}

var _ Cipher = (*LocalCipher)(nil)

// A LocalCipher is a master key held in process memory: a Tink AEAD keyset
// (AES-256-GCM by default). It suits development and single-node
// deployments; production deployments should prefer a KMS-backed Cipher, so
// that the master key never sits in the backend's memory or environment.
//
// A LocalCipher formats as redacted in fmt and log output.
type LocalCipher struct {
	id   string
	aead tink.AEAD
}

// GenerateLocalKey returns a new master keyset holding one AES-256-GCM key,
// serialized as Tink's JSON keyset format. The result is key material in the
// clear: store it as a secret (a file readable only by the backend, or a
// secret manager), never in source control.
func GenerateLocalKey() ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("secrets: generate key: %w", err)
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("secrets: generate key: %w", err)
	}
	return buf.Bytes(), nil
}

// NewLocalCipher returns a Cipher from a Tink JSON keyset such as
// [GenerateLocalKey] returns. The keyset must hold AEAD keys.
//
// Its ID is "tink-local:" followed by the primary key's ID, so adding a new
// primary key to the keyset gives a new master key ID (a migration, done by
// re-wrapping), while every key of the keyset can still decrypt.
//
// Errors never include the keyset's contents.
func NewLocalCipher(keysetJSON []byte) (*LocalCipher, error) {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(keysetJSON)))
	if err != nil {
		// Tink's parse errors may quote input bytes; do not pass them on.
		return nil, errors.New("secrets: master key is not a valid Tink JSON keyset")
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, errors.New("secrets: master key keyset holds no usable AEAD key")
	}
	return &LocalCipher{
		id:   "tink-local:" + strconv.FormatUint(uint64(h.KeysetInfo().GetPrimaryKeyId()), 10),
		aead: a,
	}, nil
}

// LoadLocalCipher reads a Tink JSON keyset from the file at path.
func LoadLocalCipher(path string) (*LocalCipher, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: read master key: %w", err)
	}
	defer clear(b)
	return NewLocalCipher(b)
}

// LocalCipherFromEnv reads a Tink JSON keyset from the environment variable
// name. The caller should remove the variable afterwards (os.Unsetenv), and
// must never pass the backend's environment to a child process; see
// [Environ].
func LocalCipherFromEnv(name string) (*LocalCipher, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return nil, fmt.Errorf("secrets: master key variable %s is not set", name)
	}
	return NewLocalCipher([]byte(v))
}

// ID returns the key's stable identifier.
func (c *LocalCipher) ID() string { return c.id }

// Encrypt encrypts plaintext bound to associatedData.
func (c *LocalCipher) Encrypt(_ context.Context, plaintext, associatedData []byte) ([]byte, error) {
	return c.aead.Encrypt(plaintext, associatedData)
}

// Decrypt decrypts ciphertext bound to associatedData; it fails with
// [ErrDecrypt] on any mismatch and then returns no plaintext.
func (c *LocalCipher) Decrypt(_ context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	p, err := c.aead.Decrypt(ciphertext, associatedData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return p, nil
}

// Format prints the key's ID only.
func (c *LocalCipher) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "LocalCipher(%s)", c.id)
}

var _ Cipher = (*RemoteCipher)(nil)

// A RemoteCipher is a master key held by a key management service (AWS
// KMS, Google Cloud KMS, Vault or OpenBao Transit), used through one of
// Tink's KMS AEADs: the key never leaves the service, and every wrap or
// unwrap is a call to it (the Manager's key cache makes that once per
// workspace per cache period). Package github.com/dataspace/secrets/kms
// builds one from a key URI.
//
// Its errors carry the AEAD's error text (package kms's hold the service's
// reasons and codes, with the request's fields and credentials blotted
// out). A refused unwrap matches ErrDecrypt; a network failure does not.
type RemoteCipher struct {
	id   string
	aead tink.AEADWithContext
}

// NewRemoteCipher returns a Cipher named id that encrypts with a. The id
// must be stable and must not contain key material (a KMS key URI is a
// good id; a fake-kms:// URI, which embeds its key, is not).
func NewRemoteCipher(id string, a tink.AEAD) *RemoteCipher {
	if ac, ok := a.(tink.AEADWithContext); ok {
		return &RemoteCipher{id: id, aead: ac}
	}
	return &RemoteCipher{id: id, aead: noContext{a}}
}

// NewRemoteCipherWithContext is NewRemoteCipher for an AEAD whose calls
// take a context, as Tink's AWS and Google Cloud KMS AEADs do.
func NewRemoteCipherWithContext(id string, a tink.AEADWithContext) *RemoteCipher {
	return &RemoteCipher{id: id, aead: a}
}

// NewKMSCipher returns the Cipher for keyURI from a Tink KMS client. Its
// ID is keyURI.
func NewKMSCipher(client registry.KMSClient, keyURI string) (*RemoteCipher, error) {
	if !client.Supported(keyURI) {
		return nil, fmt.Errorf("secrets: the KMS client does not support that key URI")
	}
	a, err := client.GetAEAD(keyURI)
	if err != nil {
		return nil, fmt.Errorf("secrets: KMS key: %w", err)
	}
	return NewRemoteCipher(keyURI, a), nil
}

type noContext struct{ a tink.AEAD }

func (n noContext) EncryptWithContext(ctx context.Context, p, ad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return n.a.Encrypt(p, ad)
}

func (n noContext) DecryptWithContext(ctx context.Context, c, ad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return n.a.Decrypt(c, ad)
}

// ID returns the key's identifier.
func (c *RemoteCipher) ID() string { return c.id }

// Encrypt asks the service to encrypt plaintext bound to associatedData.
func (c *RemoteCipher) Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	ct, err := c.aead.EncryptWithContext(ctx, plaintext, associatedData)
	if err != nil {
		return nil, wrapf(err, "master key %s: encrypt", c.id)
	}
	return ct, nil
}

// Decrypt asks the service to decrypt ciphertext bound to associatedData.
// A refusal matches [ErrDecrypt]; a service that cannot be reached (a
// network error), and an error with an Unavailable() bool method that
// reports true (the kms package's, for any answer but a refusal: an
// outage, a sealed Vault, a token refused), do not, so that an outage is
// not taken for tampering or for a wrong master key.
func (c *RemoteCipher) Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	p, err := c.aead.DecryptWithContext(ctx, ciphertext, associatedData)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return nil, wrapf(err, "master key %s: unreachable", c.id)
		}
		var u interface{ Unavailable() bool }
		if errors.As(err, &u) && u.Unavailable() {
			return nil, wrapf(err, "master key %s: unavailable", c.id)
		}
		return nil, &failure{class: ErrDecrypt, msg: "master key " + c.id + " refused to decrypt", cause: err}
	}
	return p, nil
}

// Format prints the key's ID only.
func (c *RemoteCipher) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "RemoteCipher(%s)", c.id) }

// Domain labels: every associated data starts with one, so that a ciphertext
// made for one purpose can never be accepted for another.
const (
	adWorkspaceKey = "dataspace.secrets/v1/workspace-key"
	adSecretV1     = "dataspace.secrets/v1/secret-version"
	adSecretV2     = "dataspace.secrets/v2/secret-version"
	adSecretV3     = "dataspace.secrets/v3/secret-version"
	adMasterCheck  = "dataspace.secrets/v1/master-key-check"
)

// associatedData encodes fields unambiguously: each is preceded by its
// length as a 4-byte big-endian integer, so that no two lists of fields
// share an encoding.
func associatedData(fields ...string) []byte {
	n := 0
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

func workspaceKeyAD(workspace, cipherID string) []byte {
	return associatedData(adWorkspaceKey, workspace, cipherID)
}

func masterCheckAD(cipherID string) []byte { return associatedData(adMasterCheck, cipherID) }

// formatOf is the format of the associated data of a new version: 3 for
// a secret with a scope (its name holds an '@'), protected or expanded,
// 2 for the others. Format 3 has its own label, so a release that knows
// only formats 1 and 2 fails to decrypt such a version rather than
// deliver a scoped or protected secret to a job it does not know to keep
// it from, or an expanded one's raw text as its value.
func formatOf(v *Version) int {
	if v.Protected || v.Expand || strings.IndexByte(v.Name, '@') >= 0 {
		return 3
	}
	return 2
}

// adFlags are the flags of a version that are bound into its associated
// data.
type adFlags struct{ writeOnly, file, protected, expand bool }

// appendSecretAD appends the associated data of version v to b: EnvFor
// reuses one buffer for all secrets. Format 3 binds the workspace, the
// secret's ID, its name (with its scope), the version number and the
// flags that decide who gets the value and how (write-only, file,
// protected, expand); format 2 the same without the last two, under its
// own label;
// format 1 (the first releases) the same without any flag.
func appendSecretAD(b []byte, v *Version) []byte {
	return appendAD(b, v.Workspace, v.SecretID, v.Name, v.Version, v.Format, adFlags{v.WriteOnly, v.File, v.Protected, v.Expand})
}

// appendEntryAD is appendSecretAD for an entry of an environment read of
// container ws: every read that decrypts entries builds its data here.
func appendEntryAD(b []byte, ws string, en *EnvEntry) []byte {
	return appendAD(b, ws, en.SecretID, en.Name, en.Version, en.Format, adFlags{en.WriteOnly, en.File, en.Protected, en.Expand})
}

// appendAD is appendSecretAD over the fields themselves.
func appendAD(b []byte, ws, secretID, name string, version int64, format int, fl adFlags) []byte {
	var num [20]byte
	n := strconv.AppendInt(num[:0], version, 10)
	label := adSecretV3
	switch {
	case format < 2:
		label = adSecretV1
	case format == 2:
		label = adSecretV2
	}
	for _, f := range [...]string{label, ws, secretID, name} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
	b = append(b, n...)
	if format >= 2 {
		flags := [4]byte{'-', '-', '-', '-'}
		if fl.writeOnly {
			flags[0] = 'w'
		}
		if fl.file {
			flags[1] = 'f'
		}
		if fl.protected {
			flags[2] = 'p'
		}
		if fl.expand {
			flags[3] = 'x'
		}
		// Format 2 has two flags; a format-2 version marked protected or
		// expanded (which no release writes) gets four, so that it fails.
		width := 2
		if format >= 3 || fl.protected || fl.expand {
			width = 4
		}
		b = binary.BigEndian.AppendUint32(b, uint32(width))
		b = append(b, flags[:width]...)
	}
	return b
}

// dataKey is an unwrapped workspace keyset: its AEAD primitive, the IDs
// of the keys it holds, and the generation the Store gave it.
type dataKey struct {
	handle  *keyset.Handle
	aead    tink.AEAD
	primary uint32
	gen     int64
}

// Format keeps key material out of fmt output, should a dataKey ever be
// printed while debugging.
func (k *dataKey) Format(f fmt.State, _ rune) { io.WriteString(f, "dataKey([redacted])") }

func newDataKey(h *keyset.Handle, gen int64) (*dataKey, error) {
	a, err := aead.New(h)
	if err != nil {
		return nil, wrapf(err, "data key")
	}
	return &dataKey{handle: h, aead: a, primary: h.KeysetInfo().GetPrimaryKeyId(), gen: gen}, nil
}

// seal encrypts value as version v, setting its ciphertext, key ID and
// format.
func (k *dataKey) seal(v *Version, value []byte) error {
	v.Format = formatOf(v)
	ct, err := k.aead.Encrypt(value, appendSecretAD(nil, v))
	if err != nil {
		return wrapf(err, "encrypt %s", v.Name)
	}
	v.Ciphertext, v.KeyID = ct, k.primary
	return nil
}

// open decrypts version v. Any failure is ErrDecrypt, without saying which
// check failed.
func (k *dataKey) open(v *Version) ([]byte, error) {
	p, err := k.aead.Decrypt(v.Ciphertext, appendSecretAD(nil, v))
	if err != nil {
		return nil, ErrDecrypt
	}
	return p, nil
}

// kek adapts a Cipher to the interface Tink uses to wrap keysets. It keeps
// the Cipher's own error from Decrypt, so that an unreachable KMS is not
// reported as tampering.
type kek struct {
	c   Cipher
	err error
}

func (k *kek) EncryptWithContext(ctx context.Context, p, ad []byte) ([]byte, error) {
	c, err := k.c.Encrypt(ctx, p, ad)
	if err != nil {
		k.err = err
	}
	return c, err
}

func (k *kek) DecryptWithContext(ctx context.Context, c, ad []byte) ([]byte, error) {
	p, err := k.c.Decrypt(ctx, c, ad)
	if err != nil {
		k.err = err
	}
	return p, err
}

// newWorkspaceKey makes a fresh AES-256-GCM keyset and wraps it with c.
func newWorkspaceKey(ctx context.Context, c Cipher, workspace string) (*keyset.Handle, []byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, nil, wrapf(err, "new data key")
	}
	wrapped, err := wrapKey(ctx, c, workspace, h)
	if err != nil {
		return nil, nil, err
	}
	return h, wrapped, nil
}

// wrapKey encrypts a workspace keyset with c. The Cipher's own error is
// returned wrapped (Tink's writer keeps only its text), so that a caller
// still tells a cancelled ctx or an unreachable KMS by errors.Is and
// errors.As.
func wrapKey(ctx context.Context, c Cipher, workspace string, h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	k := &kek{c: c}
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), k, workspaceKeyAD(workspace, c.ID())); err != nil {
		if k.err != nil {
			err = k.err
		}
		return nil, wrapf(err, "wrap the data key of workspace %q with master key %s", workspace, c.ID())
	}
	return buf.Bytes(), nil
}

// unwrapKey decrypts a wrapped workspace keyset. Any failure is reported as
// ErrDecrypt, without saying which check failed.
func unwrapKey(ctx context.Context, c Cipher, wk WrappedKey) (*keyset.Handle, error) {
	k := &kek{c: c}
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(wk.Ciphertext)), k, workspaceKeyAD(wk.Workspace, wk.CipherID))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if k.err != nil && k.err != ErrDecrypt {
			// The Cipher's own error: an unreachable KMS, or its refusal.
			return nil, wrapf(k.err, "unwrap data key of workspace %q", wk.Workspace)
		}
		return nil, errorf(ErrDecrypt, "the data key of workspace %q does not decrypt under master key %s (tampered, or not the right master key)", wk.Workspace, wk.CipherID)
	}
	return h, nil
}
