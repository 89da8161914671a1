package kms_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/kms"
)

// fakeAWSKMS is an AWS KMS endpoint (the JSON protocol the SDK speaks):
// Encrypt keeps the plaintext and its encryption context under a random
// ciphertext, Decrypt gives it back; an operation told to fail answers
// with a status and an error code, its message echoing the request's body
// and headers (the signature, the session token) as a gateway's may.
type fakeAWSKMS struct {
	*httptest.Server
	mu     sync.Mutex
	keys   map[string][2]string // ciphertext → plaintext, context
	fail   map[string][2]any    // operation → status, code
	echoed []string             // the string fields of the bodies echoed
}

func newFakeAWSKMS(t *testing.T) *fakeAWSKMS {
	f := &fakeAWSKMS{keys: map[string][2]string{}, fail: map[string][2]any{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAWSKMS) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Plaintext, CiphertextBlob []byte
		EncryptionContext         map[string]string
	}
	_ = json.Unmarshal(body, &in)
	var adCtx string
	for _, v := range in.EncryptionContext {
		adCtx = v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if fl, ok := f.fail[op]; ok {
		for _, s := range []string{base64.StdEncoding.EncodeToString(in.Plaintext), base64.StdEncoding.EncodeToString(in.CiphertextBlob), adCtx} {
			if len(s) > 4 {
				f.echoed = append(f.echoed, s)
			}
		}
		w.WriteHeader(fl[0].(int))
		msg := fmt.Sprintf("upstream error for %s, headers %v", body, r.Header)
		json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.kms#" + fl[1].(string), "message": msg})
		return
	}
	switch op {
	case "Encrypt":
		ct := make([]byte, 32)
		rand.Read(ct)
		f.keys[string(ct)] = [2]string{string(in.Plaintext), adCtx}
		json.NewEncoder(w).Encode(map[string]any{"CiphertextBlob": ct, "KeyId": "k"})
	case "Decrypt":
		k, ok := f.keys[string(in.CiphertextBlob)]
		if !ok || k[1] != adCtx {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidCiphertextException", "message": "bad ciphertext"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Plaintext": []byte(k[0]), "KeyId": "k"})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAWSKMS) failWith(op string, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if status == 0 {
		delete(f.fail, op)
	} else {
		f.fail[op] = [2]any{status, code}
	}
}

// TestAWSKMSAnswers: an AWS KMS master key (Tink's AEAD over the AWS SDK,
// as NewCipher builds it from the environment) against a fake endpoint.
// Only the answers that refuse the ciphertext or the key are a refusal
// to decrypt (ErrDecrypt; at a Manager's first write, a wrong master key);
// throttling, access denied, an internal error or 503 are not (a trial
// had them reported as "refused to decrypt" and "not the key this store
// knows"). No error shows the session token, the request's signature, or
// a field of the request (the data key, the ciphertext, the context),
// which the endpoint echoes.
func TestAWSKMSAnswers(t *testing.T) {
	const sessionToken = "FwoGZXIvYXdzEFAKEsessiontokenTESTONLY0123456789abcdefABCDEF"
	f := newFakeAWSKMS(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_KMS": f.URL, "AWS_MAX_ATTEMPTS": "1",
		"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001", "AWS_SECRET_ACCESS_KEY": "fake-secret-access-key-0001",
		"AWS_SESSION_TOKEN": sessionToken, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "", "AWS_PROFILE": "", "AWS_ENDPOINT_URL": "",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	c, err := kms.NewCipher(ctx, "aws-kms://arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := secrets.NewMemoryStore()
	m, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "ws", "A", []byte("value-1"), nil); err != nil {
		t.Fatal(err)
	}
	clean := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		f.mu.Lock()
		echoed := append([]string(nil), f.echoed...)
		f.mu.Unlock()
		noSecrets(t, what, err, sessionToken, append(echoed, "Signature=", "AKIAFAKEFAKEFAKE0001")...)
	}
	for _, tc := range []struct {
		status  int
		code    string
		refusal bool
	}{
		{400, "ThrottlingException", false},
		{400, "AccessDeniedException", false},
		{500, "KMSInternalException", false},
		{503, "ServiceUnavailableException", false},
		{400, "UnrecognizedClientException", false},
		{400, "InvalidCiphertextException", true},
		{400, "IncorrectKeyException", true},
		{400, "KMSInvalidStateException", true},
		{400, "DisabledException", true},
		{400, "NotFoundException", true},
	} {
		f.failWith("Decrypt", tc.status, tc.code)
		fresh, err := secrets.New(store, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = fresh.EnvFor(ctx, "ws")
		clean("EnvFor, "+tc.code, err)
		if errors.Is(err, secrets.ErrDecrypt) != tc.refusal {
			t.Errorf("EnvFor, AWS KMS answering %d %s: %v (want a refusal to decrypt: %v)", tc.status, tc.code, err, tc.refusal)
		}
		if !strings.Contains(err.Error(), tc.code) {
			t.Errorf("EnvFor, %s: the error does not name the code: %v", tc.code, err)
		}
		_, err = fresh.Set(ctx, "ws-new", "B", []byte("value-2"), nil) // the master key is checked
		clean("first Set, "+tc.code, err)
		var mk *secrets.MasterKeyError
		if wrong := errors.As(err, &mk) && mk.Wrong; wrong != tc.refusal {
			t.Errorf("first Set, AWS KMS answering %d %s: %v (want a wrong master key: %v)", tc.status, tc.code, err, tc.refusal)
		}
	}
	f.failWith("Decrypt", 0, "")

	// Wrapping a new workspace's data key: the endpoint echoes it.
	f.failWith("Encrypt", http.StatusServiceUnavailable, "ServiceUnavailableException")
	_, err = m.Set(ctx, "ws-other", "C", []byte("value-3"), nil)
	clean("Set, Encrypt failing", err)
	if errors.Is(err, secrets.ErrMasterKey) {
		t.Errorf("Set, Encrypt failing: %v, taken for a wrong master key", err)
	}
	f.failWith("Encrypt", 0, "")

	// Unreachable: not a refusal.
	f.Close()
	fresh, _ := secrets.New(store, c, nil)
	_, err = fresh.EnvFor(ctx, "ws")
	clean("EnvFor, unreachable", err)
	if errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("EnvFor, AWS KMS unreachable: %v, taken for tampering", err)
	}
}
