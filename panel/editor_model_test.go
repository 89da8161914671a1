package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dataspace/secrets"
)

// The editor's model (static/editor_model.js) runs alone in headless
// Chromium: a test page that imports only the model and
// testdata/editor_model_test.js, which plays each case of the table below
// on it. No page of the panel, no DOM, no server of the panel.

// editCase is one case: what the editor opened and did (see
// testdata/editor_model_test.js) and what the model must answer.
type editCase struct {
	name string
	in   map[string]any // base, dirty, form, conflict, current, min
	want editAnswer
}

// editAnswer is what the model answered: the form's problem (the field it
// concerns), a new secret's body, the new name, the differences shown in a
// conflict and whether "save mine" could save over it, the changes a
// PATCH sends, whether a short value goes unmasked, the names the form's
// value references (shown beside it), the warning after a save that
// answered "undefined" names, and references() of each value of
// "syntax".
type editAnswer struct {
	Problem     *struct{ Field string } `json:"problem"`
	Created     map[string]any          `json:"created,omitempty"`
	Rename      string                  `json:"rename,omitempty"`
	Differences []string                `json:"differences"`
	Overwrite   bool                    `json:"overwrite,omitempty"`
	Changes     map[string]any          `json:"changes"`
	Unmasked    *bool                   `json:"unmasked,omitempty"`
	References  []string                `json:"references,omitempty"`
	Warning     string                  `json:"warning,omitempty"`
	Syntax      [][]string              `json:"syntax,omitempty"`
}

func problemIn(field string) *struct{ Field string } { return &struct{ Field string }{field} }

