package panel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

func TestRoutingProblems(t *testing.T) {
	e := newEnv(t, nil, nil)
	res := e.do(t, req{actor: editor, method: "PUT", path: "/api/secrets/X", body: map[string]any{}}).want(t, 405, panel.ProblemMethod)
	if allow := res.Header.Get("Allow"); allow != "GET, HEAD, PATCH, DELETE" {
		t.Errorf("Allow %q", allow)
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/nothing/here"}).want(t, 404, panel.ProblemNoRoute)
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/A/B/C"}).want(t, 404, panel.ProblemNoRoute)
	e.do(t, req{actor: editor, method: "POST", path: "/api/me", body: map[string]any{}}).want(t, 405, panel.ProblemMethod)
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/1NVALID"}).want(t, 422, panel.ProblemInvalidName)
	// Preflights get no CORS permission without trusted origins.
	res = e.do(t, req{actor: anon, method: "OPTIONS", path: "/api/secrets", header: map[string]string{
		"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", panel.RequestHeader: ""}})
	res.want(t, 403, panel.ProblemCrossOrigin)
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS permission for an untrusted origin")
	}
	// Cross-site reads are refused, top-level navigations are not.
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}}).
		want(t, 403, panel.ProblemCrossOrigin)
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets", header: map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}}).
		want(t, 403, panel.ProblemCrossOrigin)
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}}).
		want(t, 200, "")
	// A frame, <object> or <embed> of another site navigates too, but not
	// at the top level: refused (a web trial's finding).
	for _, dest := range []string{"iframe", "frame", "object", "embed", ""} {
		e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": dest}}).
			want(t, 403, panel.ProblemCrossOrigin)
	}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets", header: map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}}).
		want(t, 200, "")
	// A DELETE needs the header too, though it has no body.
	e.do(t, req{actor: editor, method: "DELETE", path: "/api/secrets/X", ifMatch: "*", header: map[string]string{panel.RequestHeader: ""}}).
		want(t, 403, panel.ProblemCrossOrigin)
}

func TestInvalidWorkspace(t *testing.T) {
	e := newEnv(t, nil, &panel.Config{Caller: func(r *http.Request) (panel.Caller, error) {
		return panel.Caller{Actor: editor}, nil // the host named no workspace
	}})
	// Activity too: for the Manager's Events, "" is every workspace (a
	// trial's host named none, and the route listed another tenant's
	// events).
	if _, err := e.m.Set(secrets.WithActor(context.Background(), editor), "ws-bob", "BOB_PROD_TOKEN", []byte("bob-token-value"), nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/secrets", "/api/events", "/api/me", "/api/due", "/api/resolve", "/api/inherited", "/api/secrets/BOB_PROD_TOKEN/versions"} {
		res := e.do(t, req{actor: editor, method: "GET", path: path}).want(t, 404, panel.ProblemInvalidWorkspace)
		if body := string(res.body); strings.Contains(body, "BOB_PROD_TOKEN") {
			t.Errorf("%s: %s", path, body)
		}
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "A", "value": "b"}}).want(t, 404, panel.ProblemInvalidWorkspace)
}

func TestTrustedOrigins(t *testing.T) {
	const origin = "https://admin.example.com"
	e := newEnv(t, nil, &panel.Config{TrustedOrigins: []string{origin}})
	res := e.do(t, req{method: "OPTIONS", path: "/api/secrets", header: map[string]string{
		"Origin": origin, "Access-Control-Request-Method": "POST", "Sec-Fetch-Site": "cross-site", panel.RequestHeader: ""}}).want(t, 204, "")
	h := res.Header
	if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), panel.RequestHeader) || h.Get("Access-Control-Allow-Methods") != "GET, HEAD, POST" {
		t.Errorf("preflight headers %v", h)
	}
	res = e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "FROM_ADMIN", "value": "x"},
		header: map[string]string{"Origin": origin, "Sec-Fetch-Site": "cross-site"}}).want(t, 201, "")
	if res.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "ETag") {
		t.Errorf("CORS headers %v", res.Header)
	}
	res = e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "FROM_EVIL", "value": "x"},
		header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}).want(t, 403, panel.ProblemCrossOrigin)
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers for an untrusted origin")
	}
	for _, bad := range []string{"admin.example.com", "https://a.example/path", "https://"} {
		if _, err := panel.New(e.m, &panel.Config{Caller: testCaller, TrustedOrigins: []string{bad}}); err == nil {
			t.Errorf("trusted origin %q accepted", bad)
		}
	}
}

