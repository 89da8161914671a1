package panel_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// GET api/me says how short a value goes unmasked: Config.MaskMinLength,
// by default the Redactor's 6.
func TestMeMaskMinLength(t *testing.T) {
	for _, c := range []struct{ set, want int }{{0, 6}, {10, 10}} {
		e := newEnv(t, nil, &panel.Config{MaskMinLength: c.set})
		var got struct {
			MaskMinLength int `json:"mask_min_length"`
		}
		e.do(t, req{actor: editor, method: "GET", path: "/api/me"}).want(t, 200, "").json(t, &got)
		if got.MaskMinLength != c.want {
			t.Errorf("MaskMinLength %d: me says %d, want %d", c.set, got.MaskMinLength, c.want)
		}
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t, &secrets.Config{MaxEnvBytes: 5000, KeepVersions: 3}, nil)
	type me struct {
		Actor, Workspace string
		Can              map[string]bool
		Limits           secrets.Limits
	}
	var got me
	e.do(t, req{actor: editor, method: "GET", path: "/api/me"}).want(t, 200, "").json(t, &got)
	if got.Actor != editor || got.Workspace != ws {
		t.Errorf("me = %+v", got)
	}
	// MaxDotenvBytes derives from the others: the Manager's own.
	if want := (secrets.Limits{MaxNameLength: 256, MaxEnvString: secrets.MaxEnvString, MaxEnvBytes: 5000, KeepVersions: 3, MaxSecrets: secrets.DefaultMaxSecrets,
		MaxDotenvBytes: e.m.Limits().MaxDotenvBytes}); got.Limits != want || want.MaxDotenvBytes <= 0 {
		t.Errorf("limits %+v, want the Manager's %+v", got.Limits, want)
	}
	for _, a := range []string{"list", "reveal", "set", "delete", "destroy", "rename", "export", "diff", "events"} {
		if !got.Can[a] {
			t.Errorf("editor cannot %s", a)
		}
	}
	got = me{}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/me"}).want(t, 200, "").json(t, &got)
	for a, ok := range got.Can {
		if ok != (a == "list") {
			t.Errorf("viewer can %s: %v", a, ok)
		}
	}
	e.do(t, req{actor: anon, method: "GET", path: "/api/me"}).want(t, 401, panel.ProblemUnauthenticated)
	// The answer is the Manager's own hook, asked without a trace.
	if es, err := e.m.Events(context.Background(), secrets.EventQuery{}); err != nil || len(es) != 0 {
		t.Errorf("asking what the page may show recorded %d events (%v)", len(es), err)
	}
}

// Every API route answers an anonymous caller with 401 and changes nothing.
func TestAnonymousEverywhere(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.create(t, "AUTH_TOKEN", "anon-test-value", nil)
	for _, r := range allRoutes("AUTH_TOKEN", `"1"`) {
		r.actor = anon
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			e.do(t, r).want(t, 401, panel.ProblemUnauthenticated)
		})
	}
	if _, err := e.m.Meta(secrets.WithActor(t.Context(), editor), ws, "AUTH_TOKEN"); err != nil {
		t.Fatal(err)
	}
}

