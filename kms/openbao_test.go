package kms_test

// A harness for tests and benchmarks against a real OpenBao server (the
// open-source fork of Vault): the Transit master-key tests, and the
// OpenBao peer benchmark.
//
//	bao := startOpenBao(t)              // the shared server, or a new one
//	uri := bao.CreateTransitKey(t, "k") // hcvault://127.0.0.1:PORT/transit/keys/k
//	c := bao.Cipher(t, uri)             // kms.NewCipher through VAULT_ADDR, VAULT_TOKEN
//	bao.RotateTransitKey(t, "k")
//
//	own := newOpenBao(t)                // a server of this test alone
//	own.Stop(t)                         // killed: calls to it fail from now on
//
//	r := bao.Relay(t)                   // a proxy in front of the server
//	c = bao.Cipher(t, uri, "VAULT_ADDR="+r.Addr())
//	r.Cut()                             // calls fail; the server and its keys live on
//	r.Restore()                         // and succeed again
//
// Environment:
//   - VAULT_ADDR, VAULT_TOKEN: a server startOpenBao uses instead of
//     starting one (scripts/test sets them to a dev server it started).
//     The tests create, rotate and delete Transit keys there: point them
//     only at a throwaway server.
//   - SECRETS_OPENBAO_DIR: the folder holding OpenBao's dev-server script
//     and packed binary; by default ../shared/tools/openbao beside the
//     repository.
//   - CI: when set, a test that cannot get a server fails instead of
//     skipping.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/kms"
)

// An openBao is an OpenBao server with the Transit engine mounted at
// transit/.
type openBao struct {
	Addr  string // http://HOST:PORT
	Token string // a root token

	pid      int // of a server started by newOpenBao; 0 for a shared one
	stopOnce sync.Once
	client   *http.Client
}

// unavailable skips tb, or fails it when CI is set: in CI, every test
// that needs OpenBao must run.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("CI is set and there is no OpenBao server: "+format, args...)
	}
	tb.Skipf("no OpenBao server: "+format, args...)
}

// startOpenBao returns the server that VAULT_ADDR and VAULT_TOKEN name
// when both are set, else a new dev server (see newOpenBao). Tests that
// stop the server or fill it with many paths use newOpenBao.
func startOpenBao(tb testing.TB) *openBao {
	tb.Helper()
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if addr == "" || token == "" {
		return newOpenBao(tb)
	}
	return &openBao{Addr: strings.TrimSuffix(addr, "/"), Token: token, client: &http.Client{Timeout: 30 * time.Second}}
}

// openBaoDir returns the folder of the OpenBao test tools.
func openBaoDir() string {
	if d := os.Getenv("SECRETS_OPENBAO_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "tools", "openbao") // from kms/, beside the repository
}

var devServerLine = regexp.MustCompile(`^export VAULT_ADDR=(http://127\.0\.0\.1:\d+) VAULT_TOKEN=(\S+) BAO_PID=(\d+)$`)

// newOpenBao starts a dev server of tb's own with the dev-server script
// of SECRETS_OPENBAO_DIR: in memory, on a free loopback port, Transit
// mounted. It is killed when tb ends, or earlier by Stop. Without the
// tools, or when the server does not start, tb skips (fails in CI).
func newOpenBao(tb testing.TB) *openBao {
	tb.Helper()
	script := filepath.Join(openBaoDir(), "dev-server")
	if _, err := os.Stat(script); err != nil {
		unavailable(tb, "%s not found (set SECRETS_OPENBAO_DIR)", script)
	}
	logFile := filepath.Join(tb.TempDir(), "bao.log")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script)
	cmd.Env = append(os.Environ(), "BAO_LOG="+logFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		unavailable(tb, "dev-server: %v: %s%s", err, stderr.Bytes(), logTail(logFile))
	}
	m := devServerLine.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		unavailable(tb, "dev-server printed no address")
	}
	pid, _ := strconv.Atoi(m[3])
	b := &openBao{Addr: m[1], Token: m[2], pid: pid, client: &http.Client{Timeout: 30 * time.Second}}
	tb.Cleanup(func() { b.kill(tb) })
	return b
}

