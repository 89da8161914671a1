package panel_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dataspace/secrets"
)

// browserManager is a Manager with the browser tests' policy, and a
// context acting as actor.
func browserManager(t *testing.T) *secrets.Manager {
	return newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: browserAuthorize})
}

func as(t *testing.T, actor string) context.Context {
	return secrets.WithActor(t.Context(), actor)
}

func row(name string) string { return `tr[data-name="` + name + `"]` }

func rowButton(name, act string) string { return row(name) + ` button[data-act="` + act + `"]` }

// An editor creates, edits, reveals, renames, rolls back and deletes (and
// undoes the delete of) a secret, mostly from the keyboard.
func TestBrowserEditor(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	url := site(t, m, "user:alice")
	const v1, v2 = "tok-browser-first-4f1d", "tok-browser-second-9a2c"
	tb := open(t, browser(t), url)
	tb.wait(`!document.getElementById('empty').hidden`)

	// Add, from the keyboard: the button, then the fields in order.
	evalIn[chromedp.Void](tb, `document.getElementById('add-btn').focus()`)
	tb.key(kb.Enter)
	tb.wait(`document.getElementById('drawer').open && document.activeElement.id === 'f-name'`)
	tb.do(chromedp.SendKeys(chromedp.CSS("#f-name"), "AUTH_TOKEN"+kb.Tab))
	tb.wait(`document.activeElement.id === 'f-scope'`) // the environment, next
	tb.key(kb.Tab)
	tb.wait(`document.activeElement.id === 'f-value' || document.activeElement.classList.contains('reveal') || document.activeElement.classList.contains('show')`)
	tb.typeInto("#f-value", v1)
	if sec := evalIn[string](tb, `getComputedStyle(document.getElementById('f-value')).webkitTextSecurity`); sec != "disc" {
		t.Errorf("the value is not hidden while typed: text-security %q", sec)
	}
	tb.typeInto("#f-description", "Token for the orders API")
	tb.shot("add")
	tb.key(kb.Enter) // submits the form from the description field
	tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `')`)
	tb.wait(`!document.getElementById('drawer').open && document.activeElement.id === 'add-btn'`)
	if got := tb.text(row("AUTH_TOKEN")); !strings.Contains(got, "Token for the orders API") || !strings.Contains(got, "v1") || !strings.Contains(got, "user:alice") {
		t.Errorf("row: %q", got)
	}

	// Edit: reveal the current value, then replace it.
	tb.click(rowButton("AUTH_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	if v := evalIn[string](tb, `document.getElementById('f-value').value`); v != "" {
		t.Errorf("the value is in the form before any reveal")
	}
	tb.click("#drawer .reveal")
	tb.wait(`document.getElementById('f-value').value === '` + v1 + `'`)
	if sec := evalIn[string](tb, `getComputedStyle(document.getElementById('f-value')).webkitTextSecurity`); sec != "none" {
		t.Errorf("a revealed value is still masked: %q", sec)
	}
	tb.shot("revealed")
	tb.typeInto("#f-value", v2)
	tb.click("#drawer .save")
	tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `').innerText.includes('v2')`)

	// Rename.
	tb.click(rowButton("AUTH_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	tb.typeInto("#f-name", "API_TOKEN")
	tb.click("#drawer .save")
	tb.wait(`document.querySelector('` + row("API_TOKEN") + `') && !document.querySelector('` + row("AUTH_TOKEN") + `')`)

	// Making it write-only asks first (it cannot be undone); cancelled,
	// nothing is saved.
	tb.click(rowButton("API_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	tb.click(`#drawer input[name="write_only"]`)
	tb.click("#drawer .save")
	tb.wait(`document.getElementById('confirm').open`)
	if got := tb.text("#confirm-text"); !strings.Contains(got, "cannot be undone") {
		t.Errorf("the write-only question: %q", got)
	}
	tb.click("#confirm-cancel")
	tb.wait(`!document.getElementById('confirm').open`)
	if meta, err := m.Meta(as(t, "user:alice"), ws, "API_TOKEN"); err != nil || meta.Info.WriteOnly {
		t.Fatalf("write-only after a cancelled question: %+v, %v", meta.Info, err)
	}
	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)

	// History: roll back to version 1.
	tb.click(rowButton("API_TOKEN", "history"))
	tb.wait(`document.querySelectorAll('#drawer li[data-version]').length === 2`)
	tb.click(`#drawer li[data-version="1"] button[data-act="show-version"]`)
	tb.wait(`document.querySelector('#drawer li[data-version="1"] .shown')`)
	if got := tb.text(`#drawer li[data-version="1"] .shown`); got != v1 {
		t.Errorf("version 1 shows %q", got)
	}
	tb.shot("history")
	tb.click(`#drawer li[data-version="1"] button[data-act="rollback"]`)
	tb.wait(`document.getElementById('confirm').open`)
	tb.click("#confirm-ok")
	tb.wait(`document.querySelectorAll('#drawer li[data-version]').length === 3`)
	s, err := m.Get(as(t, "user:alice"), ws, "API_TOKEN")
	if err != nil || string(s.Value.Reveal()) != v1 || s.Version != 3 {
		t.Fatalf("after roll back: version %d, %v", s.Version, err)
	}
	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)
	tb.wait(`document.querySelector('` + row("API_TOKEN") + `').innerText.includes('v3')`)

	// Delete, then undo.
	tb.click(rowButton("API_TOKEN", "delete"))
	tb.wait(`!document.querySelector('` + row("API_TOKEN") + `')`)
	tb.wait(`[...document.querySelectorAll('.toast')].some(t => t.innerText.includes('Deleted API_TOKEN'))`)
	tb.shot("deleted")
	tb.click(".toast .toast-action") // Undo
	tb.wait(`document.querySelector('` + row("API_TOKEN") + `')`)
	meta, err := m.Meta(as(t, "user:alice"), ws, "API_TOKEN")
	if err != nil || !meta.Deleted.IsZero() {
		t.Fatalf("after undo: %+v, %v", meta, err)
	}

	// Deleted for good: from the list of deleted secrets, after a question.
	tb.click(rowButton("API_TOKEN", "delete"))
	tb.wait(`!document.querySelector('` + row("API_TOKEN") + `')`)
	tb.click("#show-deleted")
	tb.wait(`document.querySelector('` + rowButton("API_TOKEN", "destroy") + `')`)
	if got := tb.text(row("API_TOKEN")); !strings.Contains(got, "deleted") {
		t.Errorf("deleted row: %q", got)
	}
	tb.click(rowButton("API_TOKEN", "destroy"))
	tb.wait(`document.getElementById('confirm').open`)
	tb.shot("destroy")
	tb.click("#confirm-ok")
	tb.wait(`!document.querySelector('` + row("API_TOKEN") + `')`)
	if _, err := m.Meta(as(t, "user:alice"), ws, "API_TOKEN"); err == nil {
		t.Fatal("the secret survived Destroy")
	}
	tb.check(v1, v2)
}

// A viewer sees the list and the history, never a value or an edit
// control; the page reads well at 400 pixels; and the server refuses what
// the page does not offer.
func TestBrowserViewer(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	values := []string{"viewer-never-sees-7c1e", "viewer-never-sees-write-only-55"}
	m.Set(alice, ws, "AUTH_TOKEN", []byte(values[0]), &secrets.SetOptions{Info: &secrets.Info{Description: "CI token",
		Expires: time.Now().Add(72 * time.Hour)}})
	m.Set(alice, ws, "DEPLOY_KEY", []byte(values[1]), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true, File: true}})
	br := browser(t)
	tb := open(t, br, site(t, m, "user:victor"))
	tb.wait(`document.querySelector('` + row("DEPLOY_KEY") + `')`)
	if got := tb.text("#who"); !strings.Contains(got, "user:victor") || !strings.Contains(got, "read-only") {
		t.Errorf("header: %q", got)
	}
	for _, sel := range []string{"#add-btn", "#bulk-btn", "#export-btn", "#activity-btn", `button[data-act="edit"]`, `button[data-act="delete"]`,
		`button[data-act="restore"]`, `button[data-act="destroy"]`, "textarea", "#f-value"} {
		if n := tb.count(sel); n != 0 {
			t.Errorf("a viewer's page has %d %s", n, sel)
		}
	}
	if got := tb.text(row("DEPLOY_KEY")); !strings.Contains(got, "write-only") || !strings.Contains(got, "file") {
		t.Errorf("badges: %q", got)
	}
	if got := tb.text(row("AUTH_TOKEN")); !strings.Contains(got, "expires") {
		t.Errorf("no expiry badge: %q", got)
	}
	tb.shot("list")

	// The history, without roll back or values.
	tb.click(rowButton("AUTH_TOKEN", "history"))
	tb.wait(`document.querySelectorAll('#drawer li[data-version]').length === 1`)
	if n := tb.count(`#drawer button[data-act]`); n != 0 {
		t.Errorf("a viewer's history has %d action buttons", n)
	}
	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)

	// The server refuses whatever the page does not offer.
	got, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`fetch('api/secrets/AUTH_TOKEN/reveal', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Secrets-Panel': '1'}, body: '{}'}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || got != 403 {
		t.Errorf("a viewer's reveal: %d, %v", got, err)
	}

	// 400 pixels wide: nothing runs off the side.
	tb.do(chromedp.EmulateViewport(400, 860))
	tb.wait(`window.innerWidth === 400`) // clientWidth leaves out a scroll bar
	if w := evalIn[int](tb, `document.documentElement.scrollWidth`); w > 400 {
		t.Errorf("at 400 px the page is %d px wide", w)
	}
	tb.shot("narrow")
	html := evalIn[string](tb, `document.documentElement.outerHTML`)
	for _, v := range values {
		if strings.Contains(html, v) {
			t.Errorf("the page holds a value")
		}
	}
	// The console logs the refused reveal as a network error, which is
	// expected; nothing else may go wrong.
	tb.check(values...)

	// Someone the host could not identify gets the page and an invitation
	// to sign in, and nothing else.
	anon := open(t, br, site(t, m, ""))
	anon.wait(`!document.getElementById('signin').hidden`)
	if got := anon.text("#signin"); !strings.Contains(got, "Sign in") || anon.count("#rows tr") != 0 || !anon.pageHidden("#toolbar") {
		t.Errorf("anonymous page: %q", got)
	}
	anon.check(values...)
}

// A bulk paste shows its difference before it applies it, and a bad line
// is pointed at.
func TestBrowserBulk(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	m.Set(alice, ws, "KEEP", []byte("bulk-keep-value"), nil)
	m.Set(alice, ws, "CHANGE", []byte("bulk-old-value"), nil)
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("CHANGE") + `')`)
	tb.click("#bulk-btn")
	tb.wait(`document.activeElement.id === 'b-text'`)

	tb.do(chromedp.SendKeys(chromedp.CSS("#b-text"), "OK=1\nLD_PRELOAD=/tmp/evil.so\n"))
	tb.click("#drawer .preview")
	tb.wait(`!document.querySelector('#drawer .problem').hidden`)
	if got := tb.text("#drawer .problem"); !strings.Contains(got, "line 2") {
		t.Errorf("the problem does not point at line 2: %q", got)
	}
	if sel := evalIn[string](tb, `(t => t.value.slice(t.selectionStart, t.selectionEnd))(document.getElementById('b-text'))`); sel != "LD_PRELOAD=/tmp/evil.so" {
		t.Errorf("selected %q, not the bad line", sel)
	}
	tb.shot("bad-line")

	text := "# from the old CI\nKEEP=bulk-keep-value\nCHANGE=bulk-new-value\nexport ADD_ME='bulk added value'\n"
	tb.typeInto("#b-text", text)
	tb.click("#drawer .preview")
	tb.wait(`!document.querySelector('#drawer .apply').hidden`)
	parts := evalIn[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll('#drawer .diff ul[data-part]')].map(u => [u.dataset.part, u.innerText]))`)
	if parts["added"] != "ADD_ME" || parts["changed"] != "CHANGE" || parts["removed"] != "" {
		t.Errorf("preview: %v", parts)
	}
	if got := tb.text("#drawer .diff"); !strings.Contains(got, "1 unchanged: KEEP") || strings.Contains(got, "bulk-new-value") || strings.Contains(got, "never compared") {
		t.Errorf("preview text (no write-only secret, so no note on them): %q", got)
	}
	tb.shot("preview")
	if got := tb.text("#drawer .apply"); got != "Apply 2 changes" {
		t.Errorf("apply button %q", got)
	}
	tb.click("#drawer .apply")
	tb.wait(`document.querySelector('` + row("ADD_ME") + `') && !document.getElementById('drawer').open`)
	env := map[string]string{}
	all, err := m.EnvFor(as(t, "user:alice"), ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range all {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["ADD_ME"] != "bulk added value" || env["CHANGE"] != "bulk-new-value" || env["KEEP"] != "bulk-keep-value" || len(env) != 3 {
		t.Errorf("after apply: %v", env)
	}

	// A write-only secret among the changes: the note names it.
	if _, err := m.Set(alice, ws, "HIDDEN", []byte("bulk-hidden-value"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	tb.click("#bulk-btn")
	tb.wait(`document.activeElement.id === 'b-text'`)
	tb.typeInto("#b-text", "KEEP=bulk-keep-value\nHIDDEN=bulk-hidden-value\n")
	tb.click("#drawer .preview")
	tb.wait(`!document.querySelector('#drawer .apply').hidden`)
	if got := tb.text(`#drawer .diff [data-note="uncompared"]`); !strings.Contains(got, "never compared (HIDDEN)") {
		t.Errorf("the note on write-only secrets: %q", got)
	}
	tb.check("bulk-new-value", "bulk added value", "bulk-keep-value", "bulk-hidden-value")
}

