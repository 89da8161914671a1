package panel_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// planted are values stored in the workspace that no viewer may ever see,
// in any form.
type planted struct {
	values [][]byte
}

// plant fills the workspace through the API: live secrets with several
// versions, write-only and file secrets, a deleted one, values that JSON
// escapes and one that is not UTF-8.
func plant(t *testing.T, e *env) *planted {
	t.Helper()
	p := &planted{}
	fresh := func(prefix string) []byte {
		b := make([]byte, 12)
		rand.Read(b)
		v := []byte(prefix + hex.EncodeToString(b))
		p.values = append(p.values, v)
		return v
	}
	exp := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	for _, s := range []struct {
		name  string
		extra map[string]any
	}{
		{"AUTH_TOKEN", nil},
		{"DEPLOY_KEY", map[string]any{"write_only": true}},
		{"TLS_KEY", map[string]any{"file": true, "expires": exp}},
		{"GONE", nil},
	} {
		m := e.create(t, s.name, string(fresh("first-")), s.extra)
		for range 2 {
			m = e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/" + s.name, ifMatch: etag(m.Revision),
				body: map[string]any{"value": string(fresh("later-"))}}).want(t, 200, "").meta(t)
		}
		if s.name == "GONE" {
			e.do(t, req{actor: editor, method: "DELETE", path: "/api/secrets/GONE", ifMatch: etag(m.Revision)}).want(t, 200, "")
		}
	}
	multi := fresh("line-one-") // a multi-line value, each line a secret
	multi = append(multi, []byte("\n"+string(fresh("line-two-"))+"\n")...)
	p.values = append(p.values, multi)
	e.create(t, "MULTI", string(multi), nil)
	quoted := append(fresh(`q"<&>`), []byte(`\'`+"\t")...)
	p.values = append(p.values, quoted)
	e.create(t, "QUOTED", string(quoted), nil)
	bin := append([]byte{0xff, 0xfe, 0x80}, fresh("bin-")...)
	p.values = append(p.values, bin)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{
		"name": "BINARY", "value_base64": base64.StdEncoding.EncodeToString(bin)}}).want(t, 201, "")
	return p
}

// forms are the encodings a value could leak in: as is, each line, JSON-
// and URL-escaped, hex, and base64 (standard and URL-safe, padded or not,
// at the three alignments it can have inside a longer base64 text).
func forms(v []byte) []string {
	out := []string{string(v)}
	for _, line := range bytes.Split(v, []byte("\n")) {
		if len(line) >= 8 {
			out = append(out, string(line))
		}
	}
	j, _ := json.Marshal(string(v))
	out = append(out, string(j[1:len(j)-1]), url.QueryEscape(string(v)), url.PathEscape(string(v)),
		hex.EncodeToString(v), strings.ToUpper(hex.EncodeToString(v)))
	for pad := range 3 {
		b := append(bytes.Repeat([]byte{0}, pad), v...)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			s := enc.EncodeToString(b)
			// Only the characters that depend on the value alone.
			out = append(out, strings.TrimRight(s[(pad*4+2)/3+1:len(s)-4], "="))
		}
	}
	return out
}

// scan fails if anything of a response holds a planted value.
func (p *planted) scan(t *testing.T, what string, r *response) {
	t.Helper()
	var all strings.Builder
	all.Write(r.body)
	for k, vs := range r.Header {
		fmt.Fprintf(&all, "\n%s: %s", k, strings.Join(vs, ", "))
	}
	p.scanText(t, what, all.String())
}

func (p *planted) scanText(t *testing.T, what, text string) {
	t.Helper()
	for _, v := range p.values {
		for _, f := range forms(v) {
			if len(f) >= 8 && strings.Contains(text, f) {
				t.Errorf("%s holds a planted value (as %q)", what, f)
			}
		}
	}
}

// A viewer, a stranger and an anonymous caller get no value from any
// route, whatever they ask; an editor gets none but from reveal and
// export; the Logger gets none.
func TestNoValueReachesViewers(t *testing.T) {
	e := newEnv(t, nil, nil)
	p := plant(t, e)
	names := []string{"AUTH_TOKEN", "DEPLOY_KEY", "TLS_KEY", "GONE", "MULTI", "QUOTED", "BINARY", "auth_token", "NOPE"}
	var reqs []req
	for _, n := range names {
		reqs = append(reqs, allRoutes(n, "*")...)
		for v := range 4 {
			reqs = append(reqs, req{method: "POST", path: "/api/secrets/" + n + "/reveal", body: map[string]any{"version": v}})
		}
		reqs = append(reqs,
			req{method: "GET", path: "/api/events?name=" + n},
			req{method: "POST", path: "/api/search", body: map[string]any{"search": n}},
			req{method: "POST", path: "/api/secrets/" + n + "/rollback", body: map[string]any{"version": 1}, ifMatch: `"1"`})
	}
	reqs = append(reqs,
		req{method: "GET", path: "/api/secrets?deleted=true"},
		req{method: "GET", path: "/api/secrets?limit=1"},
		req{method: "GET", path: "/api/events?limit=200"},
		req{method: "GET", path: "/"},
		req{method: "GET", path: "/assets/panel.js"},
		req{method: "OPTIONS", path: "/api/secrets"},
		req{method: "PUT", path: "/api/secrets/AUTH_TOKEN", body: map[string]any{}},
	)
	revealed := 0
	for _, who := range []string{viewer, stranger, anon} {
		for _, r := range reqs {
			r.actor = who
			res := e.do(t, r)
			p.scan(t, fmt.Sprintf("%s: %s %s (%d)", who, r.method, r.path, res.StatusCode), res)
			if res.StatusCode/100 == 2 && (strings.HasSuffix(r.path, "/reveal") || r.path == "/api/export") {
				t.Errorf("%s got %d from %s", who, res.StatusCode, r.path)
			}
		}
	}
	// The editor: every route but reveal and export is metadata only.
	for _, r := range reqs {
		if strings.HasSuffix(r.path, "/reveal") || r.path == "/api/export" || r.method == "DELETE" || strings.HasSuffix(r.path, "/destroy") ||
			strings.HasSuffix(r.path, "/rename") || strings.HasSuffix(r.path, "/rollback") || r.method == "PATCH" {
			continue
		}
		r.actor = editor
		res := e.do(t, r)
		p.scan(t, fmt.Sprintf("editor: %s %s (%d)", r.method, r.path, res.StatusCode), res)
	}
	// Reveals do work for the editor, and the scan finds them there: it
	// looks in the right place.
	for _, n := range []string{"AUTH_TOKEN", "MULTI", "QUOTED", "BINARY"} {
		res := e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/" + n + "/reveal", body: map[string]any{}}).want(t, 200, "")
		found := false
		for _, v := range p.values {
			for _, f := range forms(v) {
				found = found || len(f) >= 8 && strings.Contains(string(res.body), f)
			}
		}
		if found {
			revealed++
		}
	}
	if revealed != 4 {
		t.Errorf("the scan found %d of 4 revealed values: it does not look where values are", revealed)
	}
	p.scanText(t, "the Logger's output", e.log.String())
}
