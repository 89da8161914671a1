package panel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// The levels of the scope tests: ws-1 inherits from group:acme, which
// inherits from instance.
func scopeParents(_ context.Context, w string) ([]string, error) {
	switch w {
	case ws:
		return []string{"group:acme", "instance"}, nil
	case "group:acme":
		return []string{"instance"}, nil
	}
	return nil, nil
}

// scopeAuthorize is browserAuthorize, but a viewer may not list the
// instance level: they see its secrets' names in what ws-1 inherits, not
// the instance's own page.
func scopeAuthorize(ctx context.Context, r secrets.Request) error {
	if !browserEditors[r.Actor] && r.Actor != "" && r.Workspace == "instance" {
		return errors.New("viewers may not open the instance level")
	}
	return browserAuthorize(ctx, r)
}

// scopeSite serves the panel as siteAs does, with links to the levels'
// own pages (Config.ContainerURL), and returns the site's root URL.
func scopeSite(t *testing.T, m *secrets.Manager, actor string) string {
	t.Helper()
	h, err := panel.New(m, &panel.Config{
		Caller: func(r *http.Request) (panel.Caller, error) {
			return panel.Caller{Workspace: r.PathValue("ws"), Actor: actor}, nil
		},
		ContainerURL: func(c string) string { return "/w/" + c + "/secrets/" },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mount(h))
	t.Cleanup(srv.Close)
	return srv.URL
}

// resolveRows are the preview's rows as "variable container scope version
// status".
func resolveRows(tb *tab) string {
	tb.t.Helper()
	rows := evalIn[[]string](tb, `[...document.querySelectorAll('#drawer table.resolve tbody tr')].map(r =>
		[r.cells[0].querySelector('code').innerText, r.dataset.container, r.cells[2].innerText.trim(), r.cells[3].innerText.trim(), r.cells[4].innerText.trim()].join(' '))`)
	return strings.Join(rows, "\n")
}

// preview opens "What will a job get?" for a job in env, protected or not,
// and returns its rows.
func preview(tb *tab, env string, protected bool) string {
	tb.t.Helper()
	if evalIn[bool](tb, `!document.getElementById('drawer').open`) {
		tb.click("#resolve-btn")
		tb.wait(`document.querySelector('#drawer [data-shown]')`)
	}
	tb.typeInto("#p-env", env)
	if evalIn[bool](tb, `document.getElementById('p-protected').checked`) != protected {
		tb.click("#p-protected")
	}
	tb.wait(fmt.Sprintf(`document.querySelector('#drawer [data-shown]').dataset.shown === %q`, fmt.Sprintf("%s|%v", env, protected)))
	return resolveRows(tb)
}

// The scopes, for an editor and a viewer at 1280 and 400 pixels: the
// editor creates a protected secret in one environment and moves it to
// another; both see the Environment column, the protected marker, the
// Inherited section (names, scopes, versions, never values; the viewer
// without the dates of a level they may not open) and what a job in
// production gets, protected or not; the viewer has no edit control; and
// the group's own page works the same way.
func TestBrowserScopes(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: scopeAuthorize, Parents: scopeParents})
	alice := as(t, "user:alice")
	values := []string{"inst-registry-tok-71", "inst-sentry-dsn-72", "grp-prod-registry-73", "grp-review-deploy-74", "ws-api-key-75"}
	for i, s := range []struct {
		ws, name  string
		protected bool
	}{
		{"instance", "REGISTRY_TOKEN", false}, {"instance", "SENTRY_DSN", false},
		{"group:acme", "REGISTRY_TOKEN@production", true}, {"group:acme", "DEPLOY_KEY@review/*", false},
		{ws, "API_KEY", false},
	} {
		if _, err := m.Set(alice, s.ws, s.name, []byte(values[i]), &secrets.SetOptions{Info: &secrets.Info{Protected: s.protected}}); err != nil {
			t.Fatal(err)
		}
	}
	const dbPassword = "db-pass-prod-9f3e1c"
	values = append(values, dbPassword)
	br := browser(t)

	// The editor, at 1280 pixels.
	root := scopeSite(t, m, "user:alice")
	tb := open(t, br, root+"/w/"+ws+"/secrets/")
	tb.wait(`document.querySelector('` + row("API_KEY") + `') && !document.getElementById('inherited').hidden`)
	tb.click("#add-btn")
	tb.wait(`document.activeElement.id === 'f-name'`)
	tb.typeInto("#f-name", "DB_PASSWORD")
	// A zero-width space, which the server refuses (key events cannot
	// type it: it is pasted).
	evalIn[chromedp.Void](tb, `(() => { const f = document.getElementById('f-scope'); f.value = 'stag\u200bing'; f.dispatchEvent(new Event('input', {bubbles: true})); })()`)
	tb.typeInto("#f-value", dbPassword)
	evalIn[chromedp.Void](tb, `document.querySelector('#drawer input[name="protected"]').scrollIntoView({block: 'center'})`)
	tb.click(`#drawer input[name="protected"]`)
	tb.wait(`document.querySelector('#drawer input[name="protected"]').checked`)
	tb.click("#drawer .save")
	tb.wait(`document.getElementById('f-scope').getAttribute('aria-invalid') === 'true'`)
	if got := tb.text("#drawer .problem"); !strings.Contains(got, "control or formatting character") {
		t.Errorf("the editor's problem: %q", got)
	}
	tb.shot("invalid-scope")
	tb.typeInto("#f-scope", "staging")
	tb.shot("add")
	tb.click("#drawer .save")
	tb.wait(`document.querySelector('` + row("DB_PASSWORD@staging") + `')`)
	meta, err := m.Meta(alice, ws, "DB_PASSWORD@staging")
	if err != nil || !meta.Protected {
		t.Fatalf("created: %+v, %v", meta, err)
	}
	// Another scope is a rename to the new whole name; protected stays.
	tb.click(rowButton("DB_PASSWORD@staging", "edit"))
	tb.wait(`document.getElementById('f-scope').value === 'staging' && document.querySelector('#drawer input[name="protected"]').checked`)
	if n := tb.count(`#scopes option[value="production"]`); n != 1 {
		t.Errorf("the scopes in use are not suggested: %d", n)
	}
	tb.typeInto("#f-scope", "production")
	tb.click("#drawer .save")
	tb.wait(`document.querySelector('` + row("DB_PASSWORD@production") + `') && !document.querySelector('` + row("DB_PASSWORD@staging") + `')`)
	if got := tb.text(row("DB_PASSWORD@production")); !strings.Contains(got, "production") || !strings.Contains(got, "protected") {
		t.Errorf("the row of the protected production secret: %q", got)
	}
	if got := tb.text(row("API_KEY") + " td.scope"); got != "All environments" {
		t.Errorf("API_KEY's environment: %q", got)
	}
	if got := tb.text("#secrets thead"); !strings.Contains(got, "Environment") {
		t.Errorf("no Environment column: %q", got)
	}

	// The notices of the add and the move would cover the narrow page's
	// buttons: dismissed, as a person would.
	evalIn[chromedp.Void](tb, `document.querySelectorAll('.toast button[aria-label="Dismiss"]').forEach(b => b.click())`)

	// What will a job in production get, protected and not?
	wantProtected := strings.Join([]string{
		"API_KEY ws-1 All environments v1 delivered",
		"DB_PASSWORD ws-1 production v1 delivered",
		"DEPLOY_KEY group:acme review/* v1 other environment",
		"REGISTRY_TOKEN group:acme production v1 delivered",
		"REGISTRY_TOKEN instance All environments v1 overridden",
		"SENTRY_DSN instance All environments v1 delivered",
	}, "\n")
	wantUnprotected := strings.Join([]string{
		"API_KEY ws-1 All environments v1 delivered",
		"DB_PASSWORD ws-1 production v1 protected jobs only",
		"DEPLOY_KEY group:acme review/* v1 other environment",
		"REGISTRY_TOKEN group:acme production v1 protected jobs only",
		"REGISTRY_TOKEN instance All environments v1 delivered",
		"SENTRY_DSN instance All environments v1 delivered",
	}, "\n")

	// The instance's REGISTRY_TOKEN says the group has the name too.
	inherited := strings.Join([]string{"group:acme DEPLOY_KEY review/*", "group:acme REGISTRY_TOKEN production",
		"instance REGISTRY_TOKEN All environments also set in group:acme", "instance SENTRY_DSN All environments"}, "\n")
	inheritedRows := func(tb *tab) string {
		return strings.Join(evalIn[[]string](tb, `[...document.querySelectorAll('#inherited tbody tr')].map(r =>
			[r.dataset.container, r.querySelector('code').innerText, r.cells[1].innerText.trim(), r.querySelector('.nearer')?.innerText.trim()].filter(Boolean).join(' '))`), "\n")
	}

	for _, who := range []string{"user:alice", "user:victor"} {
		if who != "user:alice" {
			tb = open(t, br, scopeSite(t, m, who)+"/w/"+ws+"/secrets/")
			tb.wait(`document.querySelector('` + row("DB_PASSWORD@production") + `') && !document.getElementById('inherited').hidden`)
			for _, sel := range []string{"#add-btn", "#bulk-btn", `button[data-act="edit"]`, `button[data-act="delete"]`, "#inherited button", "#f-scope"} {
				if n := tb.count(sel); n != 0 {
					t.Errorf("a viewer's page has %d %s", n, sel)
				}
			}
		}
		name := strings.TrimPrefix(who, "user:")
		for _, width := range []int64{1280, 400} {
			tb.do(chromedp.EmulateViewport(width, 860))
			tb.wait(fmt.Sprintf(`window.innerWidth === %d`, width))
			if w := evalIn[int](tb, `document.documentElement.scrollWidth`); w > int(width) {
				t.Errorf("%s: at %d px the page is %d px wide", who, width, w)
			}
			evalIn[chromedp.Void](tb, `window.scrollTo(0, 0)`)
			tb.shot(fmt.Sprintf("%s-%d-list", name, width))

			// The Inherited section: each level with its link, nearest first.
			if got := inheritedRows(tb); got != inherited {
				t.Errorf("%s: inherited\n%s\nwant\n%s", who, got, inherited)
			}
			if got := evalIn[[]string](tb, `[...document.querySelectorAll('#inherited h3.level a')].map(a => a.getAttribute('href'))`); strings.Join(got, " ") != "/w/group:acme/secrets/ /w/instance/secrets/" {
				t.Errorf("%s: links %q", who, got)
			}
			dated := tb.count(`#inherited section[data-container="instance"] time`)
			if (dated == 2) != (who == "user:alice") {
				t.Errorf("%s: %d update times of the instance's secrets", who, dated)
			}
			if who == "user:alice" {
				tb.click(rowButton("DB_PASSWORD@production", "edit"))
				tb.wait(`document.getElementById('f-scope').value === 'production'`)
				if r := evalIn[float64](tb, `document.getElementById('drawer').getBoundingClientRect().left`); r < 0 {
					t.Errorf("at %d px the side panel starts %v px off the screen", width, r)
				}
				tb.shot(fmt.Sprintf("%s-%d-edit", name, width))
				tb.key(escape)
				tb.wait(`!document.getElementById('drawer').open`)
			}
			evalIn[chromedp.Void](tb, `document.getElementById('inherited').scrollIntoView()`)
			tb.shot(fmt.Sprintf("%s-%d-inherited", name, width))

			if got := preview(tb, "production", true); got != wantProtected {
				t.Errorf("%s at %d px, production, protected:\n%s\nwant\n%s", who, width, got, wantProtected)
			}
			if r := evalIn[float64](tb, `document.getElementById('drawer').getBoundingClientRect().left`); r < 0 {
				t.Errorf("%s: at %d px the preview starts %v px off the screen", who, width, r)
			}
			tb.shot(fmt.Sprintf("%s-%d-production-protected", name, width))
			if got := preview(tb, "production", false); got != wantUnprotected {
				t.Errorf("%s at %d px, production, unprotected:\n%s\nwant\n%s", who, width, got, wantUnprotected)
			}
			if w := evalIn[int](tb, `document.getElementById('drawer-body').scrollWidth - document.getElementById('drawer-body').clientWidth`); w > 0 {
				t.Errorf("%s: at %d px the preview runs %d px off its side", who, width, w)
			}
			tb.shot(fmt.Sprintf("%s-%d-production-unprotected", name, width))
			tb.key(escape)
			tb.wait(`!document.getElementById('drawer').open`)
		}
		html := evalIn[string](tb, `document.documentElement.outerHTML`)
		for _, v := range values {
			if strings.Contains(html, v) {
				t.Errorf("%s: the page holds a value", who)
			}
		}
		tb.check(values...)
	}

	// The group's own page: its secrets, and what it inherits.
	tb = open(t, br, root+"/w/group:acme/secrets/")
	tb.wait(`document.querySelector('` + row("REGISTRY_TOKEN@production") + `') && !document.getElementById('inherited').hidden`)
	if got := inheritedRows(tb); got != "instance REGISTRY_TOKEN All environments also set here\ninstance SENTRY_DSN All environments" {
		t.Errorf("the group inherits\n%s", got)
	}
	if got, want := preview(tb, "production", true), strings.Join([]string{
		"DEPLOY_KEY group:acme review/* v1 other environment",
		"REGISTRY_TOKEN group:acme production v1 delivered",
		"REGISTRY_TOKEN instance All environments v1 overridden",
		"SENTRY_DSN instance All environments v1 delivered",
	}, "\n"); got != want {
		t.Errorf("the group's preview:\n%s\nwant\n%s", got, want)
	}
	if got := tb.text(`#drawer tr[data-container="group:acme"] td[data-label="From"]`); got != "this workspace" {
		t.Errorf("the group's own level is %q", got)
	}
	tb.shot("group-production-protected")
	tb.check(values...)
}
