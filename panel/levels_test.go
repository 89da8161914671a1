package panel_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// A secret is created in a scope (the name the Manager saves is
// secrets.ScopedName of the variable and the scope), protected, moved to
// another scope by a rename, and unprotected by a PATCH; bad scopes are
// refused as ProblemInvalidScope and change nothing.
func TestScopedSecrets(t *testing.T) {
	e := newEnv(t, nil, nil)
	m := e.create(t, "API_TOKEN", "tok-prod-value-1", map[string]any{"scope": "production", "protected": true})
	if m.Name != "API_TOKEN@production" || m.Variable != "API_TOKEN" || m.Scope != "production" || !m.Protected {
		t.Fatalf("created %+v", m)
	}
	if all := e.create(t, "API_TOKEN", "tok-any-value-2", map[string]any{"scope": "*"}); all.Name != "API_TOKEN" || all.Scope != "*" || all.Protected {
		t.Fatalf("created in every environment: %+v", all)
	}
	post := func(body map[string]any) *response {
		return e.do(t, req{actor: editor, method: "POST", path: "/api/secrets", body: body})
	}
	for _, sc := range []string{"review/**", "prod*uction", "has space", "a\tb"} {
		p := post(map[string]any{"name": "BAD", "value": "x", "scope": sc}).want(t, 422, panel.ProblemInvalidScope).problem(t)
		if p.Title != "Invalid environment scope" {
			t.Errorf("title %q", p.Title)
		}
	}
	post(map[string]any{"name": "BAD@production", "value": "x", "scope": "staging"}).want(t, 400, panel.ProblemBadRequest)
	post(map[string]any{"name": "BAD@", "value": "x"}).want(t, 422, panel.ProblemInvalidScope)
	if _, err := e.m.Meta(secrets.WithActor(t.Context(), editor), ws, "BAD"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a refused create wrote BAD: %v", err)
	}

	// The whole name, escaped, in the path: '@' and the '/' of a pattern.
	path := "/api/secrets/" + url.PathEscape("API_TOKEN@production")
	rename := func(to string, rev int64) *response {
		return e.do(t, req{actor: editor, method: "POST", path: path + "/rename", body: map[string]any{"to": to}, ifMatch: etag(rev)})
	}
	rename("API_TOKEN@review/ *", m.Revision).want(t, 422, panel.ProblemInvalidScope)
	moved := rename("API_TOKEN@review/*", m.Revision).want(t, 200, "").meta(t)
	if moved.Scope != "review/*" || !moved.Protected {
		t.Fatalf("moved: %+v", moved)
	}
	path = "/api/secrets/" + url.PathEscape("API_TOKEN@review/*")
	got := e.do(t, req{actor: editor, method: "GET", path: path}).want(t, 200, "").meta(t)
	if got.Name != "API_TOKEN@review/*" {
		t.Fatalf("GET by the escaped whole name: %+v", got)
	}
	off := e.do(t, req{actor: editor, method: "PATCH", path: path, body: map[string]any{"protected": false},
		ifMatch: etag(got.Revision)}).want(t, 200, "").meta(t)
	if off.Protected || off.Version != got.Version {
		t.Fatalf("unprotected: %+v", off)
	}

	// The preview refuses an environment that is not one.
	e.do(t, req{actor: viewer, method: "GET", path: "/api/resolve?environment=" + url.QueryEscape("review/*")}).
		want(t, 422, panel.ProblemInvalidScope)
}

// levelsAuthorize lets the editor do everything everywhere, and the viewer
// list ws-1 only: not its parents.
func levelsAuthorize(_ context.Context, r secrets.Request) error {
	switch {
	case r.Actor == editor:
		return nil
	case r.Actor == viewer && r.Action == secrets.ActionList && r.Workspace == ws:
		return nil
	}
	return errors.New("not allowed by the test policy")
}

// inheritedAnswer is GET api/inherited.
type inheritedAnswer struct {
	Levels []struct {
		Container string `json:"container"`
		URL       string `json:"url"`
		Listed    bool   `json:"listed"`
		Secrets   []struct {
			Name      string `json:"name"`
			Variable  string `json:"variable"`
			Scope     string `json:"scope"`
			Version   int64  `json:"version"`
			Protected bool   `json:"protected"`
			Updated   string `json:"updated"`
			UpdatedBy string `json:"updated_by"`
			Nearer    string `json:"nearer"`
			Value     any    `json:"value"`
		} `json:"secrets"`
	} `json:"levels"`
	Scopes []string `json:"scopes"`
}

