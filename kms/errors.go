package kms

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
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

// echoGram is the shortest part of a request's field that is blotted out
// where it stands alone (a truncated or split echo), and counts as an
// echo; echoRun is a run of longRun's characters that may hold one.
const echoGram = 8

var echoRun = regexp.MustCompile(`[A-Za-z0-9+/=_%\\-]{8,}`)

// resourceName is a name an operator needs in a KMS's message, exempt
// from longRun: an ARN (a principal, a key), a UUID, an AWS key ID or
// alias, a Google Cloud KMS resource name, an https URL without
// credentials or query (Google's messages point to documentation).
var resourceName = regexp.MustCompile(strings.Join([]string{
	`arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:[0-9]*:[A-Za-z0-9/_+=.,@:-]+`,
	`\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b`,
	`\bkey/(mrk-[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b`,
	`\balias/[A-Za-z0-9/_-]+`,
	`\bprojects/[A-Za-z0-9_.-]+/locations/[A-Za-z0-9_.-]+(/keyRings/[A-Za-z0-9_-]+(/cryptoKeys/[A-Za-z0-9_-]+(/cryptoKeyVersions/[0-9]+)?)?)?`,
	`https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(/[A-Za-z0-9/_.~-]*)?`,
}, "|"))

// credentialHeader starts the part of a message, to its end, that a
// server echoing the request's headers fills with credentials: a
// header's name followed by ':' or '=' (as Go, JSON and AWS's signature
// messages write them), not the word in prose ("login cookie",
// "Authorization header requires").
var credentialHeader = regexp.MustCompile(`(?i)\b(authorization|x-amz-security-token|x-vault-token|x-goog-api-key|cookie)["']?\s*[:=]`)

// scrub returns msg with the request's fields blotted out (request: a
// KMS request's fields and the client's credentials), then every long
// run of base64-looking text (longRun) but the names in known (the key
// URI and ID the cipher was built with) and resourceName's, and
// everything from a credential header on. A field goes in each form a
// KMS request's body or an echo of it holds it (raw, base64 padded or
// not, standard or URL-safe, JSON-escaped, hex), whole, and so does any
// part of one of echoGram characters or more (a gateway may cut an echo
// short), unless that part is also in known. It reports whether a field
// of echoGram characters or more, or such a part, was found: the answer
// echoes the request.
func scrub(msg string, known []string, request ...[]byte) (string, bool) {
	var raw, encoded []string
	for _, f := range request {
		if len(f) == 0 {
			continue
		}
		std := base64.StdEncoding.EncodeToString(f)
		raw = append(raw, string(f))
		encoded = append(encoded, std, strings.ReplaceAll(std, "/", `\/`),
			base64.RawStdEncoding.EncodeToString(f), base64.URLEncoding.EncodeToString(f),
			base64.RawURLEncoding.EncodeToString(f), hex.EncodeToString(f))
	}
	// The longest first: a field within another is blotted out with it.
	forms := append(append([]string(nil), raw...), encoded...)
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	echoed := false
	for _, s := range forms {
		// A form of under 4 bytes is not blotted out: its every
		// occurrence would mark where it is.
		if len(s) >= 4 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "***")
			echoed = echoed || len(s) >= echoGram
		}
	}
	msg, part := cutParts(msg, raw, encoded, known)
	if loc := credentialHeader.FindStringIndex(msg); loc != nil {
		msg = msg[:loc[0]] + "[credentials cut]"
	}
	return cutLongRuns(msg, known), echoed || part
}

