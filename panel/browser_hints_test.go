package panel_test

// What the page tells people: the role, the version after a conflict,
// the activity's words, and which values are not masked.

import (
	"strings"
	"testing"

	"github.com/dataspace/secrets/panel"
)

// The header shows the role the host names (Caller.Role) as it is; without
// one, Editor or Viewer from what the caller may do.
func TestBrowserRole(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	br := browser(t)
	for _, c := range []struct {
		caller panel.Caller
		want   string
	}{
		{panel.Caller{Actor: "user:alice", Role: "Owner"}, "Owner"},
		{panel.Caller{Actor: "user:carol", Role: "Auditor · read-only"}, "Auditor · read-only"},
		{panel.Caller{Actor: "user:alice"}, "Editor"},
		{panel.Caller{Actor: "user:carol"}, "Viewer · read-only"},
	} {
		tb := open(t, br, siteAs(t, m, c.caller, nil))
		tb.wait(`document.querySelector('#who .role')`)
		if got := tb.text("#who .role"); got != c.want {
			t.Errorf("%+v: the header shows %q, want %q", c.caller, got, c.want)
		}
		if c.caller.Role == "Owner" {
			tb.shot("owner")
		}
		tb.check()
	}
}

// After a conflict the page says which version the secret is at now: in
// the editor, and in the notice of a row action refused as out of date.
func TestBrowserConflictVersion(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	set := func(v string) {
		t.Helper()
		if _, err := m.Set(as(t, "user:bob"), ws, "AUTH_TOKEN", []byte(v), nil); err != nil {
			t.Fatal(err)
		}
	}
	set("conflict-version-one")
	br, url := browser(t), site(t, m, "user:alice")
	tb := open(t, br, url)
	tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `')`)
	tb.click(rowButton("AUTH_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	set("conflict-version-two")
	set("conflict-version-three")
	tb.typeInto("#f-description", "alice's words")
	tb.click("#drawer .save")
	tb.wait(`!document.querySelector('#drawer .conflict').hidden`)
	if got := tb.text("#drawer .conflict-who"); !strings.Contains(got, "now at version 3") {
		t.Errorf("the conflict does not say the version now: %q", got)
	}
	if got := tb.text("#f-value-hint"); !strings.Contains(got, "keep the current value (version 3)") {
		t.Errorf("the value's hint names another version: %q", got)
	}
	tb.shot("editor")
	tb.check("conflict-version-")

	// The row is out of date: a delete is refused, and the notice says so.
	tb = open(t, br, url)
	tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `')`)
	set("conflict-version-four")
	tb.click(rowButton("AUTH_TOKEN", "delete"))
	notice := `[...document.querySelectorAll('.toast')].find(t => t.innerText.includes('since the list was shown'))`
	tb.wait(notice)
	if got := evalIn[string](tb, notice+`.innerText`); !strings.Contains(got, "now at version 4") {
		t.Errorf("the notice does not say the version now: %q", got)
	}
	tb.shot("row")
	if meta, _ := m.Meta(as(t, "user:bob"), ws, "AUTH_TOKEN"); meta.Version != 4 || !meta.Deleted.IsZero() {
		t.Fatalf("the refused delete changed the secret: %+v", meta)
	}
	tb.check("conflict-version-")
}

// Every row of the activity names what the action was done to: the
// secrets it touched or, for an action on the workspace, the workspace.
func TestBrowserActivityWords(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	ctx := as(t, "user:alice")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := m.Set(ctx, ws, "AUTH_TOKEN", []byte("activity-words-value"), nil)
	must(err)
	_, err = m.Set(ctx, ws, "OLD_NAME", []byte("activity-other-value"), nil)
	must(err)
	_, err = m.Get(ctx, ws, "AUTH_TOKEN")
	must(err)
	_, err = m.Diff(ctx, ws, []byte("AUTH_TOKEN=activity-guess\n"), nil)
	must(err)
	_, err = m.Rename(ctx, ws, "OLD_NAME", "NEW_NAME", nil)
	must(err)
	_, err = m.Delete(ctx, ws, "NEW_NAME", nil)
	must(err)
	must(m.Destroy(ctx, ws, "NEW_NAME", nil))
	_, err = m.EnvFor(ctx, ws)
	must(err)
	_, err = m.Export(ctx, ws, nil)
	must(err)
	_, err = m.RotateKey(ctx, ws, nil)
	must(err)
	must(m.DeleteWorkspace(ctx, ws))

	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.click("#activity-btn")
	tb.wait(`document.querySelectorAll('#drawer ul.events li').length >= 10`)
	rows := evalIn[[]string](tb, `[...document.querySelectorAll('#drawer ul.events li > div:first-child')].map(d => d.innerText.trim())`)
	all := strings.Join(rows, "\n")
	for _, want := range []string{
		"user:alice rotated the data key of workspace " + ws,
		"user:alice deleted the workspace " + ws + " with AUTH_TOKEN v1", // and what it removed
		"user:alice compared a .env text with AUTH_TOKEN",                // Diff events name the secrets compared
		"user:alice renamed OLD_NAME v1 → NEW_NAME v1",
		"user:alice gave a job AUTH_TOKEN v1",
		"user:alice exported AUTH_TOKEN v1",
		"user:alice revealed AUTH_TOKEN v1",
		"user:alice destroyed NEW_NAME",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no row says %q:\n%s", want, all)
		}
	}
	for _, r := range rows {
		if strings.HasSuffix(r, " of") || strings.HasSuffix(r, " into a job") || strings.HasSuffix(r, "changed") || strings.HasSuffix(r, "diff") ||
			strings.Contains(r, "delete-workspace") {
			t.Errorf("a row names no object: %q", r)
		}
	}
	tb.shot("activity")
	tb.check("activity-words-value", "activity-other-value")
}

// The page promises masking only for values the jobs' Redactor masks:
// the intro names the shortest, and saving a shorter value warns.
func TestBrowserShortValueWarning(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`!document.getElementById('empty').hidden`)
	if got := tb.text(".intro"); !strings.Contains(got, "masked in build logs when 6 characters or longer (shorter ones are not)") {
		t.Errorf("the intro: %q", got)
	}
	warning := `[...document.querySelectorAll('.toast.warning')].find(t => t.innerText.includes('not masked'))`
	for _, c := range []struct {
		name, value string
		warn        bool
	}{{"SHORT_PIN", "4821", true}, {"LONG_TOKEN", "long-enough-value", false}, {"UNICODE_PIN", "äöü", false}} {
		tb.click("#add-btn")
		tb.wait(`document.getElementById('drawer').open`)
		tb.typeInto("#f-name", c.name)
		tb.typeInto("#f-value", c.value)
		tb.click("#drawer .save")
		tb.wait(`document.querySelector('` + row(c.name) + `')`)
		tb.settle()
		if got := evalIn[bool](tb, `Boolean(`+warning+`)`); got != c.warn {
			t.Errorf("%s (%d bytes): warning %v, want %v", c.name, len(c.value), got, c.warn)
		}
		if c.warn {
			if got := evalIn[string](tb, warning+`.innerText`); !strings.Contains(got, "SHORT_PIN") || !strings.Contains(got, "6") {
				t.Errorf("the warning: %q", got)
			}
			tb.shot("warning")
			tb.click(".toast.warning .toast-close, .toast.warning button")
			tb.wait(`!(` + warning + `)`)
		}
	}
	// An edit that makes the value short warns too.
	tb.click(rowButton("LONG_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	tb.typeInto("#f-value", "abc")
	tb.click("#drawer .save")
	tb.wait(warning)
	tb.check("4821", "long-enough-value")
}