func TestNew(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), nil)
	if _, err := panel.New(nil, &panel.Config{Caller: testCaller}); err == nil {
		t.Error("nil Manager accepted")
	}
	if _, err := panel.New(m, nil); err == nil {
		t.Error("nil Config accepted")
	}
	if _, err := panel.New(m, &panel.Config{}); err == nil {
		t.Error("Config without Caller accepted")
	}
	// Each of these would let any site frame the page, which then has no
	// X-Frame-Options (a panel trial: one entry with a space held "*").
	for _, s := range []string{"https://a.example; script-src *", "https://admin.example.com *", "*", "https:", "data:",
		"'none' https://x", "https://*", "https://a.*.com", "https://a.example/", "ftp://a.example", "https://a.example:99999", "", "https://*.com", "https://*.github.io", "http://*.co.uk"} {
		if _, err := panel.New(m, &panel.Config{Caller: testCaller, FrameAncestors: []string{s}}); err == nil {
			t.Errorf("frame ancestor %q accepted", s)
		}
	}
	if _, err := panel.New(m, &panel.Config{Caller: testCaller, FrameAncestors: []string{"'self'", "https://admin.example.com", "https://*.example.com", "http://localhost:8080"}}); err != nil {
		t.Errorf("frame ancestors refused: %v", err)
	}
}

// The host's refusals: a Refusal's reason reaches the page, its cause
// never does (nor a plain error's text, nor the Logger's line for the
// caller); a hook that cannot decide makes a 503, not a 403.
func TestRefusalThroughThePanel(t *testing.T) {
	cause := errors.New("role lookup: pq: password authentication failed for user app_roles")
	e := newEnv(t, &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		switch {
		case r.Actor == editor || r.Actor == "" && r.Action == secrets.ActionAudit:
			return nil
		case r.Actor == viewer && r.Action == secrets.ActionList:
			return &secrets.Refusal{Reason: "viewers of this group may not list its secrets", Cause: cause}
		case r.Actor == "user:syncing":
			return &secrets.Refusal{Unavailable: true, Reason: "roles are being synced", Cause: cause}
		}
		return &secrets.Refusal{Unavailable: true, Cause: cause}
	}}, nil)
	res := e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets"}).want(t, 403, panel.ProblemForbidden)
	if body := string(res.body); !strings.Contains(body, "viewers of this group may not list its secrets") || strings.Contains(body, "password") {
		t.Errorf("a refusal with a reason: %s", body)
	}
	res = e.do(t, req{actor: "user:someone", method: "GET", path: "/api/secrets"}).want(t, 503, panel.ProblemUnavailable)
	if body := string(res.body); strings.Contains(body, "password") || strings.Contains(body, "role lookup") {
		t.Errorf("an unavailable authorizer: %s", body)
	}
	// An unavailable hook's public reason is shown, as a refusal's is.
	res = e.do(t, req{actor: "user:syncing", method: "GET", path: "/api/secrets"}).want(t, 503, panel.ProblemUnavailable)
	if body := string(res.body); !strings.Contains(body, "roles are being synced") || strings.Contains(body, "password") {
		t.Errorf("an unavailable authorizer with a reason: %s", body)
	}
	// The Activity view (events, for whoever may read them) shows the
	// refusals with their reasons and never the cause; the host's Logger
	// gets the cause.
	res = e.do(t, req{actor: editor, method: "GET", path: "/api/events"}).want(t, 200, "")
	if body := string(res.body); strings.Contains(body, "password") || strings.Contains(body, "role lookup") ||
		!strings.Contains(body, "viewers of this group may not list its secrets") {
		t.Errorf("the Activity view of the refusals: %s", body)
	}
	if logged := e.log.String(); strings.Count(logged, "password authentication failed") < 3 {
		t.Errorf("the Logger did not get the three refusals' cause:\n%s", logged)
	}
}

// During an outage of the host's authorizer, GET api/me answers 503 (try
// again), not a caller who may do nothing: the page would show an editor
// as a viewer. An outage of a single ability's check is enough.
func TestMeAuthorizerUnavailable(t *testing.T) {
	for _, down := range []secrets.Action{secrets.ActionList, secrets.ActionSet, secrets.ActionDiff} {
		e := newEnv(t, &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
			if r.Action == down {
				return &secrets.Refusal{Unavailable: true, Cause: errors.New("role service down")}
			}
			return authorize(context.Background(), r)
		}}, nil)
		res := e.do(t, req{actor: editor, method: "GET", path: "/api/me"}).want(t, 503, panel.ProblemUnavailable)
		if body := string(res.body); strings.Contains(body, `"can"`) || strings.Contains(body, "role service") {
			t.Errorf("%s unavailable: %s", down, body)
		}
	}
}