// Two editors edit the same secret; the second save is refused and
// explained, the second editor's input is kept, and they can save it over
// the new revision.
func TestBrowserConflict(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	m.Set(as(t, "user:alice"), ws, "AUTH_TOKEN", []byte("conflict-first-value"), &secrets.SetOptions{Info: &secrets.Info{Description: "original"}})
	br := browser(t)
	a := open(t, br, site(t, m, "user:alice"))
	// Bob's PATCH requests are counted as they reach the panel.
	var patches atomic.Int64
	b := open(t, br, siteWrapped(t, m, "user:bob", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				patches.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	}))
	for _, tb := range []*tab{a, b} {
		tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `')`)
		tb.click(rowButton("AUTH_TOKEN", "edit"))
		tb.wait(`document.getElementById('drawer').open`)
	}
	a.typeInto("#f-description", "changed by alice")
	a.click("#drawer .save")
	a.wait(`!document.getElementById('drawer').open`)

	b.typeInto("#f-value", "conflict-bob-value")
	b.do(chromedp.SendKeys(chromedp.CSS("#f-expires"), "03012031"))
	b.click("#drawer .save")
	b.wait(`!document.querySelector('#drawer .conflict').hidden`)
	// Without the isolates that keep each user's text's direction its own.
	got := strings.NewReplacer("\u2068", "", "\u2069", "").Replace(b.text("#drawer .conflict"))
	for _, want := range []string{"Someone else saved first", "user:alice saved AUTH_TOKEN while you were editing", "The description: now “changed by alice”", "Your input is still in the form"} {
		if !strings.Contains(got, want) {
			t.Errorf("the conflict does not say %q:\n%s", want, got)
		}
	}
	if v := evalIn[string](b, `document.getElementById('f-value').value`); v != "conflict-bob-value" {
		t.Errorf("bob's input was lost: %q", v)
	}
	if evalIn[string](b, `document.activeElement.className`) != "overwrite primary" {
		t.Errorf("focus is not on the way out of the conflict")
	}
	b.shot("conflict")
	if meta, _ := m.Meta(as(t, "user:alice"), ws, "AUTH_TOKEN"); meta.Version != 1 || meta.Description != "changed by alice" {
		t.Fatalf("the refused save changed the secret: %+v", meta)
	}
	if n := patches.Load(); n != 1 {
		t.Errorf("bob's save sent %d PATCH requests, want 1", n)
	}

	// Bob saves his changes over alice's, with one request: hers to other
	// fields stay, and nothing fails on the way.
	b.click("#drawer .overwrite")
	b.wait(`!document.getElementById('drawer').open`)
	// A second request, if any, left with the first, from the same click.
	b.settle()
	if n := patches.Load(); n != 2 {
		t.Errorf("saving over the conflict sent %d PATCH requests in all, want 2 (the refused save, then one over it)", n)
	}
	events, err := m.Events(t.Context(), secrets.EventQuery{Workspace: ws, Actor: "user:bob"})
	if err != nil {
		t.Fatal(err)
	}
	var fails []string
	for _, e := range events {
		if e.Outcome != secrets.OutcomeOK {
			fails = append(fails, string(e.Action)+" "+string(e.Outcome)+": "+e.Detail)
		}
	}
	if len(fails) != 1 {
		t.Errorf("bob's writes that failed: %q; want only the first, refused save", fails)
	}
	s, err := m.Get(as(t, "user:alice"), ws, "AUTH_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Value.Reveal()) != "conflict-bob-value" || s.Description != "changed by alice" || s.Expires.IsZero() || s.UpdatedBy != "user:bob" {
		t.Errorf("after overwrite: %+v", s.Meta)
	}
	a.check("conflict-first-value", "conflict-bob-value")
	b.check("conflict-first-value", "conflict-bob-value")
}