// allRoutes is one request of each API route, about the secret name.
func allRoutes(name, ifMatch string) []req {
	p := "/api/secrets/" + name
	return []req{
		{method: "GET", path: "/api/me"},
		{method: "GET", path: "/api/secrets"},
		{method: "POST", path: "/api/search", body: map[string]any{"search": "TOKEN"}},
		{method: "POST", path: "/api/secrets", body: map[string]any{"name": "NEW_ONE", "value": "v"}},
		{method: "GET", path: p},
		{method: "PATCH", path: p, body: map[string]any{"description": "d"}, ifMatch: ifMatch},
		{method: "DELETE", path: p, ifMatch: ifMatch},
		{method: "POST", path: p + "/undelete", ifMatch: ifMatch},
		{method: "POST", path: p + "/destroy", ifMatch: ifMatch},
		{method: "POST", path: p + "/rename", body: map[string]any{"to": "OTHER"}, ifMatch: ifMatch},
		{method: "GET", path: p + "/versions"},
		{method: "POST", path: p + "/rollback", body: map[string]any{"version": 1}, ifMatch: ifMatch},
		{method: "POST", path: p + "/reveal", body: map[string]any{}},
		{method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": "A=b\n"}},
		{method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": "A=b\n", "diff": map[string]any{}}},
		{method: "POST", path: "/api/export", body: map[string]any{}},
		{method: "GET", path: "/api/due"},
		{method: "GET", path: "/api/events"},
	}
}

// A viewer gets 403 from every route that would change or reveal, and
// nothing changes.
func TestViewerRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "AUTH_TOKEN", "viewer-test-value", nil)
	reads := map[string]bool{"GET /api/me": true, "GET /api/secrets": true, "POST /api/search": true, "GET /api/secrets/AUTH_TOKEN": true,
		"GET /api/secrets/AUTH_TOKEN/versions": true, "GET /api/due": true}
	for _, r := range allRoutes("AUTH_TOKEN", etag(m.Revision)) {
		r.actor = viewer
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			res := e.do(t, r)
			if reads[r.method+" "+r.path] {
				res.want(t, 200, "")
				return
			}
			res.want(t, 403, panel.ProblemForbidden)
		})
	}
	now, err := e.m.Meta(secrets.WithActor(t.Context(), editor), ws, "AUTH_TOKEN")
	if err != nil || now.Revision != m.Revision {
		t.Fatalf("the secret changed: %+v, %v", now, err)
	}
	// A caller who may not even list sees neither secrets nor activity.
	e.do(t, req{actor: stranger, method: "GET", path: "/api/secrets"}).want(t, 403, panel.ProblemForbidden)
	e.do(t, req{actor: stranger, method: "GET", path: "/api/events"}).want(t, 403, panel.ProblemForbidden)
	e.do(t, req{actor: stranger, method: "GET", path: "/api/secrets/AUTH_TOKEN"}).want(t, 403, panel.ProblemForbidden)
}

func TestListAndSearch(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, n := range []string{"A_TOKEN", "B_KEY", "C_TOKEN", "D_URL"} {
		e.create(t, n, "value-of-"+n, nil)
	}
	var p secrets.Page
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets?limit=3"}).want(t, 200, "").json(t, &p)
	if len(p.Secrets) != 3 || p.Next != "C_TOKEN" {
		t.Fatalf("first page: %d secrets, next %q", len(p.Secrets), p.Next)
	}
	p = secrets.Page{}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets?after=C_TOKEN"}).want(t, 200, "").json(t, &p)
	if len(p.Secrets) != 1 || p.Secrets[0].Name != "D_URL" || p.Next != "" {
		t.Fatalf("second page: %+v", p)
	}
	e.do(t, req{actor: viewer, method: "POST", path: "/api/search", body: map[string]any{"search": "token"}}).want(t, 200, "").json(t, &p)
	if len(p.Secrets) != 2 || p.Secrets[0].Name != "A_TOKEN" || p.Secrets[1].Name != "C_TOKEN" {
		t.Fatalf("search: %+v", p)
	}
	e.do(t, req{actor: editor, method: "DELETE", path: "/api/secrets/B_KEY", ifMatch: `"1"`}).want(t, 200, "")
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets?deleted=true"}).want(t, 200, "").json(t, &p)
	if len(p.Secrets) != 1 || p.Secrets[0].Name != "B_KEY" || p.Secrets[0].Deleted.IsZero() {
		t.Fatalf("deleted: %+v", p)
	}
	for _, q := range []string{"?search=TOKEN", "?limit=0", "?limit=x", "?deleted=maybe"} {
		e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets" + q}).want(t, 400, panel.ProblemBadRequest)
	}
	e.do(t, req{actor: viewer, method: "POST", path: "/api/search", body: map[string]any{"limit": -1}}).want(t, 400, panel.ProblemBadRequest)
	e.do(t, req{actor: viewer, method: "POST", path: "/api/search", body: map[string]any{"search": 3}}).want(t, 400, panel.ProblemBadRequest)
	// A HEAD is a GET without a body.
	res := e.do(t, req{actor: viewer, method: "HEAD", path: "/api/secrets"}).want(t, 200, "")
	if len(res.body) != 0 {
		t.Errorf("HEAD has a body")
	}
}