// The Inherited section: the parents' secrets by container, nearest first,
// with their scopes and versions and never a value, for a viewer who may
// list the workspace but not its parents (then without update times), with
// the host's links (only http(s) and relative ones); the scopes in use at
// every level; and the same for the panel of a parent.
func TestInherited(t *testing.T) {
	parents := func(_ context.Context, w string) ([]string, error) {
		switch w {
		case ws:
			return []string{"group:acme", "instance"}, nil
		case "group:acme":
			return []string{"instance"}, nil
		}
		return nil, nil
	}
	links := func(c string) string {
		switch c {
		case "group:acme":
			return "/w/group:acme/secrets/"
		case "instance":
			return "javascript:alert(1)"
		}
		return ""
	}
	e := newEnv(t, &secrets.Config{Authorize: levelsAuthorize, Parents: parents}, &panel.Config{ContainerURL: links})
	ctx := secrets.WithActor(t.Context(), editor)
	for _, s := range []struct {
		ws, name  string
		protected bool
	}{
		// "AAA" sorts before the group's names: the order of the levels
		// comes from the shared REGISTRY_TOKEN, not from the names.
		{"instance", "AAA_INSTANCE_ONLY", false}, {"instance", "REGISTRY_TOKEN", false},
		{"group:acme", "REGISTRY_TOKEN@production", true}, {"group:acme", "REGISTRY_TOKEN", false},
		{"group:acme", "DEPLOY_KEY@review/*", false}, {ws, "API_KEY@staging", false},
		// The workspace's own deploy_key, in another scope and spelling:
		// the group's DEPLOY_KEY says a nearer level has the name.
		{ws, "deploy_key@staging", false},
	} {
		if _, err := e.m.Set(ctx, s.ws, s.name, []byte("value-of-"+s.name), &secrets.SetOptions{Info: &secrets.Info{Protected: s.protected}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{editor, viewer} {
		res := e.do(t, req{actor: who, method: "GET", path: "/api/inherited"}).want(t, 200, "")
		if strings.Contains(string(res.body), "value-of-") {
			t.Fatalf("a value in the answer: %s", res.body)
		}
		var a inheritedAnswer
		res.json(t, &a)
		var got []string
		for _, l := range a.Levels {
			if l.Listed != (who == editor) {
				t.Errorf("%s: %s listed %v", who, l.Container, l.Listed)
			}
			got = append(got, "["+l.Container+" "+l.URL+"]")
			for _, s := range l.Secrets {
				if (s.Updated != "" && s.UpdatedBy == editor) != (who == editor) || s.Value != nil {
					t.Errorf("%s: %s updated %q by %q", who, s.Name, s.Updated, s.UpdatedBy)
				}
				p := ""
				if s.Protected {
					p = " protected"
				}
				if s.Nearer != "" {
					p += " nearer:" + s.Nearer
				}
				got = append(got, s.Variable+" "+s.Scope+" v1"+p)
			}
		}
		want := "[group:acme /w/group:acme/secrets/] DEPLOY_KEY review/* v1 nearer:" + ws + " REGISTRY_TOKEN * v1 REGISTRY_TOKEN production v1 protected " +
			"[instance ] AAA_INSTANCE_ONLY * v1 REGISTRY_TOKEN * v1 nearer:group:acme"
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%s:\n got %s\nwant %s", who, g, want)
		}
		if g := strings.Join(a.Scopes, " "); g != "production review/* staging" {
			t.Errorf("%s: scopes %q", who, g)
		}
	}
	// The preview carries the same links.
	var r struct {
		Links map[string]string `json:"links"`
	}
	e.do(t, req{actor: viewer, method: "GET", path: "/api/resolve?environment=production&protected=true"}).want(t, 200, "").json(t, &r)
	if len(r.Links) != 1 || r.Links["group:acme"] != "/w/group:acme/secrets/" {
		t.Errorf("links %v", r.Links)
	}
	// A stranger may not list the workspace, so not what it inherits.
	e.do(t, req{actor: stranger, method: "GET", path: "/api/inherited"}).want(t, 403, panel.ProblemForbidden)

	// The group's own panel: its secrets, and the instance's inherited.
	var g inheritedAnswer
	e.do(t, req{actor: editor, ws: "group:acme", method: "GET", path: "/api/inherited"}).want(t, 200, "").json(t, &g)
	if len(g.Levels) != 1 || g.Levels[0].Container != "instance" || len(g.Levels[0].Secrets) != 2 {
		t.Errorf("the group's inherited: %+v", g.Levels)
	}
	var page secrets.Page
	e.do(t, req{actor: editor, ws: "group:acme", method: "GET", path: "/api/secrets"}).want(t, 200, "").json(t, &page)
	if len(page.Secrets) != 3 {
		t.Errorf("the group's own secrets: %+v", page.Secrets)
	}
}