// logTail returns the end of a dev server's log, without the lines that
// show its root token.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var keep []string
	for _, l := range lines[max(0, len(lines)-20):] {
		if !strings.Contains(strings.ToLower(l), "token") {
			keep = append(keep, l)
		}
	}
	return "\nserver log:\n" + strings.Join(keep, "\n")
}

// Stop kills the server (SIGKILL, as a crash) and returns once its port
// refuses connections. Only servers started by newOpenBao can be stopped.
func (b *openBao) Stop(tb testing.TB) {
	tb.Helper()
	if b.pid == 0 {
		tb.Fatal("Stop: a shared OpenBao server; use newOpenBao")
	}
	b.kill(tb)
}

func (b *openBao) kill(tb testing.TB) {
	b.stopOnce.Do(func() {
		if p, err := os.FindProcess(b.pid); err == nil && isBao(b.pid) {
			p.Kill() // an error here means it is gone already
		}
		// The process is not our child (dev-server started it): wait for
		// its port to close rather than for the process.
		host := strings.TrimPrefix(b.Addr, "http://")
		for range 100 {
			c, err := net.DialTimeout("tcp", host, 100*time.Millisecond)
			if err != nil {
				return
			}
			c.Close()
			time.Sleep(50 * time.Millisecond)
		}
		tb.Errorf("OpenBao at %s still accepts connections after SIGKILL", b.Addr)
	})
}

// isBao reports whether process pid is an OpenBao server, where Linux
// says (/proc): should the server be gone already, its PID may be reused.
func isBao(pid int) bool {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		return true // no /proc to ask
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte("bao\x00server"))
}

// Do sends a request to the HTTP API (path below /v1/) with the token,
// in as its JSON body (none when nil), and decodes the JSON answer into
// out unless it is nil. Its errors name the method, the path, the status
// and the server's messages; never the token.
func (b *openBao) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.Addr+"/v1/"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", b.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("openbao: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Errors []string }
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
		return fmt.Errorf("openbao: %s %s: %s: %s", method, path, resp.Status, strings.Join(e.Errors, "; "))
	}
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("openbao: %s %s: decode: %w", method, path, err)
	}
	return nil
}

// Call is Do for test set-up: any error fails tb.
func (b *openBao) Call(tb testing.TB, method, path string, in, out any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Do(ctx, method, path, in, out); err != nil {
		tb.Fatal(err)
	}
}

// newKeyName returns a Transit key name no other test uses.
func newKeyName() string {
	return "secrets-test-" + strings.ToLower(rand.Text()[:12])
}

// KeyURI returns the hcvault:// URI of Transit key name.
func (b *openBao) KeyURI(name string) string {
	return "hcvault://" + strings.TrimPrefix(strings.TrimPrefix(b.Addr, "http://"), "https://") + "/transit/keys/" + url.PathEscape(name)
}

// CreateTransitKey creates the aes256-gcm96 Transit key name, not
// derived (Tink's AEAD sends associated_data, which Transit binds for
// AES-GCM keys without derivation), and returns its URI. On a shared
// server the key is deleted when tb ends.
func (b *openBao) CreateTransitKey(tb testing.TB, name string) string {
	tb.Helper()
	b.Call(tb, http.MethodPost, "transit/keys/"+name, map[string]any{"type": "aes256-gcm96"}, nil)
	if b.pid == 0 {
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b.Do(ctx, http.MethodPost, "transit/keys/"+name+"/config", map[string]any{"deletion_allowed": true}, nil)
			b.Do(ctx, http.MethodDelete, "transit/keys/"+name, nil, nil)
		})
	}
	return b.KeyURI(name)
}

// transitKey is what Transit says of a key.
type transitKey struct {
	LatestVersion        int `json:"latest_version"`
	MinDecryptionVersion int `json:"min_decryption_version"`
	MinEncryptionVersion int `json:"min_encryption_version"`
}

