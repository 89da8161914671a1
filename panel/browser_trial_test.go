package panel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// Fixes from a user trial of the page, each held by a test.

// During an outage of the host's authorizer the page claims no role and
// shows no control: it says it could not be loaded and offers to try
// again, which works once the authorizer is back.
func TestBrowserAuthorizerOutage(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	var down atomic.Bool
	down.Store(true)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: func(ctx context.Context, r secrets.Request) error {
		if down.Load() && r.Actor != "" {
			return &secrets.Refusal{Unavailable: true}
		}
		return browserAuthorize(ctx, r)
	}})
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`!document.getElementById('signin').hidden`)
	tb.shot("outage")
	got := tb.text("#signin")
	if !strings.Contains(got, "could not be loaded") || !strings.Contains(got, "try again") {
		t.Errorf("the notice says %q", got)
	}
	if who := tb.text("#who"); who != "" {
		t.Errorf("the page claims a role during the outage: %q", who)
	}
	if !tb.pageHidden("#toolbar") || tb.count("#rows tr") != 0 {
		t.Error("the page shows the list's controls during the outage")
	}
	down.Store(false)
	tb.click("#retry")
	tb.wait(`document.body.dataset.loaded && document.body.dataset.loaded !== 'error' && document.getElementById('add-btn')`)
	if who := tb.text("#who"); !strings.Contains(who, "Editor") {
		t.Errorf("after the outage the header says %q", who)
	}
	tb.check()
}

// A new secret's Environment field is empty, so its placeholder shows, and
// what the editor types there is the scope (not "*production").
func TestBrowserNewSecretScopeEmpty(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.click("#add-btn")
	tb.wait(`document.getElementById('drawer').open`)
	if v := evalIn[string](tb, `document.getElementById('f-scope').value`); v != "" {
		t.Errorf("a new secret's environment holds %q", v)
	}
	tb.shot("new")
	tb.do(chromedp.SendKeys(chromedp.CSS("#f-name"), "DEPLOY_KEY"))
	tb.do(chromedp.SendKeys(chromedp.CSS("#f-scope"), "production"))
	tb.typeInto("#f-value", "deploy-key-value-7d1")
	tb.click("#drawer .save")
	tb.wait(`document.querySelector('` + row("DEPLOY_KEY@production") + `')`)
	tb.check("deploy-key-value-7d1")
}

