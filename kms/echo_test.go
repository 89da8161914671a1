package kms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// echoProxy is a gateway in front of a real OpenBao: it passes requests
// through, except those whose path holds a pattern it was told to answer
// for, which it answers with status and Vault's error format echoing the
// request's body and headers, as a gateway may. It keeps the string
// fields of every body it echoed.
type echoProxy struct {
	*httptest.Server
	mu     sync.Mutex
	answer map[string]int // path part ("/transit/encrypt/") → status
	echoed []string
}

func newEchoProxy(t *testing.T, target string) *echoProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &echoProxy{answer: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		status := 0
		for part, s := range p.answer {
			if strings.Contains(r.URL.Path, part) {
				status = s
			}
		}
		p.mu.Unlock()
		if status == 0 {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var fields map[string]any
		_ = json.Unmarshal(body, &fields)
		p.mu.Lock()
		for _, v := range fields {
			if s, ok := v.(string); ok && s != "" {
				p.echoed = append(p.echoed, s)
				if _, payload, ok := strings.Cut(strings.TrimPrefix(s, "vault:"), ":"); ok {
					p.echoed = append(p.echoed, payload)
				}
			}
		}
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		msg := fmt.Sprintf("upstream error for request %s (headers %v)", body, r.Header)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
	}))
	t.Cleanup(p.Close)
	return p
}

// set makes the proxy answer requests whose path holds part with status
// (0: pass them through).
func (p *echoProxy) set(part string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.answer, part)
	} else {
		p.answer[part] = status
	}
}

// clean fails t if any form of err, or detail, shows the token or a field
// of a request the proxy echoed.
func (p *echoProxy) clean(t *testing.T, what string, err error, token, detail string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	p.mu.Lock()
	echoed := append([]string(nil), p.echoed...)
	p.mu.Unlock()
	if len(echoed) == 0 {
		t.Fatalf("%s: the proxy echoed nothing", what)
	}
	noSecrets(t, what, err, token, echoed...)
	for _, s := range append(echoed, token) {
		if strings.Contains(detail, s) {
			t.Errorf("%s: the audit event's detail shows a field of the request or the token: %s", what, detail)
		}
	}
}

// TestTransitGatewayEchoesRequest: a gateway in front of a real OpenBao
// answers Transit's encrypt and decrypt with 502 (and decrypt with 400)
// in Vault's error format, echoing the request (a trial saw Rewrap's
// error and its audit event hold the base64 of a workspace's data key).
// No error, printed any way, nor the failed rotate event's detail holds a
// field of the request (plaintext, ciphertext, associated data) or the
// token; a 502 is no refusal to decrypt nor a wrong master key, and
// neither is a 400 that echoes the request (Vault's refusals do not).
func TestTransitGatewayEchoesRequest(t *testing.T) {
	bao := startOpenBao(t)
	proxy := newEchoProxy(t, bao.Addr)
	uri := bao.CreateTransitKey(t, newKeyName())
	c := bao.Cipher(t, uri, "VAULT_ADDR="+proxy.URL, "VAULT_MAX_RETRIES=0")
	ctx := context.Background()
	store := secrets.NewMemoryStore()
	m, err := secrets.New(store, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(ctx, "ws", "A", []byte("value-1"), nil); err != nil {
		t.Fatal(err)
	}

	// Rewrap decrypts each data key, then encrypts it: the gateway echoes
	// the data key's base64.
	proxy.set("/transit/encrypt/", http.StatusBadGateway)
	_, err = m.Rewrap(ctx, &secrets.RewrapOptions{All: true})
	evs, qerr := m.Events(ctx, secrets.EventQuery{Action: secrets.ActionRotate})
	if qerr != nil || len(evs) == 0 {
		t.Fatalf("the rotate events: %d, %v", len(evs), qerr)
	}
	last := evs[len(evs)-1]
	if last.Outcome != secrets.OutcomeFailed {
		t.Fatalf("the Rewrap's event: %+v", last)
	}
	proxy.clean(t, "Rewrap", err, bao.Token, last.Detail)
	if !strings.Contains(err.Error(), "502") {
		t.Errorf("Rewrap: %v, want the gateway's status", err)
	}
	proxy.set("/transit/encrypt/", 0)

	// Reading: a gateway's 502, and a 400 echoing the request, are
	// neither tampering nor a wrong master key.
	for _, status := range []int{http.StatusBadGateway, http.StatusBadRequest} {
		proxy.set("/transit/decrypt/", status)
		fresh, err := secrets.New(store, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		env, err := fresh.EnvFor(ctx, "ws")
		proxy.clean(t, fmt.Sprint("EnvFor, ", status), err, bao.Token, "")
		if env != nil || errors.Is(err, secrets.ErrDecrypt) || errors.Is(err, secrets.ErrMasterKey) {
			t.Errorf("EnvFor through a gateway answering %d: %v, taken for tampering or a wrong master key", status, err)
		}
		_, err = fresh.Set(ctx, "ws-new", "B", []byte("value-2"), nil) // the master key is checked
		proxy.clean(t, fmt.Sprint("first Set, ", status), err, bao.Token, "")
		if errors.Is(err, secrets.ErrDecrypt) || errors.Is(err, secrets.ErrMasterKey) {
			t.Errorf("first Set through a gateway answering %d: %v, taken for tampering or a wrong master key", status, err)
		}
	}
	proxy.set("/transit/decrypt/", 0)

	// Vault's own short reasons stay: a key that is not there.
	gone := bao.Cipher(t, bao.KeyURI(newKeyName()), "VAULT_ADDR="+proxy.URL)
	_, err = gone.Decrypt(ctx, []byte("vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), []byte("ad"))
	if !errors.Is(err, secrets.ErrDecrypt) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Decrypt with a key Transit does not have: %v, want ErrDecrypt with Vault's reason", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("AAAAAAAAAAAAAAAAAAAAAAAA")) {
		t.Errorf("Decrypt with a key Transit does not have: the error shows the ciphertext: %v", err)
	}
}
