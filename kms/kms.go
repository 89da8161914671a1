// Package kms builds secrets.Cipher master keys held by a key management
// service, chosen by key URI, through Tink's own KMS integrations:
//
//	aws-kms://arn:aws:kms:REGION:ACCOUNT:key/ID          AWS KMS (credentials from the default chain)
//	gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K   Google Cloud KMS (Application Default Credentials)
//	hcvault://HOST[:PORT]/MOUNT/keys/NAME                 Vault or OpenBao Transit (VAULT_ADDR, VAULT_TOKEN)
//
// It is a module of its own so that the cloud SDKs it needs are not
// dependencies of every program that imports package secrets.
//
// Transit keys are used through Tink's AEAD that sends the associated data
// in Transit's associated_data parameter, which binds it to AES-GCM keys;
// Tink's older Vault client sends it as "context", which Transit ignores
// for keys without derivation, so associated data would bind nothing.
// That AEAD's calls take no context: NewCipher gives them the caller's, in
// that a call returns as soon as its ctx ends, while the request it made
// runs on in the background until the Vault client's own timeout
// (VAULT_CLIENT_TIMEOUT, 60 seconds by default). A Vault call's error
// holds the answer's status and Vault's own messages, never the request's
// URL (which may hold a password) nor a body that is not Vault's error list
// (a proxy's page may echo the token), and the client's token and the
// address's user:password and password are blotted out of those messages
// as the request's fields are (below); only Vault's own answer of 400 is
// a refusal to decrypt (secrets.ErrDecrypt): a sealed or unreachable
// Vault, or a token refused, is not taken for tampering or for a wrong
// master key.
//
// No error of any KMS holds a part of its request: the request's fields
// (a data key's plaintext, a ciphertext, associated data, in each form a
// request's body holds them, whole or any part of 8 characters or more,
// as a gateway cutting its echo short leaves), any other run of 24 or
// more base64- or hex-looking characters, and the rest of a message from
// a credential header on (Authorization, X-Amz-Security-Token,
// X-Vault-Token, X-Goog-Api-Key or Cookie followed by ':' or '=') are
// blotted out of the KMS's messages, which a gateway in front of it may
// fill with an echo of the request. The KMS's short reasons and error
// codes stay, and so do the names an operator needs (ARNs, UUIDs, AWS key
// IDs and aliases, Google Cloud KMS resource names, https links, the
// key's own URI and ID) unless they hold a part of the request. A Vault
// answer of 400 that echoes the request or a credential is not Vault's
// and no refusal. AWS KMS and Google Cloud KMS errors are refusals to decrypt
// only when they refuse the ciphertext or the key (AWS:
// InvalidCiphertextException, IncorrectKeyException,
// InvalidKeyUsageException, KMSInvalidStateException, DisabledException,
// NotFoundException; Google: InvalidArgument, FailedPrecondition,
// NotFound), as Vault's refusal of a deleted key or of a version under
// min_decryption_version is; throttling, access denied, an internal error,
// an unavailable service, credentials and the network are not.
// One exception: Tink's Vault AEAD reads an answer without a plaintext
// (an empty 200 or 204 from a proxy) as an empty plaintext, which then
// fails as a wrong key or tampered data would.
package kms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/dataspace/secrets"
	vault "github.com/hashicorp/vault/api"
	"github.com/tink-crypto/tink-go-awskms/v3/integration/awskms"
	"github.com/tink-crypto/tink-go-gcpkms/v2/integration/gcpkms"
	"github.com/tink-crypto/tink-go-hcvault/v2/integration/hcvault"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// ErrUnsupported: the key URI names no KMS this package knows.
var ErrUnsupported = errors.New("kms: unsupported key URI")

// Options tunes NewCipher. A nil *Options means the defaults.
type Options struct {
	// Clients are consulted first, in order: a Tink KMS client whose
	// Supported method accepts the key URI is used for it. For other KMSs,
	// for clients configured by the caller, and for tests (Tink's fakekms).
	Clients []registry.KMSClient
	// ID names the key instead of its URI, for URIs that must not be
	// stored (fakekms URIs hold their key).
	ID string
	// VaultClient is used for hcvault:// URIs instead of one configured
	// from the environment (VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, ...).
	VaultClient *vault.Client
}

