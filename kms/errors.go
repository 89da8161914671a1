package kms

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/tink-crypto/tink-go/v2/tink"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A kmsError is what a call to a KMS fails with: what the KMS answered
// (its status, its error code, its own short reasons) with the request's
// fields and credentials blotted out (see scrub), never the request's URL
// (which may hold a password) nor a body the KMS did not write as its
// error (a proxy's page may echo the token). Unavailable reports that it
// is no refusal to decrypt (see secrets.RemoteCipher.Decrypt): only the
// answers that mean the KMS refused this ciphertext or this key are
// refusals (Vault's own 400; AWS KMS's InvalidCiphertextException,
// IncorrectKeyException, InvalidKeyUsageException, KMSInvalidStateException,
// DisabledException and NotFoundException; Google Cloud KMS's
// InvalidArgument, FailedPrecondition and NotFound); an outage,
// throttling, a sealed Vault, refused credentials or access, an internal
// error or a malformed answer are not, so that none is taken for tampering
// or for a wrong master key.
type kmsError struct {
	msg         string
	unavailable bool
	cause       error // the transport's error, for errors.As; nil for an answer
}

func (e *kmsError) Error() string     { return e.msg }
func (e *kmsError) Unwrap() error     { return e.cause }
func (e *kmsError) Unavailable() bool { return e.unavailable }

// longRun is a run of text that may be key material or a credential: a
// long run of base64, base64url, hex or percent-escaped characters (a
// JSON echo may write '/' as `\/`). Vault's, AWS's and Google's short
// reasons ("encryption key not found", "permission denied") are words.
var longRun = regexp.MustCompile(`[A-Za-z0-9+/=_%\\-]{24,}`)

// credentialHeader starts the part of a message, to its end, that a
// server echoing the request's headers fills with credentials.
var credentialHeader = regexp.MustCompile(`(?i)(authorization|x-amz-security-token|x-vault-token|x-goog-api-key|cookie)`)

// scrub returns msg with the request's fields blotted out, in each form a
// KMS request's body or an echo of it holds them (raw, base64 padded or
// not, standard or URL-safe, JSON-escaped, hex), then every long run of
// base64-looking text (longRun), and everything from the name of a
// credential header on. It reports whether a field of 8 characters or
// more was found: the answer echoes the request.
func scrub(msg string, request ...[]byte) (string, bool) {
	echoed := false
	for _, f := range request {
		if len(f) == 0 {
			continue
		}
		std := base64.StdEncoding.EncodeToString(f)
		for _, s := range []string{
			string(f), std, strings.ReplaceAll(std, "/", `\/`),
			base64.RawStdEncoding.EncodeToString(f), base64.URLEncoding.EncodeToString(f),
			base64.RawURLEncoding.EncodeToString(f), hex.EncodeToString(f),
		} {
			// A form of under 4 bytes is not blotted out: its every
			// occurrence would mark where it is.
			if len(s) >= 4 && strings.Contains(msg, s) {
				msg = strings.ReplaceAll(msg, s, "***")
				echoed = echoed || len(s) >= 8
			}
		}
	}
	msg = longRun.ReplaceAllString(msg, "***")
	if loc := credentialHeader.FindStringIndex(msg); loc != nil {
		msg = msg[:loc[0]] + "[credentials cut]"
	}
	return msg, echoed
}

// classified is an AEAD of a cloud KMS whose errors are made *kmsError by
// classify, which is given the request's fields to blot out.
type classified struct {
	a        tink.AEADWithContext
	classify func(ctx context.Context, err error, request ...[]byte) error
}

func (c classified) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	out, err := c.a.EncryptWithContext(ctx, plaintext, associatedData)
	return out, c.classify(ctx, err, plaintext, associatedData)
}

func (c classified) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := c.a.DecryptWithContext(ctx, ciphertext, associatedData)
	return out, c.classify(ctx, err, ciphertext, associatedData)
}

// awsRefusals are the AWS KMS error codes that refuse this ciphertext or
// this key (disabled, pending deletion, not found, not for encryption, as
// Vault's refusal of a deleted key or of a version under its
// min_decryption_version).
var awsRefusals = map[string]bool{
	"InvalidCiphertextException": true,
	"IncorrectKeyException":      true,
	"InvalidKeyUsageException":   true,
	"KMSInvalidStateException":   true,
	"DisabledException":          true,
	"NotFoundException":          true,
}

// awsCode is what an AWS error code looks like ("ThrottlingException"):
// another is not shown.
var awsCode = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{0,63}$`)

// awsErr makes err, from Tink's AWS KMS AEAD (the SDK's own error), a
// *kmsError; ctx's own error stays as it is.
func awsErr(ctx context.Context, err error, request ...[]byte) error {
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	var api interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &api) {
		code := api.ErrorCode()
		if !awsCode.MatchString(code) {
			code = "an unrecognized error code"
		}
		msg := "AWS KMS answered " + code
		var st interface{ HTTPStatusCode() int }
		if errors.As(err, &st) {
			msg = fmt.Sprintf("AWS KMS answered %d %s", st.HTTPStatusCode(), code)
		}
		if m, _ := scrub(api.ErrorMessage(), request...); m != "" {
			msg += ": " + m
		}
		return &kmsError{msg: msg, unavailable: !awsRefusals[api.ErrorCode()]}
	}
	return transportErr("AWS KMS", err, request...)
}

// gcpErr makes err, from Tink's Google Cloud KMS AEAD (a gRPC status), a
// *kmsError; ctx's own error stays as it is. InvalidArgument (a bad
// ciphertext), FailedPrecondition (a disabled or destroyed key version)
// and NotFound are refusals.
func gcpErr(ctx context.Context, err error, request ...[]byte) error {
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if s, ok := status.FromError(err); ok {
		msg := "Google Cloud KMS answered " + s.Code().String()
		if m, _ := scrub(s.Message(), request...); m != "" {
			msg += ": " + m
		}
		refused := s.Code() == codes.InvalidArgument || s.Code() == codes.FailedPrecondition || s.Code() == codes.NotFound
		return &kmsError{msg: msg, unavailable: !refused}
	}
	return transportErr("Google Cloud KMS", err, request...)
}

// transportErr is a *kmsError for an error that is no answer of the KMS:
// the network, credentials, a malformed answer. None is a refusal.
func transportErr(service string, err error, request ...[]byte) error {
	m, _ := scrub(err.Error(), request...)
	var ne net.Error
	if errors.As(err, &ne) {
		return &kmsError{msg: "cannot reach " + service + ": " + m, unavailable: true, cause: ne}
	}
	return &kmsError{msg: service + ": " + m, unavailable: true}
}
