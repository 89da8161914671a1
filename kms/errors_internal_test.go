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
			err := gcpErr(ctx, in, dataKey, ad)
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
		if err := gcpErr(ctx, in); !errors.As(err, &ke) || !ke.Unavailable() {
			t.Errorf("%v: %v, taken for a refusal", in, err)
		}
	}
	var ne net.Error
	if err := gcpErr(ctx, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused")}); !errors.As(err, &ne) {
		t.Errorf("a network error: %v, not a net.Error", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := gcpErr(cctx, fmt.Errorf("rpc: %w", context.Canceled)); err == nil || !errors.Is(err, context.Canceled) {
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
		msg, echoed := scrub("encryption key not found; echo "+form+" end", key)
		if strings.Contains(msg, form) || !echoed || msg != "encryption key not found; echo *** end" {
			t.Errorf("%q: %q, echoed %v", form, msg, echoed)
		}
	}
	msg, echoed := scrub("permission denied: x-amz-security-token: abc, X-Vault-Token: def")
	if msg != "permission denied: [credentials cut]" || echoed {
		t.Errorf("headers: %q, echoed %v", msg, echoed)
	}
	msg, echoed = scrub("unrelated QUJDREVGR0hJSktMTU5PUFFSU1RVVldY run", []byte("other"))
	if msg != "unrelated *** run" || echoed {
		t.Errorf("a long run: %q, echoed %v", msg, echoed)
	}
}