func TestCreate(t *testing.T) {
	e := newEnv(t, nil, nil)
	exp := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	res := e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{
		"name": "AUTH_TOKEN", "value": "create-test-value", "description": "CI token",
		"expires": exp.Format(time.RFC3339), "file": true}}).want(t, 201, "")
	m := res.meta(t)
	if m.Name != "AUTH_TOKEN" || m.Version != 1 || m.Description != "CI token" || !m.Expires.Equal(exp) || !m.File || m.CreatedBy != editor {
		t.Errorf("created %+v", m)
	}
	if got, want := resolve(t, "/api/secrets", res.Header.Get("Location")), "/api/secrets/AUTH_TOKEN"; got != want {
		t.Errorf("Location %q resolves to %q, want %q", res.Header.Get("Location"), got, want)
	}
	// Binary values through base64.
	bin := []byte{0xff, 0xfe, 'x', 0x80}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{
		"name": "BINARY", "value_base64": base64.StdEncoding.EncodeToString(bin)}}).want(t, 201, "")
	s, err := e.m.Get(secrets.WithActor(t.Context(), editor), ws, "BINARY")
	if err != nil || string(s.Value.Reveal()) != string(bin) {
		t.Fatalf("binary value: %v", err)
	}

	post := func(body any) *response {
		return e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: body})
	}
	p := post(map[string]any{"name": "auth_token", "value": "x"}).want(t, 409, panel.ProblemExists).problem(t)
	if p.Name != "AUTH_TOKEN" || p.Deleted {
		t.Errorf("exists problem %+v", p)
	}
	post(map[string]any{"name": "1BAD", "value": "x"}).want(t, 422, panel.ProblemInvalidName)
	post(map[string]any{"name": "LD_PRELOAD", "value": "x"}).want(t, 422, panel.ProblemReservedName)
	post(map[string]any{"name": "NUL", "value_base64": base64.StdEncoding.EncodeToString([]byte("a\x00b"))}).want(t, 422, panel.ProblemInvalidValue)
	post(map[string]any{"name": "BIG", "value": strings.Repeat("x", secrets.MaxEnvString)}).want(t, 413, panel.ProblemTooLarge)
	post(map[string]any{"name": "DESC", "value": "x", "description": strings.Repeat("d", 5000)}).want(t, 422, panel.ProblemInvalidInfo)
	post(map[string]any{"name": "OLD", "value": "x", "expires": "1900-01-01T00:00:00Z"}).want(t, 422, panel.ProblemInvalidInfo)
	post(map[string]any{"name": "DATE", "value": "x", "expires": "next week"}).want(t, 400, panel.ProblemBadRequest)
	post(map[string]any{"name": "NOVALUE"}).want(t, 400, panel.ProblemBadRequest)
	post(map[string]any{"name": "BOTH", "value": "x", "value_base64": "eA=="}).want(t, 400, panel.ProblemBadRequest)
	post(map[string]any{"name": "B64", "value_base64": "not base64!"}).want(t, 400, panel.ProblemBadRequest)
	post(map[string]any{"name": "EXTRA", "value": "x", "colour": "red"}).want(t, 400, panel.ProblemBadRequest)
	post(`{"name": "BROKEN", "value": `).want(t, 400, panel.ProblemBadRequest)
	post(`{"name": "SYNTAX" "value": "x"}`).want(t, 400, panel.ProblemBadRequest)
	post(`{"name": "TWO", "value": "x"} {}`).want(t, 400, panel.ProblemBadRequest)
	post(`[1, 2]`).want(t, 400, panel.ProblemBadRequest)
	post(`{"name": "HUGE", "value": "`+strings.Repeat("x", 2<<20)+`"}`).want(t, 413, panel.ProblemTooLarge)
	// Only JSON, only with the panel's header, only from the same origin.
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: "name=FORM&value=x",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}).want(t, 415, panel.ProblemMediaType)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: `{"name":"PLAIN","value":"x"}`,
		header: map[string]string{"Content-Type": "text/plain"}}).want(t, 415, panel.ProblemMediaType)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "NOHDR", "value": "x"},
		header: map[string]string{panel.RequestHeader: ""}}).want(t, 403, panel.ProblemCrossOrigin)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "XSITE", "value": "x"},
		header: map[string]string{"Sec-Fetch-Site": "cross-site"}}).want(t, 403, panel.ProblemCrossOrigin)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "XORIGIN", "value": "x"},
		header: map[string]string{"Origin": "https://evil.example"}}).want(t, 403, panel.ProblemCrossOrigin)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "SAME", "value": "x"},
		header: map[string]string{"Origin": "http://panel.test", "Sec-Fetch-Site": "same-origin"}}).want(t, 201, "")
	// None of the refused ones was written.
	var p2 secrets.Page
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets"}).json(t, &p2)
	if len(p2.Secrets) != 3 {
		t.Errorf("%d secrets after refusals, want 3", len(p2.Secrets))
	}
}

