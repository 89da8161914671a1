package panel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// The callers of the tests: an editor may do everything, a viewer may only
// list, a stranger is signed in but may do nothing, and an anonymous
// caller is not signed in.
const (
	editor   = "user:editor"
	viewer   = "user:viewer"
	stranger = "user:stranger"
	anon     = ""
	ws       = "ws-1"
)

// authorize is the tests' policy, given to the Manager and to the panel.
func authorize(_ context.Context, r secrets.Request) error {
	switch {
	case r.Actor == editor:
		return nil
	case r.Actor == viewer && r.Action == secrets.ActionList:
		return nil
	case r.Actor == "" && r.Action == secrets.ActionAudit:
		return nil // the tests' own reads of the audit trail
	}
	return errors.New("not allowed by the test policy")
}

// env is a Manager, a panel over it mounted as a host would mount it, and
// what its Logger wrote.
type env struct {
	m   *secrets.Manager
	h   http.Handler
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newCipher returns a local master key of the test's own.
func newCipher(t testing.TB) *secrets.LocalCipher {
	t.Helper()
	k, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newManager(t testing.TB, store secrets.Store, cfg *secrets.Config) *secrets.Manager {
	t.Helper()
	c := newCipher(t)
	if cfg == nil {
		cfg = &secrets.Config{}
	}
	if cfg.Authorize == nil {
		cfg.Authorize = authorize
	}
	m, err := secrets.New(store, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testCaller is the host's session lookup in the tests: the actor comes in
// a header (a stand-in for a session cookie), the workspace from the host's
// route.
func testCaller(r *http.Request) (panel.Caller, error) {
	a := r.Header.Get("X-Test-Actor")
	if a == "" {
		return panel.Caller{}, errors.New("no session")
	}
	return panel.Caller{Workspace: r.PathValue("ws"), Actor: a}, nil
}

// mount serves h for every workspace under /w/{ws}/secrets/, as hosts do.
func mount(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/w/{ws}/secrets/", func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/w/"+r.PathValue("ws")+"/secrets", h).ServeHTTP(w, r)
	})
	return mux
}

// newEnv builds a panel over a fresh memory store; cfg may be nil.
func newEnv(t testing.TB, mcfg *secrets.Config, cfg *panel.Config) *env {
	t.Helper()
	return newEnvStore(t, secrets.NewMemoryStore(), mcfg, cfg)
}

func newEnvStore(t testing.TB, store secrets.Store, mcfg *secrets.Config, cfg *panel.Config) *env {
	t.Helper()
	e := &env{m: newManager(t, store, mcfg), log: &syncBuffer{}}
	if cfg == nil {
		cfg = &panel.Config{}
	}
	if cfg.Caller == nil {
		cfg.Caller = testCaller
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.log, nil))
	h, err := panel.New(e.m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = mount(h)
	return e
}

// req describes a request: by default a state-changing request carries
// the panel's header and a JSON content type, as the page sends it.
type req struct {
	actor   string
	method  string
	path    string // after /w/ws-1/secrets
	body    any    // marshalled as JSON; a string or []byte is sent as is
	ifMatch string
	header  map[string]string // added or, with "", removed
	ws      string            // the workspace of the path; "" is ws
}

// do sends r and returns the response, its body read.
func (e *env) do(t testing.TB, r req) *response {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	w := ws
	if r.ws != "" {
		w = r.ws
	}
	hr := httptest.NewRequest(r.method, "http://panel.test/w/"+w+"/secrets"+r.path, body)
	if r.actor != "" {
		hr.Header.Set("X-Test-Actor", r.actor)
	}
	if r.method != http.MethodGet && r.method != http.MethodHead {
		hr.Header.Set(panel.RequestHeader, "1")
		if r.method != http.MethodDelete {
			hr.Header.Set("Content-Type", "application/json")
		}
	}
	if r.ifMatch != "" {
		hr.Header.Set("If-Match", r.ifMatch)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, hr)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return &response{Response: res, body: b}
}

type response struct {
	*http.Response
	body []byte
}

// problem decodes a problem response.
func (r *response) problem(t testing.TB) problemBody {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, not a problem: %s", r.StatusCode, ct, r.body)
	}
	var p problemBody
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != r.StatusCode || p.Title == "" || p.Detail == "" {
		t.Fatalf("incomplete problem for status %d: %s", r.StatusCode, r.body)
	}
	return p
}

type problemBody struct {
	Type     string        `json:"type"`
	Title    string        `json:"title"`
	Status   int           `json:"status"`
	Detail   string        `json:"detail"`
	Name     string        `json:"name"`
	Seen     int64         `json:"seen"`
	Revision int64         `json:"revision"`
	Version  int64         `json:"version"`
	Deleted  bool          `json:"deleted"`
	Current  *secrets.Meta `json:"current"`
	Line     int           `json:"line"`
	Reason   string        `json:"reason"`
}

// json decodes a successful JSON response into v.
func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %s", r.StatusCode, ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatal(err)
	}
}

// want checks the status and, for an error, the problem type.
func (r *response) want(t testing.TB, status int, problemType string) *response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	if problemType != "" {
		if p := r.problem(t); p.Type != problemType {
			t.Fatalf("problem type %s, want %s (%s)", p.Type, problemType, p.Detail)
		}
	}
	return r
}

// meta decodes a secret's metadata and checks its ETag.
func (r *response) meta(t testing.TB) secrets.Meta {
	t.Helper()
	var m secrets.Meta
	r.json(t, &m)
	if got, want := r.Header.Get("ETag"), etag(m.Revision); got != want {
		t.Fatalf("ETag %q, want %q", got, want)
	}
	return m
}

func etag(rev int64) string {
	b, _ := json.Marshal(rev)
	return `"` + string(b) + `"`
}

// create adds a secret through the API, as the editor.
func (e *env) create(t testing.TB, name, value string, extra map[string]any) secrets.Meta {
	t.Helper()
	body := map[string]any{"name": name, "value": value}
	for k, v := range extra {
		body[k] = v
	}
	return e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: body}).want(t, 201, "").meta(t)
}
