package panel_test

import (
	"strings"
	"testing"

	"github.com/dataspace/secrets/panel"
)

// TestEmptyBodyNeedsJSONType: the guard's JSON content type check
// applies to a state-changing request with an empty body too: a reveal
// with no body and a non-JSON (or no) Content-Type is refused (415)
// without revealing anything, while the same request as JSON reveals.
func TestEmptyBodyNeedsJSONType(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.create(t, "AUTH_TOKEN", "empty-body-secret", nil)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		res := e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal",
			header: map[string]string{"Content-Type": ct}}).want(t, 415, panel.ProblemMediaType)
		if strings.Contains(string(res.body), "empty-body-secret") {
			t.Fatalf("Content-Type %q: the refusal shows the value", ct)
		}
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal"}).want(t, 200, "")
}

// TestPageTrustedTypesNone: the page's CSP allows no Trusted Types
// policy ("trusted-types 'none'") besides requiring them for scripts: no
// script of the page may make a policy that would turn a string into
// markup.
func TestPageTrustedTypesNone(t *testing.T) {
	e := newEnv(t, nil, nil)
	csp := e.do(t, req{method: "GET", path: "/"}).want(t, 200, "").Header.Get("Content-Security-Policy")
	var found bool
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "trusted-types" {
			if found || len(f) != 2 || f[1] != "'none'" {
				t.Errorf("trusted-types directive %q in %s", strings.TrimSpace(d), csp)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("CSP lacks trusted-types 'none': %s", csp)
	}
}
