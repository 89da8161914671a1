package kms_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/kms"
	vault "github.com/hashicorp/vault/api"
)

// TestVaultAnswers: a Transit key behind a fake Vault whose decrypt
// answers as a sealed server, a proxy's error page that echoes the
// request's headers, a refused token, and a refusal to decrypt. Only the
// refusal is ErrDecrypt (an outage is neither tampering nor a wrong
// master key: a KMS trial had a sealed OpenBao reported as "not the key
// this store knows", exit 5), no error holds the token or the
// password of the address, and none shows a proxy's page (a body that is
// not Vault's error list). A 400 in Vault's format that echoes only the
// token or the password is no refusal either, and the password goes
// whole (a review saw `***!Xy`: a long run within it went first).
func TestVaultAnswers(t *testing.T) {
	const token, password = "s.fake-vault-token-0001", "correct-horse-battery-staple!Xy"
	var mode atomic.Value
	mode.Store("ok")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/transit/encrypt/k1"):
			fmt.Fprint(w, `{"data":{"ciphertext":"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`)
			return
		case !strings.HasSuffix(r.URL.Path, "/transit/decrypt/k1"):
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch mode.Load() {
		case "sealed":
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"errors":["Vault is sealed"]}`)
		case "proxy":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html>bad gateway; your request: %v</html>", r.Header)
		case "denied":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
		case "refused":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":["cipher: message authentication failed"]}`)
		case "proxyjson": // a gateway answering in Vault's format, echoing the request
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, `{"errors":[%q]}`, fmt.Sprint("upstream refused headers ", r.Header))
		case "empty400":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{}`)
		case "policy":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":["ciphertext or signature version is disallowed by policy (too old)"]}`)
		case "token400": // a gateway's 400 in Vault's format, echoing the token
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"errors":[%q]}`, "request refused for token "+r.Header.Get("X-Vault-Token"))
		case "password400": // ... echoing the password of the address
			_, pass, _ := r.BasicAuth()
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"errors":[%q]}`, "request refused for password "+pass+" and "+url.QueryEscape(pass))
		case "proxy400":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "<html>400 Request Header Or Cookie Too Large</html>")
		default:
			fmt.Fprint(w, `{"data":{"plaintext":"c2VjcmV0cy1tYXN0ZXIta2V5LWNoZWNr"}}`)
		}
	}))
	defer srv.Close()
	cfg := vault.DefaultConfig()
	cfg.Address = strings.Replace(srv.URL, "http://", "http://admin:"+password+"@", 1)
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(token)
	ctx := context.Background()
	c, err := kms.NewCipher(ctx, "hcvault://vault.internal/transit/keys/k1", &kms.Options{VaultClient: client, ID: "transit-k1"})
	if err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte("admin:" + password))
	clean := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		noSecrets(t, what, err, token, password, basic, "URL:", "!Xy", "%21Xy", "fake-vault", "battery")
	}
	for _, m := range []string{"sealed", "proxy", "denied", "proxy400", "proxyjson", "empty400", "token400", "password400"} {
		mode.Store(m)
		_, err := c.Decrypt(ctx, []byte("vault:v1:AAAA"), []byte("ad"))
		clean(m, err)
		if errors.Is(err, secrets.ErrDecrypt) {
			t.Errorf("%s: taken for a refusal to decrypt: %v", m, err)
		}
		// A body that is not Vault's error list (a proxy's page) is
		// never shown: only its status.
		if msg := err.Error(); strings.Contains(msg, "html") || strings.Contains(msg, "gateway") || strings.Contains(msg, "Too Large") {
			t.Errorf("%s: the error shows a proxy's page: %v", m, err)
		}
	}
	mode.Store("refused")
	_, err = c.Decrypt(ctx, []byte("vault:v1:AAAA"), []byte("ad"))
	clean("refused", err)
	if !errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("a refusal to decrypt: %v", err)
	}

	// Unreachable (nothing listens at the address any more): not a
	// refusal either, and the address's password not shown; encrypting
	// fails alike.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	gcfg := vault.DefaultConfig()
	gcfg.Address = strings.Replace(gone.URL, "http://", "http://admin:"+password+"@", 1)
	gcfg.MaxRetries = 0
	gclient, err := vault.NewClient(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	gclient.SetToken(token)
	gc, err := kms.NewCipher(ctx, "hcvault://vault.internal/transit/keys/k1", &kms.Options{VaultClient: gclient, ID: "transit-k1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gc.Decrypt(ctx, []byte("vault:v1:AAAA"), []byte("ad"))
	clean("unreachable decrypt", err)
	if errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("unreachable: taken for a refusal to decrypt: %v", err)
	}
	_, err = gc.Encrypt(ctx, []byte("plaintext"), []byte("ad"))
	clean("unreachable encrypt", err)

	// A Manager starting while Vault is sealed: a write is not refused as
	// a wrong master key, a job's read not as tampering.
	store := secrets.NewMemoryStore()
	mode.Store("ok")
	first, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Set(ctx, "ws", "A", []byte("value-1"), nil); err != nil {
		t.Fatal(err)
	}
	mode.Store("sealed")
	m, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Set(ctx, "ws-new", "B", []byte("value-2"), nil) // a new workspace: the master key is checked
	clean("Set while sealed", err)
	if errors.Is(err, secrets.ErrMasterKey) || errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("Set while sealed: %v, taken for a wrong master key or tampering", err)
	}
	env, err := m.EnvFor(ctx, "ws")
	clean("EnvFor while sealed", err)
	if env != nil || errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("EnvFor while sealed: %d variables, %v, taken for tampering", len(env), err)
	}
	// A refusal of the check value by policy is a wrong key for this
	// store, and says why.
	mode.Store("policy")
	_, err = m.Set(ctx, "ws-new", "B", []byte("value-2"), nil)
	clean("Set refused by policy", err)
	if !errors.Is(err, secrets.ErrMasterKey) || !strings.Contains(err.Error(), "disallowed by policy") {
		t.Errorf("Set refused by policy: %v, want ErrMasterKey with Vault's reason", err)
	}
}

// A gateway that echoes the address's password only as a query string
// writes it (a space as '+', not the "%20" of a path): that form is
// blotted out too, and the answer is no refusal. The password's runs are
// short, so only the query form (not the long-run rule) removes it.
func TestVaultPasswordQueryForm(t *testing.T) {
	const password = "open sesame 42 x"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":[%q]}`, "request refused for password "+url.QueryEscape(pass))
	}))
	defer srv.Close()
	cfg := vault.DefaultConfig()
	cfg.Address = strings.Replace(srv.URL, "http://", "http://"+url.UserPassword("admin", password).String()+"@", 1)
	cfg.MaxRetries = 0
	client, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken("s.fake-vault-token-0002")
	ctx := context.Background()
	c, err := kms.NewCipher(ctx, "hcvault://vault.internal/transit/keys/k1", &kms.Options{VaultClient: client, ID: "transit-k1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, []byte("vault:v1:AAAA"), []byte("ad"))
	if err == nil || !strings.Contains(err.Error(), "request refused for password ***") {
		t.Fatalf("want the gateway's answer with the password blotted out: %v", err)
	}
	if errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("an answer echoing the password taken for a refusal to decrypt: %v", err)
	}
	if q := url.QueryEscape(password); q == url.PathEscape(password) {
		t.Fatalf("the password escapes alike in a query and a path: %q", q)
	}
	noSecrets(t, "password in a query", err, "s.fake-vault-token-0002", "open+", "sesame", "42+x")
}