// A name shaped like a program's start-up file or command line is saved
// with the library's warnings in the response, by create, update and
// rename; a read carries none; StrictNames refuses it.
func TestNameWarnings(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "MYTOOLRC", "warn-test-value", nil)
	if len(m.Warnings) != 1 || m.Warnings[0].Pattern != "*RC" || m.Warnings[0].Name != "MYTOOLRC" || m.Warnings[0].Reason == "" {
		t.Errorf("create warnings %+v", m.Warnings)
	}
	res := e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/MYTOOLRC", ifMatch: etag(m.Revision),
		body: map[string]any{"value": "warn-test-value-2"}}).want(t, 200, "")
	if m = res.meta(t); len(m.Warnings) != 1 {
		t.Errorf("update warnings %+v", m.Warnings)
	}
	res = e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/MYTOOLRC/rename", ifMatch: etag(m.Revision),
		body: map[string]any{"to": "KAFKA_OPTS"}}).want(t, 200, "")
	if m = res.meta(t); len(m.Warnings) != 1 || m.Warnings[0].Pattern != "*OPTS" {
		t.Errorf("rename warnings %+v", m.Warnings)
	}
	res = e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/KAFKA_OPTS"}).want(t, 200, "")
	if strings.Contains(string(res.body), "warnings") {
		t.Errorf("a read carries warnings: %s", res.body)
	}
	plain := e.create(t, "AUTH_TOKEN", "warn-test-value", nil)
	if plain.Warnings != nil {
		t.Errorf("AUTH_TOKEN warns %+v", plain.Warnings)
	}

	strict := newEnv(t, &secrets.Config{StrictNames: true}, nil)
	strict.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "MYTOOLRC", "value": "x"}}).
		want(t, 422, panel.ProblemReservedName)
	strict.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "PSQLRC", "value": "x"}}).
		want(t, 422, panel.ProblemReservedName)
}