// The Activity view says what each event did: a secret's creation is
// "created" (a change of its details at version 1 is not), an undelete
// "restored", a roll back "rolled back … to version N", and an event that
// failed "tried to" do its action, not that it was done.
func TestBrowserActivityLabels(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.Set(alice, ws, "NEW_KEY", []byte("activity-new-value-1"), nil))
	must(m.SetInfo(alice, ws, "NEW_KEY", secrets.Info{Description: "described"}, nil))
	must(m.Delete(alice, ws, "NEW_KEY", nil))
	must(m.Undelete(alice, ws, "NEW_KEY", nil))
	must(m.Set(alice, ws, "OLD_KEY", []byte("activity-old-value-1"), nil))
	must(m.Set(alice, ws, "OLD_KEY", []byte("activity-old-value-2"), nil))
	must(m.Rollback(alice, ws, "OLD_KEY", 1, nil))
	if _, err := m.Resolve(alice, ws, &secrets.ResolveOptions{Environment: "pro d"}); err == nil {
		t.Fatal("a resolve of a bad environment worked")
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.click("#activity-btn")
	tb.wait(`document.querySelectorAll('#drawer .events li').length >= 8`)
	tb.shot("activity")
	lines := strings.Split(tb.text("#drawer .events"), "\n")
	var got []string
	for _, l := range lines {
		if strings.HasPrefix(l, "user:alice ") {
			got = append(got, l)
		}
	}
	want := []string{
		"user:alice tried to view the list of secrets — failed: environment holds white space",
		"user:alice rolled back OLD_KEY v3 to version 1",
		"user:alice changed OLD_KEY v2",
		"user:alice created OLD_KEY v1",
		"user:alice restored NEW_KEY v1",
		"user:alice deleted NEW_KEY v1",
		"user:alice changed NEW_KEY v1",
		"user:alice created NEW_KEY v1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("activity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tb.check()
}

// After a Delete from the keyboard the focus is not lost: Undo has it,
// Enter undoes, and the restored row's first button gets it back; when the
// notice goes, the focus moves to the row that took the deleted one's
// place.
func TestBrowserDeleteKeepsFocus(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	for _, n := range []string{"A_KEY", "B_KEY"} {
		if _, err := m.Set(alice, ws, n, []byte("focus-value-"+n), nil); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("B_KEY") + `')`)
	evalIn[chromedp.Void](tb, `document.querySelector('`+rowButton("A_KEY", "delete")+`').focus()`)
	tb.key(kb.Enter)
	tb.wait(`!document.querySelector('` + row("A_KEY") + `')`)
	tb.wait(`document.activeElement && document.activeElement.matches('.toast .toast-action')`)
	tb.shot("undo-focused")
	tb.key(kb.Enter) // Undo
	tb.wait(`document.querySelector('` + row("A_KEY") + `') && document.activeElement.closest('` + row("A_KEY") + `')`)

	evalIn[chromedp.Void](tb, `document.querySelector('`+rowButton("A_KEY", "delete")+`').focus()`)
	tb.key(kb.Enter)
	tb.wait(`document.activeElement && document.activeElement.matches('.toast .toast-action')`)
	tb.key(kb.Tab) // to Dismiss
	tb.key(kb.Enter)
	tb.wait(`document.activeElement.closest('` + row("B_KEY") + `')`)
	tb.check()
}

// A parent's page says what it is (Caller.Kind): its secrets go to the
// jobs of the workspaces below it, and "What will a job get?" calls its
// own rows "this group"; a workspace's page, whose host says nothing, keeps
// its wording.
func TestBrowserParentKind(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: browserAuthorize, Parents: scopeParents})
	alice := as(t, "user:alice")
	for _, s := range [][2]string{{"instance", "SENTRY_DSN"}, {"group:acme", "REGISTRY_TOKEN"}, {ws, "API_KEY"}} {
		if _, err := m.Set(alice, s[0], s[1], []byte("kind-test-value-"+s[1]), nil); err != nil {
			t.Fatal(err)
		}
	}
	h, err := panel.New(m, &panel.Config{Caller: func(r *http.Request) (panel.Caller, error) {
		c := panel.Caller{Workspace: r.PathValue("ws"), Actor: "user:alice"}
		if strings.HasPrefix(c.Workspace, "group:") {
			c.Kind = "group"
		}
		return c, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mount(h))
	t.Cleanup(srv.Close)
	br := browser(t)

	for _, c := range []struct {
		ws, intro, from, inherited string
	}{
		{"group:acme", "Secrets are given to every build and job of the workspaces below this group, unless the workspace or a level between has the same name, as environment variables",
			"this group", "Jobs below group:acme also get these secrets of the levels above it, unless this group or a nearer level has the same name"},
		{ws, "Secrets are given to every build and job of this workspace as environment variables",
			"this workspace", "Jobs of ws-1 also get these secrets of the levels above it, unless a secret here or on a nearer level has the same name"},
	} {
		tb := open(t, br, srv.URL+"/w/"+c.ws+"/secrets/")
		tb.wait(`document.querySelector('#rows tr') && !document.getElementById('inherited').hidden`)
		if got := strings.Join(strings.Fields(tb.text(".intro")), " "); !strings.HasPrefix(got, c.intro) {
			t.Errorf("%s: the intro says %q, want it to begin %q", c.ws, got, c.intro)
		}
		if got := tb.text("#inherited .muted"); !strings.HasPrefix(got, c.inherited) {
			t.Errorf("%s: the Inherited section says %q, want it to begin %q", c.ws, got, c.inherited)
		}
		if got, want := evalIn[string](tb, `document.getElementById('secrets-caption').textContent`), "Secrets of "+c.from; got != want {
			t.Errorf("%s: the table's caption is %q, want %q", c.ws, got, want)
		}
		tb.shot(strings.ReplaceAll(c.ws, ":", "-") + "-page")
		preview(tb, "production", false)
		if got := tb.text(`#drawer tr[data-container="` + c.ws + `"] td[data-label="From"]`); got != c.from {
			t.Errorf("%s: its own rows are from %q, want %q", c.ws, got, c.from)
		}
		summary := tb.text("#drawer .summary")
		if !strings.Contains(summary, "("+c.from+" first)") {
			t.Errorf("%s: the preview says %q", c.ws, summary)
		}
		if c.ws != ws {
			if !strings.Contains(summary, "a job of a workspace below this group where neither the workspace nor a level between has the name") {
				t.Errorf("%s: the preview does not say whose jobs: %q", c.ws, summary)
			}
			if all := evalIn[string](tb, `document.body.innerText`); strings.Contains(all, "this workspace") {
				t.Errorf("%s: the page still says \"this workspace\"", c.ws)
			}
		}
		tb.shot(strings.ReplaceAll(c.ws, ":", "-") + "-preview")
		tb.check()
	}
}
