package kms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestGCPErrorClasses: Google Cloud KMS's answers (gRPC statuses, as the
// client returns them: plain, as gax's APIError, wrapped) are a refusal
// to decrypt only for InvalidArgument (a bad ciphertext),
// FailedPrecondition (a disabled key version) and NotFound; any other
// status, the network and Tink's own checks are not. The status's
// message keeps its short reason and loses the request's fields, echoed.
func TestGCPErrorClasses(t *testing.T) {
	ctx := context.Background()
	dataKey := []byte("0123456789abcdef0123456789abcdef")
	ad := []byte("\x00\x00\x00\x05adata")
	echo := fmt.Sprintf("reason; request {plaintext: %q, additional_authenticated_data: %q} authorization: Bearer ya29.tokentokentoken",
		base64.URLEncoding.EncodeToString(dataKey), base64.URLEncoding.EncodeToString(ad))
	for _, tc := range []struct {
		code    codes.Code
		refusal bool
	}{
		{codes.InvalidArgument, true}, {codes.FailedPrecondition, true}, {codes.NotFound, true},
		{codes.Unavailable, false}, {codes.ResourceExhausted, false}, {codes.PermissionDenied, false},
		{codes.Unauthenticated, false}, {codes.Internal, false}, {codes.DeadlineExceeded, false}, {codes.Unknown, false},
	} {
		st := status.Error(tc.code, echo)
		ae, ok := apierror.FromError(st)
		if !ok {
			t.Fatal("apierror.FromError")
		}
		for _, in := range []error{st, ae, fmt.Errorf("rpc: %w", ae)} {
			err := gcpErr(ctx, in, nil, dataKey, ad)
			var ke *kmsError
			if !errors.As(err, &ke) || ke.Unavailable() == tc.refusal {
				t.Errorf("%s (%T): %v, want a refusal: %v", tc.code, in, err, tc.refusal)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.code.String()) || !strings.Contains(msg, "reason") {
				t.Errorf("%s: %q, want the code and the reason", tc.code, msg)
			}
			for _, s := range []string{base64.URLEncoding.EncodeToString(dataKey), base64.URLEncoding.EncodeToString(ad), "ya29"} {
				if strings.Contains(msg, s) {
					t.Errorf("%s: %q shows %q", tc.code, msg, s)
				}
			}
		}
	}
	for _, in := range []error{
		errors.New(`KMS response corrupted in transit for "k": the checksum did not match`),
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
	} {
		var ke *kmsError
		if err := gcpErr(ctx, in, nil); !errors.As(err, &ke) || !ke.Unavailable() {
			t.Errorf("%v: %v, taken for a refusal", in, err)
		}
	}
	var ne net.Error
	if err := gcpErr(ctx, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}, nil); !errors.As(err, &ne) {
		t.Errorf("a network error: %v, not a net.Error", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := gcpErr(cctx, fmt.Errorf("rpc: %w", context.Canceled), nil); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
}

// TestScrub: the request's fields go in every form a body or its echo
// holds them, long base64-looking runs go, and everything from a
// credential header's name; short reasons stay, and an echo is told.
func TestScrub(t *testing.T) {
	key := []byte("\xfb\xff\xfe0123456789abcdef0123456789abc")
	std := base64.StdEncoding.EncodeToString(key)
	for _, form := range []string{
		std, strings.ReplaceAll(std, "/", `\/`), base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key), fmt.Sprintf("%x", key),
	} {
		msg, echoed := scrub("encryption key not found; echo "+form+" end", nil, key)
		if strings.Contains(msg, form) || !echoed || msg != "encryption key not found; echo *** end" {
			t.Errorf("%q: %q, echoed %v", form, msg, echoed)
		}
	}
	msg, echoed := scrub("permission denied: x-amz-security-token: abc, X-Vault-Token: def", nil)
	if msg != "permission denied: [credentials cut]" || echoed {
		t.Errorf("headers: %q, echoed %v", msg, echoed)
	}
	msg, echoed = scrub("unrelated QUJDREVGR0hJSktMTU5PUFFSU1RVVldY run", nil, []byte("other"))
	if msg != "unrelated *** run" || echoed {
		t.Errorf("a long run: %q, echoed %v", msg, echoed)
	}
}