// NewCipher returns the master key at keyURI. Its ID is keyURI unless
// Options.ID is set. Nothing is sent to the KMS until the key is used.
// Errors name the URI's scheme, never credentials.
//
// For an hcvault:// URI without Options.VaultClient, the client talks to
// VAULT_ADDR when it is set, whatever the URI's host (a proxy or another
// name for the same server), and to the URI's host over HTTPS otherwise;
// the ID is the URI as written either way.
//
// For a gcp-kms:// URI, each call opens a gRPC client (a connection and
// its goroutines) that lives until the process ends: make one Cipher per
// key per process. Errors of Options.Clients' AEADs are classified as
// secrets.RemoteCipher does (any but a network error is a refusal).
func NewCipher(ctx context.Context, keyURI string, opts *Options) (*secrets.RemoteCipher, error) {
	if opts == nil {
		opts = &Options{}
	}
	id := keyURI
	if opts.ID != "" {
		id = opts.ID
	}
	for _, c := range opts.Clients {
		if c.Supported(keyURI) {
			a, err := c.GetAEAD(keyURI)
			if err != nil {
				return nil, fmt.Errorf("kms: %w", err)
			}
			return secrets.NewRemoteCipher(id, a), nil
		}
	}
	scheme, rest, _ := strings.Cut(keyURI, "://")
	switch strings.ToLower(scheme) {
	case "aws-kms":
		a, err := awskms.NewAEADWithContext(ctx, rest)
		if err != nil {
			return nil, fmt.Errorf("kms: AWS KMS key: %w", err)
		}
		return secrets.NewRemoteCipherWithContext(id, classified{a, known(opts, rest), awsErr}), nil
	case "gcp-kms":
		a, err := gcpkms.GetAEADWithContext(ctx, keyURI)
		if err != nil {
			return nil, fmt.Errorf("kms: Google Cloud KMS key: %w", err)
		}
		return secrets.NewRemoteCipherWithContext(id, classified{a, known(opts, rest), gcpErr}), nil
	case "hcvault":
		u, err := url.Parse(keyURI)
		if err != nil {
			return nil, fmt.Errorf("kms: malformed Vault key URI")
		}
		client := opts.VaultClient
		if client == nil {
			if client, err = vaultFromEnv(u); err != nil {
				return nil, err
			}
		}
		a, err := hcvault.NewAEAD(u.EscapedPath(), client.Logical())
		if err != nil {
			return nil, fmt.Errorf("kms: Vault key: %w", err)
		}
		return secrets.NewRemoteCipherWithContext(id, withContext{a, client, known(opts, u.Host+u.EscapedPath())}), nil
	}
	return nil, fmt.Errorf("%w: scheme %q (want aws-kms, gcp-kms or hcvault)", ErrUnsupported, scheme)
}

// known is what a KMS's messages may name that is no secret and that
// an operator needs (see scrub): the key's name (an ARN, a Google Cloud
// KMS resource name, a Vault host and path: never a URI's password or
// query) and Options.ID.
func known(opts *Options, name string) []string {
	if opts.ID != "" {
		return []string{name, opts.ID}
	}
	return []string{name}
}

// vaultFromEnv configures a Vault client from the environment; the
// server is the URI's host unless VAULT_ADDR is set.
func vaultFromEnv(u *url.URL) (*vault.Client, error) {
	cfg := vault.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("kms: Vault configuration: %w", cfg.Error)
	}
	if os.Getenv("VAULT_ADDR") == "" {
		cfg.Address = "https://" + u.Host
	}
	client, err := vault.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("kms: Vault client: %w", err)
	}
	return client, nil
}

// withContext bounds the calls of an AEAD that takes no context by the
// caller's ctx: a call returns ctx's error once ctx ends, and the call
// itself finishes in the background. Its arguments are copied, since the
// caller may reuse them once it has returned.
type withContext struct {
	a      tink.AEAD
	client *vault.Client // for its credentials, kept out of errors
	known  []string      // names kept in errors (see scrub)
}

func (w withContext) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	out, err := bounded(ctx, w.a.Encrypt, plaintext, associatedData)
	return out, w.vaultErr(ctx, err, plaintext, associatedData)
}

func (w withContext) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := bounded(ctx, w.a.Decrypt, ciphertext, associatedData)
	_, payload, _ := bytes.Cut(bytes.TrimPrefix(ciphertext, []byte("vault:")), []byte(":"))
	return out, w.vaultErr(ctx, err, ciphertext, payload, associatedData)
}

// vaultErr makes err a *kmsError, with the request's fields and the
// client's credentials (its token, the address's user:password and
// password, raw and escaped) blotted out of Vault's messages in the forms
// a request holds them (see scrub), whole or in part: a gateway may answer
// in Vault's format and echo the request or its headers, and such an
// answer is no refusal. ctx's own error stays as it is.
func (w withContext) vaultErr(ctx context.Context, err error, request ...[]byte) error {
	if w.client != nil {
		if t := w.client.Token(); t != "" {
			request = append(request, []byte(t))
		}
		if u, err := url.Parse(w.client.Address()); err == nil && u.User != nil {
			if pass, ok := u.User.Password(); ok && pass != "" {
				request = append(request, []byte(u.User.Username()+":"+pass), []byte(pass),
					[]byte(url.QueryEscape(pass)), []byte(url.PathEscape(pass)))
			}
		}
	}
	return vaultErr(ctx, err, w.known, request...)
}

// vaultErr makes err a *kmsError, with request's fields blotted out of
// its text (see scrub); ctx's own error stays as it is.
func vaultErr(ctx context.Context, err error, known []string, request ...[]byte) error {
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	var re *vault.ResponseError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("Vault answered %d", re.StatusCode)
		echoed := false
		if !re.RawError && len(re.Errors) > 0 {
			var m string
			m, echoed = scrub(strings.Join(re.Errors, "; "), known, request...)
			msg += ": " + m
		}
		// Only Vault's own answer of 400 refuses: a proxy's page (not
		// Vault's error list) is no refusal, whatever its status, nor is
		// an answer that echoes the request or a credential (Vault's
		// refusals do not).
		return &kmsError{msg: msg, unavailable: re.StatusCode != http.StatusBadRequest || re.RawError || len(re.Errors) == 0 || echoed}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		m, _ := scrub(ue.Err.Error(), known, request...)
		return &kmsError{msg: "cannot reach Vault: " + m, unavailable: true, cause: ue.Err}
	}
	m, _ := scrub(err.Error(), known, request...)
	return &kmsError{msg: "Vault: " + m, unavailable: true}
}

func bounded(ctx context.Context, f func(in, ad []byte) ([]byte, error), in, ad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() == nil { // never canceled: no goroutine needed
		return f(in, ad)
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1) // buffered: a late result is dropped, not blocked on
	in, ad = bytes.Clone(in), bytes.Clone(ad)
	go func() {
		out, err := f(in, ad)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