// GET api/me says what the container is: Caller.Kind, "workspace" when
// the host says nothing.
func TestMeKind(t *testing.T) {
	for _, c := range []struct{ set, want string }{{"", "workspace"}, {"group", "group"}, {"workspace", "workspace"}} {
		e := newEnv(t, nil, &panel.Config{Caller: func(r *http.Request) (panel.Caller, error) {
			return panel.Caller{Workspace: r.PathValue("ws"), Actor: editor, Kind: c.set}, nil
		}})
		var got struct {
			Workspace string
			Kind      *string `json:"kind"`
		}
		e.do(t, req{actor: editor, method: "GET", path: "/api/me"}).want(t, 200, "").json(t, &got)
		if got.Kind == nil || *got.Kind != c.want || got.Workspace != ws {
			t.Errorf("Kind %q: me says workspace %q, kind %v, want %q", c.set, got.Workspace, got.Kind, c.want)
		}
	}
}

// A Manager without an Authorize hook allows every call to anyone, so a
// panel over it would let every signed-in caller reveal and change every
// workspace's secrets (a new user's trial, following the README, served
// exactly that): New refuses it with ErrNoAuthorize unless
// Config.AllowAll says so on purpose, and then everything is allowed.
func TestNewNeedsAuthorize(t *testing.T) {
	c := newCipher(t)
	open, err := secrets.New(secrets.NewMemoryStore(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if open.HasAuthorize() {
		t.Fatal("a Manager without Config.Authorize says it has one")
	}
	if h, err := panel.New(open, &panel.Config{Caller: testCaller}); !errors.Is(err, panel.ErrNoAuthorize) || h != nil {
		t.Fatalf("New over a Manager without Authorize: %v, %v", h, err)
	}
	h, err := panel.New(open, &panel.Config{Caller: testCaller, AllowAll: true})
	if err != nil {
		t.Fatalf("AllowAll: %v", err)
	}
	srv := mount(h)
	if _, err := open.Set(context.Background(), "ws", "TOKEN", []byte("token-value-1"), nil); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/w/ws/secrets/api/secrets/TOKEN/reveal", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Actor", "user:anyone")
	req.Header.Set("X-Secrets-Panel", "1")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "token-value-1") {
		t.Fatalf("AllowAll: a caller's reveal: %d %s", rec.Code, rec.Body)
	}
	if m := newManager(t, secrets.NewMemoryStore(), nil); !m.HasAuthorize() {
		t.Fatal("a Manager with Config.Authorize says it has none")
	}
}

// Bad input the API-fuzzing trial sent: a body with bytes outside UTF-8 or
// a lone surrogate escape (encoding/json took them for U+FFFD and stored
// a changed value, 201) is 400, nothing written; a surrogate pair is a
// character like any other; a negative reveal version (read as "current")
// is 400; an events filter no event can hold (a Postgres driver error,
// 500) is 422.
func TestBadInputIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, body := range []string{
		"{\"name\":\"BADUTF\",\"value\":\"tv-\xff\xfe-999999\"}",
		`{"name":"BADUTF","value":"tv-\udc00-999999"}`,
		`{"name":"BADUTF","value":"tv-\ud800-999999"}`,
		`{"name":"BADUTF","value":"tv-\ud800\u0041-999999"}`,
		`{"name":"BADUTF@\udc00","value":"tv-999999"}`,
	} {
		e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: body}).want(t, 400, panel.ProblemBadRequest)
	}
	if _, err := e.m.Meta(secrets.WithActor(context.Background(), editor), "ws-1", "BADUTF"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a refused body wrote: %v", err)
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: `{"name":"EMOJI","value":"tv-\ud83d\ude00-\\udc00-999999"}`}).want(t, 201, "")
	s, err := e.m.Get(secrets.WithActor(context.Background(), editor), "ws-1", "EMOJI")
	if err != nil || string(s.Value.Reveal()) != "tv-\U0001F600-\\udc00-999999" {
		t.Fatalf("a surrogate pair and an escaped backslash: %v", err)
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/EMOJI/reveal", body: map[string]any{"version": -5}}).want(t, 400, panel.ProblemBadRequest)
	for _, name := range []string{"%00", "%ff"} {
		e.do(t, req{actor: editor, method: "GET", path: "/api/events?name=" + name}).want(t, 422, panel.ProblemInvalidName)
	}
}