// cutParts blots out of msg's echoRuns every part of echoGram characters
// or more of a field, raw (but a part of a string in known: the
// associated data of a master key's check holds its ID) or encoded, and
// reports whether there was one.
func cutParts(msg string, raw, encoded, known []string) (string, bool) {
	grams := map[string]bool{}
	addGrams := func(forms []string, in bool) {
		for _, s := range forms {
			for i := 0; i+echoGram <= len(s); i++ {
				if in {
					grams[s[i:i+echoGram]] = true
				} else {
					delete(grams, s[i:i+echoGram])
				}
			}
		}
	}
	addGrams(raw, true)
	addGrams(known, false)
	addGrams(encoded, true)
	if len(grams) == 0 {
		return msg, false
	}
	var cut []bool
	for _, r := range echoRun.FindAllStringIndex(msg, -1) {
		for i := r[0]; i+echoGram <= r[1]; i++ {
			if grams[msg[i:i+echoGram]] {
				if cut == nil {
					cut = make([]bool, len(msg))
				}
				for j := i; j < i+echoGram; j++ {
					cut[j] = true
				}
			}
		}
	}
	if cut == nil {
		return msg, false
	}
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		switch {
		case !cut[i]:
			b.WriteByte(msg[i])
		case i == 0 || !cut[i-1]:
			b.WriteString("***")
		}
	}
	return b.String(), true
}

// cutLongRuns blots longRuns out of msg, but those within a resourceName
// or a string in known.
func cutLongRuns(msg string, known []string) string {
	keep := resourceName.FindAllStringIndex(msg, -1)
	var b strings.Builder
	last := 0
	for _, r := range longRun.FindAllStringIndex(msg, -1) {
		if kept(msg, r, keep, known) {
			continue
		}
		b.WriteString(msg[last:r[0]])
		b.WriteString("***")
		last = r[1]
	}
	b.WriteString(msg[last:])
	return b.String()
}

func kept(msg string, run []int, keep [][]int, known []string) bool {
	for _, k := range keep {
		if k[0] <= run[0] && run[1] <= k[1] {
			return true
		}
	}
	for _, s := range known {
		if strings.Contains(s, msg[run[0]:run[1]]) {
			return true
		}
	}
	return false
}

// classified is an AEAD of a cloud KMS whose errors are made *kmsError by
// classify, which is given the names to keep (the key's URI and ID) and
// the request's fields to blot out (see scrub).
type classified struct {
	a        tink.AEADWithContext
	known    []string
	classify func(ctx context.Context, err error, known []string, request ...[]byte) error
}

func (c classified) EncryptWithContext(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	out, err := c.a.EncryptWithContext(ctx, plaintext, associatedData)
	return out, c.classify(ctx, err, c.known, plaintext, associatedData)
}

func (c classified) DecryptWithContext(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := c.a.DecryptWithContext(ctx, ciphertext, associatedData)
	return out, c.classify(ctx, err, c.known, ciphertext, associatedData)
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
func awsErr(ctx context.Context, err error, known []string, request ...[]byte) error {
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
		if m, _ := scrub(api.ErrorMessage(), known, request...); m != "" {
			msg += ": " + m
		}
		return &kmsError{msg: msg, unavailable: !awsRefusals[api.ErrorCode()]}
	}
	return transportErr("AWS KMS", err, known, request...)
}

// gcpErr makes err, from Tink's Google Cloud KMS AEAD (a gRPC status), a
// *kmsError; ctx's own error stays as it is. InvalidArgument (a bad
// ciphertext), FailedPrecondition (a disabled or destroyed key version)
// and NotFound are refusals.
func gcpErr(ctx context.Context, err error, known []string, request ...[]byte) error {
	if err == nil || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if s, ok := status.FromError(err); ok {
		msg := "Google Cloud KMS answered " + s.Code().String()
		if m, _ := scrub(s.Message(), known, request...); m != "" {
			msg += ": " + m
		}
		refused := s.Code() == codes.InvalidArgument || s.Code() == codes.FailedPrecondition || s.Code() == codes.NotFound
		return &kmsError{msg: msg, unavailable: !refused}
	}
	return transportErr("Google Cloud KMS", err, known, request...)
}

// transportErr is a *kmsError for an error that is no answer of the KMS:
// the network, credentials, a malformed answer. None is a refusal.
func transportErr(service string, err error, known []string, request ...[]byte) error {
	m, _ := scrub(err.Error(), known, request...)
	var ne net.Error
	if errors.As(err, &ne) {
		return &kmsError{msg: "cannot reach " + service + ": " + m, unavailable: true, cause: ne}
	}
	return &kmsError{msg: service + ": " + m, unavailable: true}
}