// meta is a secret as the API describes it, version 1 by alice, with
// fields set over it.
func meta(fields map[string]any) map[string]any {
	m := map[string]any{"name": "API_KEY", "version": 1, "revision": 7, "description": "CI token",
		"value_updated_by": "user:alice", "updated_by": "user:alice", "updated": "2030-01-02T03:04:05Z"}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

var editCases = []editCase{
	{name: "new secret", in: map[string]any{"base": nil, "dirty": []string{"name", "value", "expires", "write_only"},
		"form": map[string]any{"name": "  DEPLOY_KEY ", "value": "s3cret-v4lue", "expires": "2031-03-03", "write_only": true}},
		want: editAnswer{Created: map[string]any{"name": "DEPLOY_KEY", "scope": "*", "value": "s3cret-v4lue", "description": "",
			"write_only": true, "file": false, "protected": false, "expand": false, "expires": "2031-03-03T00:00:00Z"}}},
	{name: "new secret in a scope, protected", in: map[string]any{"base": nil, "dirty": []string{"name", "scope", "value", "protected"},
		"form": map[string]any{"name": "DEPLOY_KEY", "scope": " production ", "value": "s3cret-v4lue", "protected": true}},
		want: editAnswer{Created: map[string]any{"name": "DEPLOY_KEY", "scope": "production", "value": "s3cret-v4lue", "description": "",
			"write_only": false, "file": false, "protected": true, "expand": false}}},
	{name: "new secret with an empty scope is for every environment", in: map[string]any{"base": nil, "dirty": []string{"name", "scope", "value"},
		"form": map[string]any{"name": "DEPLOY_KEY", "scope": "", "value": "s3cret-v4lue"}},
		want: editAnswer{Created: map[string]any{"name": "DEPLOY_KEY", "scope": "*", "value": "s3cret-v4lue", "description": "",
			"write_only": false, "file": false, "protected": false, "expand": false}}},
	{name: "new secret with a star inside its scope", in: map[string]any{"base": nil, "dirty": []string{"name", "scope", "value"},
		"form": map[string]any{"name": "DEPLOY_KEY", "scope": "review/*/x", "value": "s3cret-v4lue"}},
		want: editAnswer{Problem: problemIn("scope"), Created: map[string]any{"name": "DEPLOY_KEY", "scope": "review/*/x", "value": "s3cret-v4lue",
			"description": "", "write_only": false, "file": false, "protected": false, "expand": false}}},
	{name: "a scope with a space", in: map[string]any{"base": meta(nil), "dirty": []string{"scope"}, "form": map[string]any{"scope": "pro duction"}},
		want: editAnswer{Problem: problemIn("scope"), Rename: "API_KEY@pro duction", Changes: map[string]any{}}},
	{name: "another scope is a rename to the whole name", in: map[string]any{"base": meta(map[string]any{"name": "API_KEY@production"}),
		"dirty": []string{"scope"}, "form": map[string]any{"scope": "review/*"}},
		want: editAnswer{Rename: "API_KEY@review/*", Changes: map[string]any{}}},
	{name: "back to every environment", in: map[string]any{"base": meta(map[string]any{"name": "API_KEY@production"}),
		"dirty": []string{"scope"}, "form": map[string]any{"scope": "*"}},
		want: editAnswer{Rename: "API_KEY", Changes: map[string]any{}}},
	{name: "a scoped secret unchanged", in: map[string]any{"base": meta(map[string]any{"name": "API_KEY@production", "protected": true}),
		"dirty": []string{"name", "scope", "protected"}},
		want: editAnswer{Changes: map[string]any{}}},
	{name: "protected turned on", in: map[string]any{"base": meta(nil), "dirty": []string{"protected"}, "form": map[string]any{"protected": true}},
		want: editAnswer{Changes: map[string]any{"protected": true}}},
	{name: "conflict: they protected it", in: map[string]any{"base": meta(nil), "dirty": []string{"protected"},
		"form": map[string]any{"protected": true}, "conflict": true, "current": meta(map[string]any{"revision": 8, "protected": true})},
		want: editAnswer{Differences: []string{"Made protected: only protected jobs get it (you changed it too)."}, Overwrite: true,
			Changes: map[string]any{}}},
	{name: "new secret without a value", in: map[string]any{"base": nil, "form": map[string]any{"name": "DEPLOY_KEY"}},
		want: editAnswer{Problem: problemIn("value"), Created: map[string]any{"name": "DEPLOY_KEY", "scope": "*", "value": "",
			"description": "", "write_only": false, "file": false, "protected": false, "expand": false}}},
	{name: "new secret, write-only and expanding", in: map[string]any{"base": nil, "dirty": []string{"name", "value", "write_only", "expand"},
		"form": map[string]any{"name": "DSN", "value": "postgres://${USER}@db", "write_only": true, "expand": true}},
		want: editAnswer{Problem: problemIn("expand"), References: []string{"USER"}, Created: map[string]any{"name": "DSN", "scope": "*",
			"value": "postgres://${USER}@db", "description": "", "write_only": true, "file": false, "protected": false, "expand": true}}},
	{name: "a write-only secret made to expand", in: map[string]any{"base": meta(map[string]any{"write_only": true}), "dirty": []string{"expand"},
		"form": map[string]any{"expand": true}},
		want: editAnswer{Problem: problemIn("expand"), Changes: map[string]any{"expand": true}}},
	{name: "no name", in: map[string]any{"base": meta(nil), "form": map[string]any{"name": "   "}},
		want: editAnswer{Problem: problemIn("name"), Rename: "", Changes: map[string]any{}}},
	{name: "a name starting with a digit", in: map[string]any{"base": meta(nil), "dirty": []string{"name"}, "form": map[string]any{"name": "1KEY"}},
		want: editAnswer{Problem: problemIn("name"), Rename: "1KEY", Changes: map[string]any{}}},
	{name: "unchanged", in: map[string]any{"base": meta(map[string]any{"expires": "2031-03-03T00:00:00Z", "file": true})},
		want: editAnswer{Changes: map[string]any{}}},
	{name: "touched but as it was", in: map[string]any{
		"base":  meta(map[string]any{"expires": "2031-03-03T00:00:00Z"}),
		"dirty": []string{"name", "scope", "value", "description", "expires", "rotate_by", "write_only", "file", "protected"}},
		want: editAnswer{Changes: map[string]any{}}},
	{name: "value only", in: map[string]any{"base": meta(nil), "dirty": []string{"value"}, "form": map[string]any{"value": "n3w-value"}},
		want: editAnswer{Changes: map[string]any{"value": "n3w-value"}}},
	{name: "value emptied keeps the current one", in: map[string]any{"base": meta(nil), "dirty": []string{"value"}},
		want: editAnswer{Changes: map[string]any{}}},
	{name: "info only", in: map[string]any{"base": meta(nil), "dirty": []string{"description", "rotate_by"},
		"form": map[string]any{"description": "Deploy token", "rotate_by": "2030-06-01"}},
		want: editAnswer{Changes: map[string]any{"description": "Deploy token", "rotate_by": "2030-06-01T00:00:00Z"}}},
	{name: "description cleared", in: map[string]any{"base": meta(nil), "dirty": []string{"description"}, "form": map[string]any{"description": ""}},
		want: editAnswer{Changes: map[string]any{"description": ""}}},
	{name: "whitespace in description is sent as typed", in: map[string]any{"base": meta(nil), "dirty": []string{"description"},
		"form": map[string]any{"description": " CI token "}},
		want: editAnswer{Changes: map[string]any{"description": " CI token "}}},
	{name: "no description, touched", in: map[string]any{"base": meta(map[string]any{"description": nil}), "dirty": []string{"description"}},
		want: editAnswer{Changes: map[string]any{}}},
	{name: "expiry cleared", in: map[string]any{"base": meta(map[string]any{"expires": "2031-03-03T00:00:00Z"}),
		"dirty": []string{"expires"}, "form": map[string]any{"expires": ""}},
		want: editAnswer{Changes: map[string]any{"expires": ""}}},
	{name: "write-only turned on", in: map[string]any{"base": meta(nil), "dirty": []string{"write_only"}, "form": map[string]any{"write_only": true}},
		want: editAnswer{Changes: map[string]any{"write_only": true}}},
	{name: "file toggled off", in: map[string]any{"base": meta(map[string]any{"file": true}), "dirty": []string{"file"}, "form": map[string]any{"file": false}},
		want: editAnswer{Changes: map[string]any{"file": false}}},
	{name: "an untouched field is not sent", in: map[string]any{"base": meta(nil), "dirty": []string{"value"},
		"form": map[string]any{"value": "n3w-value", "file": true}},
		want: editAnswer{Changes: map[string]any{"value": "n3w-value"}}},
	{name: "renamed", in: map[string]any{"base": meta(nil), "dirty": []string{"name", "file"}, "form": map[string]any{"name": " API_TOKEN", "file": true}},
		want: editAnswer{Rename: "API_TOKEN", Changes: map[string]any{"file": true}}},
	{name: "conflict with a change of another field", in: map[string]any{"base": meta(nil), "dirty": []string{"value"},
		"form": map[string]any{"value": "m1ne-value"}, "conflict": true,
		"current": meta(map[string]any{"revision": 8, "rotate_by": "2030-06-01T00:00:00Z", "updated_by": "user:bob"})},
		want: editAnswer{Differences: []string{"Rotate by: none → 2030-06-01."}, Overwrite: true,
			Changes: map[string]any{"value": "m1ne-value"}}},
	{name: "conflict on the same field", in: map[string]any{"base": meta(nil), "dirty": []string{"description", "value"},
		"form": map[string]any{"description": "Mine", "value": "m1ne-value"}, "conflict": true,
		"current": meta(map[string]any{"revision": 9, "version": 2, "description": "Theirs", "value_updated_by": "user:bob"})},
		want: editAnswer{Differences: []string{"The value: version 1 → 2, by user:bob (you changed it too).",
			"The description: now “Theirs” (you changed it too)."}, Overwrite: true,
			Changes: map[string]any{"description": "Mine", "value": "m1ne-value"}}},
	{name: "conflict where they made the same change", in: map[string]any{"base": meta(nil), "dirty": []string{"description"},
		"form": map[string]any{"description": "Same"}, "conflict": true,
		"current": meta(map[string]any{"revision": 8, "description": "Same"})},
		want: editAnswer{Differences: []string{"The description: now “Same” (you changed it too)."}, Overwrite: true,
			Changes: map[string]any{}}},
	// Saved over theirs, the form's name (untouched) renames it back, as
	// the editor always did.
	{name: "conflict with a rename, write-only and file", in: map[string]any{"base": meta(map[string]any{"expires": "2031-03-03T00:00:00Z"}),
		"dirty": []string{"expires"}, "form": map[string]any{"expires": "2032-01-01"}, "conflict": true,
		"current": meta(map[string]any{"revision": 8, "name": "API_TOKEN", "write_only": true, "file": true})},
		want: editAnswer{Differences: []string{"Expiry: 2031-03-03 → none (you changed it too).", "It was made write-only.",
			"Delivered as a file: yes.", "Renamed from API_KEY to API_TOKEN."}, Overwrite: true,
			Rename: "API_KEY", Changes: map[string]any{"expires": "2032-01-01T00:00:00Z"}}},
	{name: "conflict saved unchanged", in: map[string]any{"base": meta(nil), "dirty": []string{"file"},
		"form": map[string]any{"file": true}, "conflict": true, "current": meta(map[string]any{"revision": 8})},
		want: editAnswer{Differences: []string{}, Overwrite: true, Changes: map[string]any{"file": true}}},
	{name: "conflict with a deletion", in: map[string]any{"base": meta(nil), "dirty": []string{"description"},
		"form": map[string]any{"description": "Mine"}, "conflict": true,
		"current": meta(map[string]any{"revision": 8, "deleted": "2030-01-03T00:00:00Z", "deleted_by": "user:bob"})},
		want: editAnswer{Changes: map[string]any{"description": "Mine"}}},
	{name: "conflict with a destruction", in: map[string]any{"base": meta(nil), "dirty": []string{"description"},
		"form": map[string]any{"description": "Mine"}, "conflict": true, "current": nil},
		want: editAnswer{Changes: map[string]any{"description": "Mine"}}},
	{name: "new secret that expands references", in: map[string]any{"base": nil, "dirty": []string{"name", "value", "expand"},
		"form": map[string]any{"name": "DATABASE_URL", "value": "postgres://app:${DB_PASSWORD}@${DB_HOST}/app?x=${DB_PASSWORD}", "expand": true}},
		want: editAnswer{Created: map[string]any{"name": "DATABASE_URL", "scope": "*",
			"value": "postgres://app:${DB_PASSWORD}@${DB_HOST}/app?x=${DB_PASSWORD}", "description": "",
			"write_only": false, "file": false, "protected": false, "expand": true},
			References: []string{"DB_PASSWORD", "DB_HOST"}}},
	{name: "references unchecked: the value means what it says", in: map[string]any{"base": nil, "dirty": []string{"name", "value"},
		"form": map[string]any{"name": "PASSWORD", "value": "pa${ss}word"}},
		want: editAnswer{Created: map[string]any{"name": "PASSWORD", "scope": "*", "value": "pa${ss}word", "description": "",
			"write_only": false, "file": false, "protected": false, "expand": false}}},
	{name: "expand turned on, value not revealed: no names shown", in: map[string]any{"base": meta(nil), "dirty": []string{"expand"},
		"form": map[string]any{"expand": true}},
		want: editAnswer{Changes: map[string]any{"expand": true}}},
	{name: "expand turned off", in: map[string]any{"base": meta(map[string]any{"expand": true}), "dirty": []string{"expand", "value"},
		"form": map[string]any{"expand": false, "value": "${A}-literal"}},
		want: editAnswer{Changes: map[string]any{"expand": false, "value": "${A}-literal"}}},
	{name: "an expanding secret's value revealed", in: map[string]any{"base": meta(map[string]any{"expand": true}),
		"form": map[string]any{"value": "$${LITERAL} ${TOKEN}"}},
		want: editAnswer{Changes: map[string]any{}, References: []string{"TOKEN"}}},
	{name: "conflict: they made it expand", in: map[string]any{"base": meta(nil), "dirty": []string{"description"},
		"form": map[string]any{"description": "Mine"}, "conflict": true, "current": meta(map[string]any{"revision": 8, "expand": true})},
		want: editAnswer{Differences: []string{"Made to expand its ${…} references."}, Overwrite: true,
			Changes: map[string]any{"description": "Mine"}}},
	{name: "saved with undefined names", in: map[string]any{"base": meta(nil),
		"saved": meta(map[string]any{"name": "DATABASE_URL", "expand": true, "undefined": []string{"DB_HOST", "DB_PORT"}})},
		want: editAnswer{Changes: map[string]any{},
			Warning: "Warning: DATABASE_URL references names not defined in any scope yet: DB_HOST, DB_PORT. Jobs that get it fail until they are added."}},
	{name: "saved with one undefined name", in: map[string]any{"base": meta(nil),
		"saved": meta(map[string]any{"expand": true, "undefined": []string{"DB_HOST"}})},
		want: editAnswer{Changes: map[string]any{},
			Warning: "Warning: API_KEY references a name not defined in any scope yet: DB_HOST. Jobs that get it fail until it is added."}},
	// The same syntax as secrets.References (internal/expand).
	{name: "reference syntax", in: map[string]any{"base": meta(nil), "syntax": []string{
		"", "plain", "${A}", "${A}${B}${A}", "$${A}", "$$${A}", "$${A}${B}", "$A ${}", "${1X} ${A-B} ${A:-x}", "${A",
		"${X${Y}", "é${Ü}${_é}${_ok9}ü", "${a}", "$", "${A}}", "}${B}{",
	}},
		want: editAnswer{Changes: map[string]any{}, Syntax: [][]string{
			nil, nil, {"A"}, {"A", "B"}, nil, nil, {"B"}, nil, nil, nil,
			{"Y"}, {"_ok9"}, {"a"}, nil, {"A"}, {"B"},
		}}},
	{name: "a short value goes unmasked", in: map[string]any{"base": meta(nil), "dirty": []string{"value"},
		"form": map[string]any{"value": "abcde"}, "min": 6},
		want: editAnswer{Changes: map[string]any{"value": "abcde"}, Unmasked: ptr(true)}},
	{name: "the Redactor counts bytes", in: map[string]any{"base": meta(nil), "dirty": []string{"value"},
		"form": map[string]any{"value": "ééé"}, "min": 6},
		want: editAnswer{Changes: map[string]any{"value": "ééé"}, Unmasked: ptr(false)}},
}

func ptr[T any](v T) *T { return &v }

func TestEditorModel(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	files := map[string]string{
		"/":                     filepath.Join("testdata", "editor_model_test.html"),
		"/editor_model_test.js": filepath.Join("testdata", "editor_model_test.js"),
		"/editor_model.js":      filepath.Join("static", "editor_model.js"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ctype := "text/javascript; charset=utf-8"
		if r.URL.Path == "/" {
			ctype = "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ctype)
		// The page's own policy: the model must run under it too.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; "+
			"require-trusted-types-for 'script'; trusted-types 'none'")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	tb := open(t, browser(t), srv.URL+"/")
	for _, c := range editCases {
		t.Run(c.name, func(t *testing.T) {
			// The page's syntax is the library's: the table says so too.
			if vs, ok := c.in["syntax"].([]string); ok {
				for i, v := range vs {
					if got := secrets.References([]byte(v)); !slices.Equal(got, c.want.Syntax[i]) {
						t.Errorf("secrets.References(%q) = %q, the table says %q", v, got, c.want.Syntax[i])
					}
				}
			}
			in, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
			defer cancel()
			out, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("JSON.stringify(runCase(%s))", in)))
			if err != nil {
				t.Fatal(err)
			}
			var got editAnswer
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(c.want)
			if string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
	tb.check()
}
