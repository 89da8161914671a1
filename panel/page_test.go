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

func TestPage(t *testing.T) {
	e := newEnv(t, nil, nil)
	// The page is the same for everyone, anonymous callers included: it
	// holds no data.
	for _, actor := range []string{editor, viewer, anon} {
		res := e.do(t, req{actor: actor, method: "GET", path: "/"}).want(t, 200, "")
		h := res.Header
		if h.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(res.body), `src="assets/panel.js"`) {
			t.Fatalf("page: %v", h)
		}
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
			"frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'", "require-trusted-types-for 'script'"} {
			if !strings.Contains(csp, d+";") && !strings.HasSuffix(csp, d) {
				t.Errorf("CSP lacks %s: %s", d, csp)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows something unsafe: %s", csp)
		}
		checkSafetyHeaders(t, h)
		if h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("X-Frame-Options %q", h.Get("X-Frame-Options"))
		}
	}
	// No inline script or style in the page.
	body := string(e.do(t, req{method: "GET", path: "/"}).body)
	for _, bad := range []string{"<script>", "<style", "style=", "onclick", "onload", "javascript:", "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	for file, ctype := range map[string]string{"panel.js": "text/javascript; charset=utf-8", "editor.js": "text/javascript; charset=utf-8", "editor_model.js": "text/javascript; charset=utf-8",
		"panel.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"} {
		res := e.do(t, req{method: "GET", path: "/assets/" + file}).want(t, 200, "")
		if res.Header.Get("Content-Type") != ctype || res.Header.Get("ETag") == "" {
			t.Errorf("%s: %v", file, res.Header)
		}
		checkSafetyHeaders(t, res.Header)
		// Revalidation gives 304.
		e.do(t, req{method: "GET", path: "/assets/" + file, header: map[string]string{"If-None-Match": res.Header.Get("ETag")}}).want(t, 304, "")
	}
	e.do(t, req{method: "GET", path: "/assets/nope.js"}).want(t, 404, panel.ProblemNoRoute)
	e.do(t, req{method: "GET", path: "/assets/index.html"}).want(t, 404, panel.ProblemNoRoute)
	e.do(t, req{method: "POST", path: "/", body: map[string]any{}}).want(t, 405, panel.ProblemMethod)
}

func checkSafetyHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cross-Origin-Resource-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"} {
		if h.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, h.Get(k), v)
		}
	}
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a CORS header without trusted origins")
	}
}

func TestAPIHeaders(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, r := range []req{
		{actor: editor, method: "GET", path: "/api/secrets"},
		{actor: anon, method: "GET", path: "/api/secrets"},
		{actor: editor, method: "GET", path: "/api/secrets/NOPE"},
	} {
		h := e.do(t, r).Header
		checkSafetyHeaders(t, h)
		if h.Get("Cache-Control") != "no-store" || h.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'; sandbox" {
			t.Errorf("%s %s: %v", r.method, r.path, h)
		}
	}
}

func TestFrameAncestors(t *testing.T) {
	e := newEnv(t, nil, &panel.Config{FrameAncestors: []string{"https://admin.example.com", "'self'"}})
	h := e.do(t, req{method: "GET", path: "/"}).Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors https://admin.example.com 'self';") || h.Get("X-Frame-Options") != "" {
		t.Errorf("headers %v", h)
	}
}

// The mount point without its slash redirects, relatively, to the page.
func TestMountPoint(t *testing.T) {
	h, err := panel.New(newManager(t, secrets.NewMemoryStore(), nil), &panel.Config{Caller: testCaller})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/settings/secrets", http.StripPrefix("/settings/secrets", h))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/settings/secrets?x=1", nil))
	if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "./secrets/" {
		t.Errorf("redirect %d to %q", w.Code, w.Header().Get("Location"))
	}
	// Stripped with its slash, the mount point serves the page.
	mux2 := http.NewServeMux()
	mux2.Handle("/s/", http.StripPrefix("/s/", h))
	w = httptest.NewRecorder()
	mux2.ServeHTTP(w, httptest.NewRequest("GET", "/s/", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<!doctype html>") {
		t.Errorf("page at the mount point: %d", w.Code)
	}
}

// failStore fails every listing, as a database that went away would.
type failStore struct{ *secrets.MemoryStore }

func (failStore) List(context.Context, string, secrets.ListQuery) ([]secrets.Entry, error) {
	return nil, errors.New("connection to db.internal:5432 refused")
}

// A server-side failure is a 500 that says nothing of its cause; the
// host's Logger gets the cause.
func TestServerFailure(t *testing.T) {
	e := newEnvStore(t, failStore{secrets.NewMemoryStore()}, nil, nil)
	p := e.do(t, req{actor: editor, method: "GET", path: "/api/secrets"}).want(t, 500, panel.ProblemInternal).problem(t)
	if strings.Contains(p.Detail, "db.internal") {
		t.Errorf("detail %q", p.Detail)
	}
	if log := e.log.String(); !strings.Contains(log, "db.internal") || !strings.Contains(log, "route=/api/secrets") || !strings.Contains(log, editor) {
		t.Errorf("log: %s", log)
	}
}