// TransitKey reads key name's versions.
func (b *openBao) TransitKey(tb testing.TB, name string) transitKey {
	tb.Helper()
	var r struct{ Data transitKey }
	b.Call(tb, http.MethodGet, "transit/keys/"+name, nil, &r)
	return r.Data
}

// RotateTransitKey adds a version to key name, which new encryptions use,
// and returns it.
func (b *openBao) RotateTransitKey(tb testing.TB, name string) int {
	tb.Helper()
	before := b.TransitKey(tb, name).LatestVersion
	b.Call(tb, http.MethodPost, "transit/keys/"+name+"/rotate", nil, nil)
	after := b.TransitKey(tb, name).LatestVersion
	if after != before+1 {
		tb.Fatalf("rotate %s: version %d, then %d", name, before, after)
	}
	return after
}

// ConfigTransitKey sets key name's configuration, such as
// {"min_decryption_version": 2}.
func (b *openBao) ConfigTransitKey(tb testing.TB, name string, cfg map[string]any) {
	tb.Helper()
	b.Call(tb, http.MethodPost, "transit/keys/"+name+"/config", cfg, nil)
}

// Cipher returns kms.NewCipher(keyURI) configured as a host does it, from
// VAULT_ADDR and VAULT_TOKEN, which it sets for tb (tb.Setenv: not in
// parallel tests). extraEnv holds more variables for the Vault client,
// such as VAULT_MAX_RETRIES.
func (b *openBao) Cipher(tb testing.TB, keyURI string, extraEnv ...string) *secrets.RemoteCipher {
	tb.Helper()
	tb.Setenv("VAULT_ADDR", b.Addr)
	tb.Setenv("VAULT_TOKEN", b.Token)
	for _, kv := range extraEnv {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
	c, err := kms.NewCipher(context.Background(), keyURI, nil)
	if err != nil {
		tb.Fatalf("kms.NewCipher: %v", err)
	}
	return c
}

// A relay is a TCP proxy in front of a server, which a test cuts and
// restores: while it is cut, calls through it fail as if the server were
// down, but the server and its in-memory keys live on, so that calls
// succeed again once it is restored (a killed dev server comes back
// empty). Reach the server through it with VAULT_ADDR=relay.Addr().
type relay struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

// Relay starts a relay to b; it is closed when tb ends.
func (b *openBao) Relay(tb testing.TB) *relay {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r := &relay{l: l, target: strings.TrimPrefix(b.Addr, "http://"), conns: map[net.Conn]bool{}}
	go r.serve()
	tb.Cleanup(func() {
		l.Close()
		r.Cut()
	})
	return r
}

// Addr returns the relay's address, for VAULT_ADDR.
func (r *relay) Addr() string { return "http://" + r.l.Addr().String() }

// Cut closes every connection through the relay, and every new one as
// soon as it is accepted, until Restore.
func (r *relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = true
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// Restore lets connections through again.
func (r *relay) Restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut = false
}

func (r *relay) serve() {
	for {
		in, err := r.l.Accept()
		if err != nil {
			return
		}
		go r.pipe(in)
	}
}

func (r *relay) pipe(in net.Conn) {
	r.mu.Lock()
	cut := r.cut
	r.mu.Unlock()
	if cut {
		in.Close()
		return
	}
	out, err := net.DialTimeout("tcp", r.target, 5*time.Second)
	if err != nil {
		in.Close()
		return
	}
	r.mu.Lock()
	if r.cut {
		r.mu.Unlock()
		in.Close()
		out.Close()
		return
	}
	r.conns[in], r.conns[out] = true, true
	r.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); done <- struct{}{} }()
	go func() { io.Copy(in, out); done <- struct{}{} }()
	<-done
	in.Close()
	out.Close()
	r.mu.Lock()
	delete(r.conns, in)
	delete(r.conns, out)
	r.mu.Unlock()
}
