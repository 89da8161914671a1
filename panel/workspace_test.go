package panel_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// The routes on the whole workspace: .env upload, export, due secrets and
// the audit trail.

func TestDotenv(t *testing.T) {
	const budget = 4096
	e := newEnv(t, &secrets.Config{MaxEnvBytes: budget}, nil)
	e.create(t, "KEEP", "dotenv-keep", nil)
	e.create(t, "CHANGE", "dotenv-old", nil)
	e.create(t, "DROP", "dotenv-drop", nil)
	text := "KEEP=dotenv-keep\nCHANGE=dotenv-new\nADD='dotenv added'\n"
	var d secrets.Diff
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": text, "remove": true}}).
		want(t, 200, "").json(t, &d)
	if fmt.Sprint(d.Added, d.Changed, d.Unchanged, d.Removed) != "[ADD] [CHANGE] [KEEP] [DROP]" {
		t.Fatalf("diff %+v", d)
	}
	// The workspace changes after the preview: the apply is refused whole.
	m, _ := e.m.Meta(secrets.WithActor(t.Context(), editor), ws, "CHANGE")
	e.do(t, req{actor: editor, method: "PATCH", path: "/api/secrets/CHANGE", ifMatch: etag(m.Revision), body: map[string]any{"value": "dotenv-other"}}).want(t, 200, "")
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": text, "diff": d}}).want(t, 412, panel.ProblemConflict)
	if mustReveal(t, e, "CHANGE") != "dotenv-other" {
		t.Fatal("a refused apply changed something")
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": text, "remove": true}}).want(t, 200, "").json(t, &d)
	var out struct{ Secrets []secrets.Meta }
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{
		"text_base64": base64.StdEncoding.EncodeToString([]byte(text)), "diff": d}}).want(t, 200, "").json(t, &out)
	if len(out.Secrets) != 3 || mustReveal(t, e, "ADD") != "dotenv added" {
		t.Fatalf("applied %+v", out.Secrets)
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets/DROP"}).want(t, 200, "")
	var dropped secrets.Page
	e.do(t, req{actor: editor, method: "GET", path: "/api/secrets?deleted=true"}).json(t, &dropped)
	if len(dropped.Secrets) != 1 || dropped.Secrets[0].Name != "DROP" {
		t.Fatalf("removed: %+v", dropped.Secrets)
	}

	prev := func(body any) *response {
		return e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", body: body})
	}
	p := prev(map[string]any{"text": "A=1\nLD_PRELOAD=/x.so\n"}).want(t, 422, panel.ProblemInvalidDotenv).problem(t)
	if p.Line != 2 || p.Reason != "ProblemReservedName" {
		t.Errorf("dotenv problem %+v", p)
	}
	p = prev(map[string]any{"text": "A='unterminated\n"}).want(t, 422, panel.ProblemInvalidDotenv).problem(t)
	if p.Line != 1 || p.Reason != "syntax" {
		t.Errorf("dotenv syntax problem %+v", p)
	}
	// Over the workspace's budget: the preview shows it, the apply refuses.
	big := "BIG=" + strings.Repeat("x", budget) + "\n"
	d = secrets.Diff{}
	prev(map[string]any{"text": big}).want(t, 200, "").json(t, &d)
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": big, "diff": d}}).want(t, 413, panel.ProblemTooLarge)
	// The text's own bound (the Manager's), then the body's.
	limit := int(e.m.Limits().MaxDotenvBytes)
	if limit < 4*budget+256<<10 {
		t.Fatalf("the Manager's .env bound %d is less than an export of a full workspace could take", limit)
	}
	prev(map[string]any{"text": strings.Repeat("# comment\n", limit/10+1)}).want(t, 413, panel.ProblemTooLarge)
	prev(`{"text":"`+strings.Repeat(`\n`, limit+1)+`"}`).want(t, 413, panel.ProblemTooLarge)
	if p := prev(map[string]any{"text": 7}).want(t, 400, panel.ProblemBadRequest).problem(t); p.Detail != `the field "text" has the wrong type` {
		t.Errorf("a text of the wrong type: %q", p.Detail)
	}
	p = e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": "A=b\n", "diff": map[string]any{"added": 7}}}).want(t, 400, panel.ProblemBadRequest).problem(t)
	if p.Detail != `the field "diff.added" has the wrong type` {
		t.Errorf("a nested field of the wrong type: %q", p.Detail)
	}
	prev(map[string]any{}).want(t, 400, panel.ProblemBadRequest)
	prev(map[string]any{"text": "A=b", "text_base64": "QT1i"}).want(t, 400, panel.ProblemBadRequest)
	prev(map[string]any{"text_base64": "%%%"}).want(t, 400, panel.ProblemBadRequest)
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": "A=b\n"}}).want(t, 400, panel.ProblemBadRequest)
	e.do(t, req{actor: viewer, method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": "A=b\n"}}).want(t, 403, panel.ProblemForbidden)
}

// A .env body larger than every other body is read only for a caller
// who may diff: one who may not gets 413 before the server reads and
// parses megabytes for the Manager to refuse (a trial: 72 MB allocated per
// request of a user with no rights in the workspace).
func TestDotenvBodyOnlyForDiffers(t *testing.T) {
	e := newEnv(t, nil, nil)
	text := strings.Repeat("# comment\n", 150_000) + "A=b\n" // 1.5 MB, past MaxBodyBytes as JSON
	if int64(len(text)) >= e.m.Limits().MaxDotenvBytes {
		t.Fatalf("the text (%d bytes) must fit the Manager's .env bound", len(text))
	}
	for _, path := range []string{"/api/dotenv/preview", "/api/dotenv/apply"} {
		for _, actor := range []string{viewer, "user:stranger"} {
			if p := e.do(t, req{actor: actor, method: "POST", path: path, body: map[string]any{"text": text}}).want(t, 413, panel.ProblemTooLarge).problem(t); !strings.Contains(p.Detail, "read only from a caller who may diff") {
				t.Errorf("the 413 does not say why: %q", p.Detail)
			}
			small := map[string]any{"text": "A=b\n"}
			if path == "/api/dotenv/apply" {
				small["diff"] = map[string]any{}
			}
			e.do(t, req{actor: actor, method: "POST", path: path, body: small}).want(t, 403, panel.ProblemForbidden)
		}
	}
	var d secrets.Diff
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": text}}).want(t, 200, "").json(t, &d)
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", body: map[string]any{"text": text, "diff": d}}).want(t, 200, "")
	if _, err := e.m.Get(secrets.WithActor(context.Background(), editor), ws, "A"); err != nil {
		t.Fatalf("the editor's large .env was not applied: %v", err)
	}
}

// The preview names the write-only secrets whose values it could not
// compare ("uncompared"), and only those: the page's note says so exactly
// when there is one.
func TestDotenvPreviewUncompared(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.create(t, "PLAIN", "uncompared-plain", nil)
	e.create(t, "HIDDEN", "uncompared-hidden", map[string]any{"write_only": true})
	preview := func(text string) map[string]any {
		var out map[string]any
		e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", body: map[string]any{"text": text}}).want(t, 200, "").json(t, &out)
		return out
	}
	for _, c := range []struct{ text, changed, uncompared string }{
		{"PLAIN=uncompared-other\n", "[PLAIN]", "[]"},
		{"PLAIN=uncompared-plain\nNEW=x\n", "[]", "[]"},
		{"PLAIN=uncompared-other\nHIDDEN=uncompared-hidden\n", "[HIDDEN PLAIN]", "[HIDDEN]"},
		{"HIDDEN=uncompared-guess\n", "[HIDDEN]", "[HIDDEN]"},
	} {
		d := preview(c.text)
		if fmt.Sprint(d["changed"]) != c.changed || fmt.Sprint(d["uncompared"]) != c.uncompared {
			t.Errorf("preview of %q: changed %v, uncompared %v; want %s, %s", c.text, d["changed"], d["uncompared"], c.changed, c.uncompared)
		}
	}
}

func TestExport(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.create(t, "AUTH_TOKEN", "export-test-value", nil)
	e.create(t, "DEPLOY_KEY", "export-test-write-only", map[string]any{"write_only": true})
	res := e.do(t, req{actor: editor, method: "POST", path: "/api/export", body: map[string]any{}}).want(t, 200, "")
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	body := string(res.body)
	if !strings.Contains(body, "AUTH_TOKEN='export-test-value'") || strings.Contains(body, "export-test-write-only") {
		t.Errorf("export:\n%s", body)
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/export"}).want(t, 405, panel.ProblemMethod)
	e.do(t, req{actor: viewer, method: "POST", path: "/api/export", body: map[string]any{}}).want(t, 403, panel.ProblemForbidden)
}

// TestExportOfFullWorkspaceReimports: an export of a workspace at its
// budget, values of single quotes that Export writes as 4 bytes each (a
// 4 MB text for the default 1 MiB), is previewed and applied through the
// panel: its bound is the Manager's (a trial: 413 against a 2.3 MB bound).
func TestExportOfFullWorkspaceReimports(t *testing.T) {
	e := newEnv(t, nil, nil)
	quotes := strings.Repeat("'", 131_062)
	for i := range 8 {
		e.create(t, fmt.Sprintf("QUOT%d", i+1), quotes, nil)
	}
	text := e.do(t, req{actor: editor, method: "POST", path: "/api/export", body: map[string]any{}}).want(t, 200, "").body
	if len(text) < 4<<20-2<<10 {
		t.Fatalf("the export takes %d bytes, want over 4 MB", len(text))
	}
	var d secrets.Diff
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/preview", ws: "ws-copy", body: map[string]any{"text": string(text)}}).
		want(t, 200, "").json(t, &d)
	if len(d.Added) != 8 {
		t.Fatalf("preview of the export: %+v", d)
	}
	e.do(t, req{actor: editor, method: "POST", path: "/api/dotenv/apply", ws: "ws-copy", body: map[string]any{"text": string(text), "diff": d}}).
		want(t, 200, "")
	env, err := e.m.EnvFor(secrets.WithActor(t.Context(), editor), "ws-copy")
	if err != nil || len(env) != 8 || env[0] != "QUOT1="+quotes {
		t.Fatalf("the copy: %d variables, %v", len(env), err)
	}
}

func TestDue(t *testing.T) {
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, nil, &panel.Config{DueWithin: 7 * 24 * time.Hour, Now: func() time.Time { return now }})
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.RFC3339) }
	e.create(t, "EXPIRED", "due-1", map[string]any{"expires": day(-1)})
	e.create(t, "SOON", "due-2", map[string]any{"rotate_by": day(3)})
	e.create(t, "LATER", "due-3", map[string]any{"expires": day(30)})
	e.create(t, "NEVER", "due-4", nil)
	var due struct {
		Before  time.Time
		Secrets []secrets.Meta
	}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/due"}).want(t, 200, "").json(t, &due)
	if len(due.Secrets) != 2 || due.Secrets[0].Name != "EXPIRED" || due.Secrets[1].Name != "SOON" || !due.Before.Equal(now.AddDate(0, 0, 7)) {
		t.Fatalf("due %+v", due)
	}
	e.do(t, req{actor: stranger, method: "GET", path: "/api/due"}).want(t, 403, panel.ProblemForbidden)
}