// TestScrubParts: a part of a request's field of 8 characters or more (a
// gateway cutting its echo short: a prefix, a middle, a suffix, in any
// form) goes and counts as an echo; a credential goes whole, even where a
// long run within it would be blotted out first; the names an operator
// needs stay (ARNs, key IDs and aliases, Google's resource names and
// documentation links, the cipher's own key URI or ID), as do prose
// naming a credential header, unless they hold a part of the request;
// from a header's name followed by ':' or '=' on, all goes.
func TestScrubParts(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	std := base64.StdEncoding.EncodeToString(key) // MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
	const (
		arn      = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		gcpKey   = "projects/my-project-123/locations/europe-west1/keyRings/production-ring/cryptoKeys/secrets-master-key-production-eu"
		password = "correct-horse-battery-staple!Xy"
	)
	bin := []byte("\xfb\xff\xfe\x10\x9a\x83\xc4\x05\xe1\x7f\x22\x91\xaa\x3c\xd0\x18\x6b\xf2\x49\x00\xbe\x71\x2d\x95\xc8\x0e\x5a\xe3\x37\xa4\x8c\x61") // random bytes, as a data key's
	checkAD := []byte("\x00\x00\x00\x25dataspace.secrets/v1/master-key-check\x00\x00\x00\x55aws-kms://" + arn)
	for _, tc := range []struct {
		msg     string
		known   []string
		request [][]byte
		want    string
		echoed  bool
	}{
		// Truncated or split echoes of the data key.
		{`upstream error: {"plaintext":"` + std[:22], nil, [][]byte{key}, `upstream error: {"plaintext":"***`, true},
		{"echo " + std[8:24] + " end", nil, [][]byte{key}, "echo *** end", true},
		{"echo " + std[32:] + " end", nil, [][]byte{key}, "echo *** end", true},
		{"plaintext=" + std[:12], nil, [][]byte{key}, "plaintext=***", true},
		{"hex 3031323334353637383961", nil, [][]byte{key}, "hex ***", true},
		{"url " + base64.RawURLEncoding.EncodeToString(key)[4:20] + ", and", nil, [][]byte{key}, "url ***, and", true},
		// A credential, whole or in part.
		{"upstream refused admin:" + password, nil, [][]byte{[]byte(password)}, "upstream refused admin:***", true},
		{"upstream refused " + password[:18], nil, [][]byte{[]byte(password)}, "upstream refused ***", true},
		// Short reasons and words in no field stay.
		{"cipher: message authentication failed", nil, [][]byte{key}, "cipher: message authentication failed", false},
		// Names an operator needs stay.
		{"User: arn:aws:sts::123456789012:assumed-role/ci-deploy-role/session is not authorized to perform: kms:Decrypt on resource: " + arn,
			nil, [][]byte{bin}, "", false},
		{"User: arn:aws:iam::123456789012:user/ci is not authorized to perform: kms:Decrypt on resource: " + arn + " because no identity-based policy allows the kms:Decrypt action",
			[]string{arn}, [][]byte{bin, checkAD}, "", false},
		{"Alias arn:aws:kms:us-east-1:123456789012:alias/production-secrets-master-key is not found.", nil, [][]byte{bin}, "", false},
		{"key/mrk-1234abcd12ab34cd56ef1234567890ab is pending deletion", nil, [][]byte{bin}, "", false},
		{"Alias alias/platform-production-master-key is not found", nil, [][]byte{bin}, "", false}, // a bare alias, not in known
		{"Permission 'cloudkms.cryptoKeyVersions.useToDecrypt' denied on resource '" + gcpKey + "' (or it may not exist).", nil, [][]byte{bin}, "", false},
		{"The request cannot be fulfilled. Resource " + gcpKey + "/cryptoKeyVersions/3 is not in state ENABLED. Current state is DESTROYED.", nil, [][]byte{bin}, "", false},
		{"crypto key secrets-master-key-production-eu is disabled", []string{gcpKey}, [][]byte{bin}, "", false},
		{"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
			nil, [][]byte{bin}, "", false},
		{"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.", nil, [][]byte{bin}, "", false},
		// ... unless they are not those names, or hold a part of the request.
		{"crypto key secrets-master-key-production-eu is disabled", nil, [][]byte{bin}, "crypto key *** is disabled", false},
		{"alias/" + std[:20] + " is not found", []string{"alias/" + std[:20]}, [][]byte{key}, "alias/*** is not found", true},
		// Headers, as Go, JSON and AWS's messages write them.
		{"bad request; headers map[Authorization:[AWS4-HMAC-SHA256 Credential=AKIAFAKE] Cookie:[s=1]]", nil, nil, "bad request; headers map[[credentials cut]", false},
		{`bad request {"X-Vault-Token": "hvs.abc"}`, nil, nil, `bad request {"[credentials cut]`, false},
		{"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 Credential=AKIAFAKE", nil, nil,
			"Authorization header requires 'Signature' parameter. [credentials cut]", false},
		{"denied; cookie = session=abc", nil, nil, "denied; [credentials cut]", false},
		{"denied; X-Goog-Api-Key: AIzaShort", nil, nil, "denied; [credentials cut]", false}, // too short for longRun
	} {
		want := tc.want
		if want == "" {
			want = tc.msg
		}
		msg, echoed := scrub(tc.msg, tc.known, tc.request...)
		if msg != want || echoed != tc.echoed {
			t.Errorf("%q:\n got %q, echoed %v\nwant %q, echoed %v", tc.msg, msg, echoed, want, tc.echoed)
		}
	}
}