func TestUpdate(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "AUTH_TOKEN", "update-test-v1", map[string]any{"description": "first"})
	path := "/api/secrets/AUTH_TOKEN"
	patch := func(ifMatch string, body any) *response {
		return e.do(t, req{actor: editor, method: "PATCH", path: path, ifMatch: ifMatch, body: body})
	}
	// A value and details in one revision.
	m2 := patch(etag(m.Revision), map[string]any{"value": "update-test-v2", "description": "second"}).want(t, 200, "").meta(t)
	if m2.Version != 2 || m2.Revision != m.Revision+1 || m2.Description != "second" {
		t.Fatalf("after update: %+v", m2)
	}
	// Details only: a revision, not a version.
	m3 := patch(etag(m2.Revision), map[string]any{"rotate_by": "2030-05-01T00:00:00Z"}).want(t, 200, "").meta(t)
	if m3.Version != 2 || m3.RotateBy.IsZero() || m3.Description != "second" {
		t.Fatalf("after details: %+v", m3)
	}
	m3 = patch(etag(m3.Revision), map[string]any{"rotate_by": ""}).want(t, 200, "").meta(t)
	if !m3.RotateBy.IsZero() {
		t.Fatalf("rotate_by not cleared")
	}
	// The version the editor saw is stale: 412, with the secret as it is.
	res := patch(etag(m.Revision), map[string]any{"value": "update-test-lost"}).want(t, 412, panel.ProblemConflict)
	p := res.problem(t)
	if p.Seen != m.Revision || p.Revision != m3.Revision || p.Version != 2 || p.Current == nil || p.Current.Revision != m3.Revision {
		t.Fatalf("conflict problem %+v", p)
	}
	if res.Header.Get("ETag") != etag(m3.Revision) {
		t.Errorf("conflict ETag %q", res.Header.Get("ETag"))
	}
	if mustReveal(t, e, "AUTH_TOKEN") != "update-test-v2" {
		t.Fatal("a stale write changed the value")
	}
	// If-Match is required, must be ours, and * overwrites what is there.
	patch("", map[string]any{"value": "x"}).want(t, 428, panel.ProblemPreconditionRequired)
	for _, bad := range []string{`W/"3"`, `3`, `"abc"`, `"0"`, `"1", "2"`} {
		patch(bad, map[string]any{"value": "x"}).want(t, 400, panel.ProblemBadRequest)
	}
	m4 := patch("*", map[string]any{"value": "update-test-v3"}).want(t, 200, "").meta(t)
	if m4.Version != 3 {
		t.Fatalf("* update: %+v", m4)
	}
	patch(etag(m4.Revision), map[string]any{}).want(t, 400, panel.ProblemBadRequest)
	patch(etag(m4.Revision), map[string]any{"name": "RENAMED"}).want(t, 400, panel.ProblemBadRequest)
	// Write-only is for good.
	m5 := patch(etag(m4.Revision), map[string]any{"write_only": true}).want(t, 200, "").meta(t)
	patch(etag(m5.Revision), map[string]any{"write_only": false}).want(t, 403, panel.ProblemWriteOnly)
	// Another spelling reaches the same secret.
	e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/auth_token", ifMatch: etag(m5.Revision),
		body: map[string]any{"description": "lower"}}).want(t, 200, "")
	e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/NOPE", ifMatch: `"1"`,
		body: map[string]any{"value": "x"}}).want(t, 404, panel.ProblemNotFound)
	// A deleted secret must be restored first.
	d := e.do(t, req{actor: editor, method: "DELETE", path: path, ifMatch: "*"}).want(t, 200, "").meta(t)
	patch(etag(d.Revision), map[string]any{"value": "x"}).want(t, 404, panel.ProblemNotFound)
}