func TestEvents(t *testing.T) {
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := secrets.NewAuditKey(ak)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, &secrets.Config{AuditKey: key}, nil)
	m := e.create(t, "AUTH_TOKEN", "events-test-value", nil)
	e.create(t, "OTHER", "events-other-value", nil)
	e.do(t, req{actor: editor, method: "DELETE", path: "/api/secrets/AUTH_TOKEN", ifMatch: etag(m.Revision)}).want(t, 200, "")
	type page struct {
		Events []secrets.Event
		Next   string
	}
	var p page
	// The audit trail is an ability of its own: a viewer who may list
	// may not read it.
	e.do(t, req{actor: viewer, method: "GET", path: "/api/events?name=AUTH_TOKEN"}).want(t, 403, panel.ProblemForbidden)
	e.do(t, req{actor: editor, method: "GET", path: "/api/events?name=AUTH_TOKEN"}).want(t, 200, "").json(t, &p)
	if len(p.Events) < 2 || p.Events[0].Action != secrets.ActionDelete || p.Events[0].Actor != editor {
		t.Fatalf("events %+v", p.Events)
	}
	for _, ev := range p.Events {
		for _, s := range ev.Secrets {
			if s.Name != "AUTH_TOKEN" || s.Fingerprint != nil {
				t.Errorf("event secret %+v", s)
			}
		}
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/events?limit=1"}).want(t, 200, "").json(t, &p)
	if len(p.Events) != 1 || p.Next == "" {
		t.Fatalf("first page %+v", p)
	}
	first := p.Events[0].ID
	e.do(t, req{actor: editor, method: "GET", path: "/api/events?limit=1&before=" + p.Next}).want(t, 200, "").json(t, &p)
	if len(p.Events) != 1 || p.Events[0].ID >= first {
		t.Fatalf("second page %+v", p)
	}
	for _, q := range []string{"?before=x", "?before=0", "?limit=0", "?limit=201"} {
		e.do(t, req{actor: editor, method: "GET", path: "/api/events" + q}).want(t, 400, panel.ProblemBadRequest)
	}
}

