package panel_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dataspace/secrets"
)

// Fixes from a browser trial of flags in the history and the activity,
// of the focus after a save, and of a list that fails to load.

// eventRows are the first lines of the events the drawer shows.
func eventRows(tb *tab) []string {
	tb.t.Helper()
	return evalIn[[]string](tb, `[...document.querySelectorAll('#drawer ul.events li > div:first-child')].map(d => d.innerText.trim())`)
}

// The history marks the versions sealed protected, and the confirmation of
// a roll back to one says it protects the secret again. The history's
// recent activity and the Activity view say which flags a write turned on
// or off (the event's detail, as text) and call a roll back or a restore
// so though its detail says which flags it turned on.
func TestBrowserFlagActivity(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m, now, t0 := clockedManager(t)
	alice := as(t, "user:alice")
	set := func(name, value string, protected bool) {
		t.Helper()
		if _, err := m.Set(alice, ws, name, []byte(value), &secrets.SetOptions{Info: &secrets.Info{Protected: protected}}); err != nil {
			t.Fatal(err)
		}
	}
	// TOK, protected then unprotected, is restored to a time it was
	// protected: the restore protects it again.
	set("TOK", "flag-tok-value-1", true)
	now.Store(t0.Add(time.Hour).UnixMicro())
	set("TOK", "flag-tok-value-2", false)
	now.Store(t0.Add(90 * time.Minute).UnixMicro())
	at := t0.Add(30 * time.Minute)
	plan, err := m.PreviewRestoreAt(alice, ws, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.RestoreAt(alice, ws, plan); err != nil {
		t.Fatal(err)
	}
	now.Store(time.Now().UnixMicro())
	// BAK, protected in a backup and unprotected since, is restored from
	// the backup: the restore protects it again.
	set("BAK", "flag-bak-value-1", true)
	doc, err := m.Backup(alice, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	set("BAK", "flag-bak-value-2", false)
	bplan, err := m.PreviewRestore(alice, ws, doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(alice, ws, doc, bplan, nil); err != nil {
		t.Fatal(err)
	}
	// DEPLOY: made protected (v1), then a new value unprotected (v2).
	set("DEPLOY", "flag-deploy-value-1", true)
	set("DEPLOY", "flag-deploy-value-2", false)
	values := []string{"flag-tok-value-1", "flag-tok-value-2", "flag-bak-value-1", "flag-bak-value-2", "flag-deploy-value-1", "flag-deploy-value-2"}

	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("DEPLOY") + `')`)
	tb.click(rowButton("DEPLOY", "history"))
	tb.wait(`document.querySelector('#drawer ul.events li')`)
	if n := tb.count(`#drawer li[data-version="1"] .badge.protected`); n != 1 {
		t.Errorf("version 1 has %d protected marks", n)
	}
	if n := tb.count(`#drawer li[data-version="2"] .badge.protected`); n != 0 {
		t.Errorf("version 2 (not protected) has %d protected marks", n)
	}
	tb.shot("history")
	tb.click(`#drawer li[data-version="1"] button[data-act="rollback"]`)
	tb.wait(`document.getElementById('confirm').open`)
	if got := tb.text("#confirm-text"); !strings.Contains(got, "Version 1 was protected, so DEPLOY becomes protected again") {
		t.Errorf("the confirmation says %q", got)
	}
	tb.shot("confirm")
	tb.click("#confirm-ok")
	tb.wait(`document.querySelector('#drawer li[data-version="3"] .badge.protected') && document.querySelector('#drawer ul.events li')`)
	tb.settle()
	want := []string{
		"user:alice rolled back DEPLOY v3 to version 1 — protected on",
		"user:alice changed DEPLOY v2 — protected off",
		"user:alice created DEPLOY v1",
	}
	if got := eventRows(tb); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("recent activity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	tb.shot("history-after")

	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)
	tb.click("#activity-btn")
	tb.wait(`document.querySelectorAll('#drawer ul.events li').length >= 10`)
	tb.settle()
	// The restore's time as the page writes it: local, in full.
	when := evalIn[string](tb, fmt.Sprintf(`new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(%d))`, at.UnixMilli()))
	made := evalIn[string](tb, fmt.Sprintf(`new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'short'}).format(new Date(%d))`, bplan.Created.Truncate(time.Second).UnixMilli()))
	want = append(want,
		"user:alice restored BAK v3 from a backup that says it is of \""+ws+"\", made "+made+" — BAK: protected on",
		"user:alice changed BAK v2 — protected off",
		"user:alice created BAK v1",
		"user:alice restored TOK v3 to "+when+" — TOK: protected on",
		"user:alice changed TOK v2 — protected off",
		"user:alice created TOK v1")
	var got []string
	for _, r := range eventRows(tb) {
		// Not the restores' previews (compared) nor the backup (exported).
		if strings.HasPrefix(r, "user:alice ") && !strings.Contains(r, " compared ") && !strings.Contains(r, " exported ") {
			got = append(got, r)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("activity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := tb.count(`#drawer ul.events time[datetime="` + at.Format(time.RFC3339Nano) + `"]`); n != 1 {
		t.Errorf("%d time elements say the restore's time", n)
	}
	tb.shot("activity")
	html := evalIn[string](tb, `document.documentElement.outerHTML`)
	for _, v := range values {
		if strings.Contains(html, v) {
			t.Errorf("the page holds the value %q", v)
		}
	}
	tb.check(values...)
}

// After a save from the keyboard the focus is not lost with the rows the
// refresh replaced: the Edit of the secret's new row gets it (a renamed
// one's new name), or "Add secret" when the row is not on the page.
func TestBrowserSaveKeepsFocus(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	for _, n := range []string{"A_KEY", "B_KEY"} {
		if _, err := m.Set(alice, ws, n, []byte("save-focus-value-"+n), nil); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("B_KEY") + `')`)
	edit := func(name string, change func()) {
		t.Helper()
		evalIn[chromedp.Void](tb, `document.querySelector('`+rowButton(name, "edit")+`').focus()`)
		tb.key(kb.Enter)
		tb.wait(`document.getElementById('drawer').open && document.activeElement.closest('#drawer')`)
		change()
		tb.key(kb.Enter) // submits the form
		tb.wait(`!document.getElementById('drawer').open`)
		tb.settle()
	}

	edit("B_KEY", func() { tb.typeInto("#f-description", "described from the keyboard") })
	tb.wait(`document.activeElement.matches('` + rowButton("B_KEY", "edit") + `')`)
	tb.shot("saved")

	edit("B_KEY", func() { tb.typeInto("#f-name", "C_KEY") })
	tb.wait(`document.activeElement.matches('` + rowButton("C_KEY", "edit") + `')`)

	// With a search for A_, a rename to Z_KEY takes the row off the page.
	tb.typeInto("#search", "A_")
	tb.wait(`!document.querySelector('` + row("C_KEY") + `')`)
	edit("A_KEY", func() { tb.typeInto("#f-name", "Z_KEY") })
	tb.wait(`!document.querySelector('` + row("A_KEY") + `') && document.activeElement.id === 'add-btn'`)
	tb.shot("renamed-away")
	if meta, err := m.Meta(alice, ws, "Z_KEY"); err != nil || meta.Version != 1 {
		t.Errorf("Z_KEY: %+v, %v", meta, err)
	}
	tb.check()
}

// When the list fails to load after it loaded, the count of what it had
// goes with it: the page says only why.
func TestBrowserListProblemClearsCount(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	var down atomic.Bool
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: func(ctx context.Context, r secrets.Request) error {
		if down.Load() && r.Action == secrets.ActionList {
			return &secrets.Refusal{Unavailable: true}
		}
		return browserAuthorize(ctx, r)
	}})
	alice := as(t, "user:alice")
	for _, n := range []string{"A_KEY", "B_KEY"} {
		if _, err := m.Set(alice, ws, n, []byte("count-value-"+n), nil); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("B_KEY") + `')`)
	if got := tb.text("#count"); got != "2 secrets" {
		t.Fatalf("the count says %q", got)
	}
	down.Store(true)
	tb.typeInto("#search", "KEY")
	tb.wait(`!document.getElementById('empty').hidden`)
	tb.shot("problem")
	if got := tb.text("#empty"); !strings.Contains(got, "could not be loaded") {
		t.Errorf("the page says %q", got)
	}
	if got := tb.text("#count"); got != "" {
		t.Errorf("the count still says %q above the problem", got)
	}
	tb.check()
}