// resolve resolves a Location header against the URL of the request to
// path (after the panel's mount point), as clients do, and returns the
// result's path after the mount point ("" if it left the panel).
func resolve(t testing.TB, path, location string) string {
	t.Helper()
	mountPoint := "http://panel.test/w/" + ws + "/secrets"
	base, err := url.Parse(mountPoint + path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(location)
	if err != nil {
		t.Fatalf("Location %q: %v", location, err)
	}
	abs := base.ResolveReference(ref).String()
	if !strings.HasPrefix(abs, mountPoint+"/") {
		return ""
	}
	return strings.TrimPrefix(abs, mountPoint)
}

func mustReveal(t testing.TB, e *env, name string) string {
	t.Helper()
	var r struct{ Value string }
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/" + name + "/reveal", body: map[string]any{}}).want(t, 200, "").json(t, &r)
	return r.Value
}

func TestRenameDeleteRestoreDestroy(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "OLD_NAME", "rename-test-value", nil)
	e.create(t, "TAKEN", "taken-test-value", nil)
	rename := func(from, ifMatch, to string) *response {
		return e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/" + from + "/rename", ifMatch: ifMatch, body: map[string]any{"to": to}})
	}
	rename("OLD_NAME", etag(m.Revision), "taken").want(t, 409, panel.ProblemExists)
	rename("OLD_NAME", etag(m.Revision), "BAD NAME").want(t, 422, panel.ProblemInvalidName)
	rename("OLD_NAME", etag(m.Revision), "PATH").want(t, 422, panel.ProblemReservedName)
	rename("OLD_NAME", etag(m.Revision+5), "NEW_NAME").want(t, 412, panel.ProblemConflict)
	rename("OLD_NAME", "", "NEW_NAME").want(t, 428, panel.ProblemPreconditionRequired)
	res := rename("OLD_NAME", etag(m.Revision), "NEW_NAME").want(t, 200, "")
	m = res.meta(t)
	if m.Name != "NEW_NAME" {
		t.Fatalf("renamed: %+v", m)
	}
	// Location, resolved against the rename's URL as a client does, is
	// the secret's new URL, where it answers.
	if got, want := resolve(t, "/api/secrets/OLD_NAME/rename", res.Header.Get("Location")), "/api/secrets/NEW_NAME"; got != want {
		t.Fatalf("Location %q resolves to %q, want %q", res.Header.Get("Location"), got, want)
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/NEW_NAME"}).want(t, 200, "")
	rename("OLD_NAME", "*", "X").want(t, 404, panel.ProblemNotFound)

	path := "/api/secrets/NEW_NAME"
	e.do(t, req{actor: editor, method: "DELETE", path: path, ifMatch: etag(m.Revision - 1)}).want(t, 412, panel.ProblemConflict)
	e.do(t, req{actor: editor, method: "DELETE", path: path}).want(t, 428, panel.ProblemPreconditionRequired)
	d := e.do(t, req{actor: editor, method: "DELETE", path: path, ifMatch: etag(m.Revision)}).want(t, 200, "").meta(t)
	if d.Deleted.IsZero() || d.DeletedBy != editor {
		t.Fatalf("deleted: %+v", d)
	}
	e.do(t, req{actor: editor, method: "DELETE", path: path, ifMatch: "*"}).want(t, 404, panel.ProblemNotFound)
	// The name stays taken while deleted.
	p := e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{"name": "NEW_NAME", "value": "v"}}).
		want(t, 409, panel.ProblemExists).problem(t)
	if !p.Deleted {
		t.Errorf("exists problem does not say the holder is deleted: %+v", p)
	}
	// Meta and versions still answer for a deleted secret.
	if got := e.do(t, req{actor: viewer, method: "GET", path: path}).want(t, 200, "").meta(t); got.Deleted.IsZero() {
		t.Errorf("meta of a deleted secret: %+v", got)
	}
	u := e.do(t, req{actor: editor, method: "POST", path: path + "/undelete", ifMatch: etag(d.Revision)}).want(t, 200, "").meta(t)
	if !u.Deleted.IsZero() {
		t.Fatalf("undeleted: %+v", u)
	}
	// Restoring a live secret is a conflict: it is not deleted.
	e.do(t, req{actor: editor, method: "POST", path: path + "/undelete", ifMatch: etag(u.Revision)}).want(t, 412, panel.ProblemConflict)
	e.do(t, req{actor: editor, method: "POST", path: path + "/undelete", body: "not json", ifMatch: etag(u.Revision)}).want(t, 400, panel.ProblemBadRequest)
	e.do(t, req{actor: editor, method: "POST", path: path + "/destroy", ifMatch: etag(u.Revision - 1)}).want(t, 412, panel.ProblemConflict)
	res = e.do(t, req{actor: editor, method: "POST", path: path + "/destroy", ifMatch: etag(u.Revision)}).want(t, 204, "")
	if len(res.body) != 0 {
		t.Errorf("204 with a body")
	}
	e.do(t, req{actor: editor, method: "POST", path: path + "/destroy", ifMatch: "*"}).want(t, 404, panel.ProblemNotFound)
	e.do(t, req{actor: viewer, method: "GET", path: path}).want(t, 404, panel.ProblemNotFound)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/NEW_NAME/undelete", ifMatch: "*"}).want(t, 404, panel.ProblemNotFound)
}