// TestEventsOmittedSecrets: Activity passes on which events a page left
// without their secrets (secrets.MaxEventPageSecrets), so that the page
// says so instead of "no secrets".
func TestEventsOmittedSecrets(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := secrets.WithActor(context.Background(), editor)
	var text strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&text, "S%04d=v\n", i)
	}
	if _, err := e.m.Import(ctx, "ws-1", []byte(text.String()), nil); err != nil {
		t.Fatal(err)
	}
	for range secrets.MaxEventPageSecrets/1000 + 2 {
		if _, err := e.m.EnvFor(ctx, "ws-1"); err != nil {
			t.Fatal(err)
		}
	}
	var p struct {
		Events []struct {
			Action         secrets.Action
			Secrets        []secrets.EventSecret
			SecretsOmitted bool
		}
	}
	e.do(t, req{actor: editor, method: "GET", path: "/api/events?limit=200"}).want(t, 200, "").json(t, &p)
	omitted := 0
	for _, ev := range p.Events {
		if ev.SecretsOmitted {
			omitted++
			if len(ev.Secrets) > 0 {
				t.Fatalf("an event marked secretsOmitted lists %d secrets", len(ev.Secrets))
			}
		}
	}
	if omitted == 0 || p.Events[0].SecretsOmitted || len(p.Events[0].Secrets) != 1000 {
		t.Fatalf("%d of %d events omitted; the first lists %d secrets", omitted, len(p.Events), len(p.Events[0].Secrets))
	}
}