// A workspace as weeks of editing leave it: the due notice names what is
// expired and what is due, and badges mark each row. The screenshot is the
// README's (docs/panel.png) when SECRETS_DOCSHOT names where to write it:
//
//	SECRETS_DOCSHOT=$PWD/docs/panel.png go test ./panel -run Overview
func TestBrowserOverview(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	day := func(d int) time.Time { return time.Now().UTC().AddDate(0, 0, d).Add(time.Hour).Truncate(time.Second) }
	for _, s := range []struct {
		who, name, value string
		info             *secrets.Info
	}{
		{"user:alice", "AUTH_TOKEN", "tok_demo_1f0c", &secrets.Info{Description: "Token for the orders API"}},
		{"user:bob", "AUTH_TOKEN", "tok_demo_7d3f9a", nil},
		{"user:alice", "DATABASE_URL", "postgres://app:pw@db.internal/app", &secrets.Info{Description: "Read-write connection to the app database"}},
		{"user:alice", "DEPLOY_KEY", "demo-deploy-key-0b1e", &secrets.Info{Description: "SSH key for the deploy host", WriteOnly: true, File: true}},
		{"user:bob", "LEGACY_API_KEY", "legacy-demo-key-99", &secrets.Info{Description: "Old partner API; remove after the migration", Expires: day(-3)}},
		{"user:alice", "SENTRY_DSN", "https://demo@sentry.example/1", nil},
		{"user:bob", "STRIPE_SECRET_KEY", "sk_test_demo_51Hx", &secrets.Info{RotateBy: day(5)}},
		{"user:alice", "TLS_CERT", "-----BEGIN CERTIFICATE-----\nMIIdemo\n-----END CERTIFICATE-----\n", &secrets.Info{File: true, Expires: day(9)}},
	} {
		if _, err := m.Set(as(t, s.who), ws, s.name, []byte(s.value), &secrets.SetOptions{Info: s.info}); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("TLS_CERT") + `') && !document.getElementById('due').hidden`)
	due := tb.text("#due")
	for _, want := range []string{"1 expired, 2 due within 14 days", "LEGACY_API_KEY — expired", "STRIPE_SECRET_KEY — rotate by", "TLS_CERT — expires"} {
		if !strings.Contains(due, want) {
			t.Errorf("the due notice does not say %q:\n%s", want, due)
		}
	}
	badges := evalIn[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll('#rows tr')].map(r => [r.dataset.name, r.querySelector('.badges').innerText.replace(/\s+/g, ' ').trim()]))`)
	for name, want := range map[string]string{"DEPLOY_KEY": "write-only file", "LEGACY_API_KEY": "expired", "STRIPE_SECRET_KEY": "rotate in 5 days",
		"TLS_CERT": "file expires in 9 days", "AUTH_TOKEN": ""} {
		if got := badges[name]; !strings.HasPrefix(got, want) || want == "" && got != "" {
			t.Errorf("%s badges %q, want %q", name, got, want)
		}
	}
	// Filtering keeps what matches, from a body, never the URL.
	tb.typeInto("#search", "key")
	tb.wait(`document.querySelectorAll('#rows tr').length === 3`)
	tb.typeInto("#search", "")
	tb.do(chromedp.SendKeys(chromedp.CSS("#search"), kb.Backspace))
	tb.wait(`document.querySelectorAll('#rows tr').length === 7`)
	evalIn[chromedp.Void](tb, `document.activeElement.blur()`)
	tb.do(chromedp.EmulateViewport(1200, 940))
	tb.wait(`document.documentElement.clientHeight === 940`)
	png := tb.shot("overview")
	if out := os.Getenv("SECRETS_DOCSHOT"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The activity: who did what, newest first, without plain views.
	tb.click("#activity-btn")
	tb.wait(`document.querySelectorAll('#drawer ul.events li').length >= 8`)
	if got := tb.text("#drawer ul.events li"); !strings.Contains(got, "user:alice created TLS_CERT v1") {
		t.Errorf("newest event: %q", got)
	}
	if n := evalIn[int](tb, `[...document.querySelectorAll('#drawer ul.events li')].filter(l => l.innerText.includes(' viewed')).length`); n != 0 {
		t.Errorf("%d plain views in the activity", n)
	}
	tb.check("tok_demo", "demo-deploy-key", "sk_test_demo")
}

// An editor who saves a name shaped like a program's start-up file sees
// the library's warning, which stays until dismissed; a denied name is
// refused next to the field.
func TestBrowserNameWarning(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`!document.getElementById('empty').hidden`)
	add := func(name string) {
		tb.click("#add-btn")
		tb.wait(`document.getElementById('drawer').open`)
		tb.typeInto("#f-name", name)
		tb.typeInto("#f-value", "tok-browser-warn-8e1b")
		tb.click("#drawer .save")
	}
	add("MYTOOLRC")
	tb.wait(`document.querySelector('` + row("MYTOOLRC") + `')`)
	warning := `[...document.querySelectorAll('.toast.warning')].find(t => t.innerText.includes('MYTOOLRC matches *RC'))`
	tb.wait(warning)
	if role := evalIn[string](tb, warning+`.getAttribute('role')`); role != "alert" {
		t.Errorf("the warning's role is %q, want alert", role)
	}
	tb.shot("name-warning")
	add("PSQLRC")
	tb.wait(`document.getElementById('drawer').open && document.querySelector('#f-name[aria-invalid=true]')`)
	if _, err := m.Meta(as(t, "user:alice"), ws, "PSQLRC"); err == nil {
		t.Error("PSQLRC was saved")
	}
	tb.check("tok-browser-warn-8e1b")
}

// "What will a job get?" shows, for an editor and for a viewer, at 1280
// and at 400 pixels, each name with the level it comes from and what a job
// does with it, and no value.
func TestBrowserResolve(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	parents := func(_ context.Context, ws string) ([]string, error) {
		return []string{"group:acme", "instance"}, nil
	}
	store, c := secrets.NewMemoryStore(), newCipher(t)
	// OLD_HOOK was saved before the host reserved the name: a job would be
	// refused for it.
	before, err := secrets.New(store, c, &secrets.Config{Authorize: browserAuthorize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := before.Set(as(t, "user:alice"), "instance", "OLD_HOOK", []byte("instance-old-hook-55555"), nil); err != nil {
		t.Fatal(err)
	}
	m, err := secrets.New(store, c, &secrets.Config{Authorize: browserAuthorize, Parents: parents, ReservedNames: []string{"OLD_HOOK"},
		Withhold: func(_ context.Context, _ secrets.Request, o secrets.Offer) bool {
			return o.Variable == "PROD_DB_PASSWORD"
		}})
	if err != nil {
		t.Fatal(err)
	}
	alice := as(t, "user:alice")
	values := []string{"instance-registry-tok-1", "group-registry-tok-22", "group-prod-db-pw-333", "ws-own-api-key-4444"}
	for _, s := range []struct{ ws, name, value string }{
		{"instance", "REGISTRY_TOKEN", values[0]}, {"group:acme", "REGISTRY_TOKEN", values[1]},
		{"group:acme", "PROD_DB_PASSWORD", values[2]}, {ws, "API_KEY", values[3]},
	} {
		if _, err := m.Set(alice, s.ws, s.name, []byte(s.value), nil); err != nil {
			t.Fatal(err)
		}
	}
	br := browser(t)
	for _, who := range []string{"user:alice", "user:victor"} {
		tb := open(t, br, site(t, m, who))
		tb.wait(`document.querySelector('` + row("API_KEY") + `')`)
		for _, width := range []int64{1280, 400} {
			tb.do(chromedp.EmulateViewport(width, 860))
			tb.click("#resolve-btn")
			tb.wait(`document.querySelectorAll('#drawer table.resolve tbody tr').length === 5`)
			got := evalIn[[]string](tb, `[...document.querySelectorAll('#drawer table.resolve tbody tr')].map(r => [...r.cells].map(c => c.innerText).join('|'))`)
			want := []string{"API_KEY|this workspace|All environments|v1|delivered", "OLD_HOOK|instance|All environments|v1|refused",
				"PROD_DB_PASSWORD|group:acme|All environments|v1|withheld",
				"REGISTRY_TOKEN|group:acme|All environments|v1|delivered", "REGISTRY_TOKEN|instance|All environments|v1|overridden"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s at %d px:\n%s\nwant\n%s", who, width, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			summary := evalIn[string](tb, `document.querySelector('#drawer .summary strong').innerText`)
			if want := "An unprotected job in no environment is refused and gets nothing, for OLD_HOOK: a name the rules now refuse, a secret past its expiry, or a name stored twice."; summary != want {
				t.Errorf("%s at %d px: the summary says %q, want %q", who, width, summary, want)
			}
			if w := evalIn[int](tb, `document.documentElement.scrollWidth`); w > int(width) {
				t.Errorf("%s: at %d px the page is %d px wide", who, width, w)
			}
			tb.shot(fmt.Sprintf("%s-%d", strings.TrimPrefix(who, "user:"), width))
			tb.key(escape)
			tb.wait(`!document.getElementById('drawer').open`)
		}
		tb.check(append(values, "instance-old-hook-55555")...)
	}
}