func TestVersionsAndRollback(t *testing.T) {
	e := newEnv(t, &secrets.Config{KeepVersions: 3}, nil)
	m := e.create(t, "AUTH_TOKEN", "rollback-test-v1", nil)
	for i := 2; i <= 4; i++ {
		m = e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/AUTH_TOKEN", ifMatch: etag(m.Revision),
			body: map[string]any{"value": fmt.Sprintf("rollback-test-v%d", i)}}).want(t, 200, "").meta(t)
	}
	var vs struct{ Versions []secrets.VersionMeta }
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets/AUTH_TOKEN/versions"}).want(t, 200, "").json(t, &vs)
	if len(vs.Versions) != 3 || vs.Versions[0].Version != 4 || !vs.Versions[0].Current || vs.Versions[2].Version != 2 {
		t.Fatalf("versions %+v", vs.Versions)
	}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/secrets/NOPE/versions"}).want(t, 404, panel.ProblemNotFound)
	rb := func(ifMatch string, body any) *response {
		return e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/rollback", ifMatch: ifMatch, body: body})
	}
	rb(etag(m.Revision), map[string]any{"version": 1}).want(t, 404, panel.ProblemNoVersion)
	rb(etag(m.Revision), map[string]any{"version": 0}).want(t, 400, panel.ProblemBadRequest)
	rb(etag(m.Revision-1), map[string]any{"version": 2}).want(t, 412, panel.ProblemConflict)
	rb("", map[string]any{"version": 2}).want(t, 428, panel.ProblemPreconditionRequired)
	r := rb(etag(m.Revision), map[string]any{"version": 2}).want(t, 200, "").meta(t)
	if r.Version != 5 || mustReveal(t, e, "AUTH_TOKEN") != "rollback-test-v2" {
		t.Fatalf("rolled back: %+v", r)
	}
}

func TestReveal(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "AUTH_TOKEN", "reveal-test-v1", nil)
	e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/AUTH_TOKEN", ifMatch: etag(m.Revision),
		body: map[string]any{"value": "reveal-test-v2"}}).want(t, 200, "")
	var r struct {
		Name        string
		Version     int64
		Value       string
		ValueBase64 string `json:"value_base64"`
	}
	res := e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal", body: map[string]any{}}).want(t, 200, "")
	res.json(t, &r)
	if r.Value != "reveal-test-v2" || r.Version != 2 || r.Name != "AUTH_TOKEN" {
		t.Fatalf("revealed %+v", r)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	// An empty body reveals the current version too.
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal"}).want(t, 200, "")
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal", body: map[string]any{"version": 1}}).want(t, 200, "").json(t, &r)
	if r.Value != "reveal-test-v1" || r.Version != 1 {
		t.Fatalf("version 1 revealed %+v", r)
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal", body: map[string]any{"version": 9}}).want(t, 404, panel.ProblemNoVersion)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/NOPE/reveal", body: map[string]any{}}).want(t, 404, panel.ProblemNotFound)
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/AUTH_TOKEN/reveal"}).want(t, 405, panel.ProblemMethod)
	e.do(t, req{actor: viewer, method: "POST", path: "/api/secrets/AUTH_TOKEN/reveal", body: map[string]any{}}).want(t, 403, panel.ProblemForbidden)
	e.create(t, "DEPLOY_KEY", "reveal-test-write-only", map[string]any{"write_only": true})
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/DEPLOY_KEY/reveal", body: map[string]any{}}).want(t, 403, panel.ProblemWriteOnly)
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: map[string]any{
		"name": "BINARY", "value_base64": base64.StdEncoding.EncodeToString([]byte{0xc3, 0x28})}}).want(t, 201, "")
	r.Value, r.ValueBase64 = "", ""
	e.do(t, req{actor: editor, method: "POST", path: "/api/secrets/BINARY/reveal", body: map[string]any{}}).want(t, 200, "").json(t, &r)
	if r.Value != "" || r.ValueBase64 != "wyg=" {
		t.Fatalf("binary revealed %+v", r)
	}
	// Every reveal is in the audit trail.
	evs, err := e.m.Events(t.Context(), secrets.EventQuery{Workspace: ws, Action: secrets.ActionReveal})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 5 {
		t.Errorf("%d reveal events", len(evs))
	}
}
