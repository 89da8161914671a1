package panel_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// "Restore to…" previews, as names and versions only, what restoring the
// workspace to a time does, and then does exactly that: a value back, a
// deleted secret undeleted, one made since deleted. A viewer has no such
// button.
func TestBrowserRestoreAt(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m, now, t0 := clockedManager(t)
	alice := as(t, "user:alice")
	set := func(name, value string) {
		t.Helper()
		if _, err := m.Set(alice, ws, name, []byte(value), nil); err != nil {
			t.Fatal(err)
		}
	}
	set("API_KEY", "api-key-then-1111")
	set("OLD_TOKEN", "old-token-then-2222")
	// DEPLOY was protected then, and is not now: the restore protects it
	// again, and the preview says so.
	if _, err := m.Set(alice, ws, "DEPLOY", []byte("deploy-then-5555"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
		t.Fatal(err)
	}
	now.Store(t0.Add(time.Hour).UnixMicro())
	set("API_KEY", "api-key-now-3333")
	if _, err := m.Set(alice, ws, "DEPLOY", []byte("deploy-now-6666"), &secrets.SetOptions{Info: &secrets.Info{}}); err != nil {
		t.Fatal(err)
	}
	set("NEW_TOKEN", "new-token-since-4444")
	if _, err := m.Delete(alice, ws, "OLD_TOKEN", nil); err != nil {
		t.Fatal(err)
	}
	now.Store(time.Now().UnixMicro())
	values := []string{"api-key-then-1111", "old-token-then-2222", "api-key-now-3333", "new-token-since-4444", "deploy-then-5555", "deploy-now-6666"}

	br := browser(t)
	viewer := open(t, br, site(t, m, "user:victor"))
	viewer.wait(`document.querySelector('` + row("API_KEY") + `')`)
	if n := viewer.count("#restore-btn"); n != 0 {
		t.Errorf("a viewer's page has %d restore buttons", n)
	}

	tb := open(t, br, site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("API_KEY") + `')`)
	tb.click("#restore-btn")
	tb.wait(`document.getElementById('r-at') !== null`)
	// Half an hour after the first values, in the browser's local time.
	at := t0.Add(30 * time.Minute).UnixMilli()
	evalIn[bool](tb, fmt.Sprintf(`(() => {
		const d = new Date(%d), p = (n) => String(n).padStart(2, '0');
		const f = document.getElementById('r-at');
		f.value = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
		f.dispatchEvent(new Event('input', {bubbles: true}));
		return true;
	})()`, at))
	tb.click("#drawer button.preview")
	tb.wait(`!document.querySelector('#drawer .plan').hidden`)
	plan := tb.text("#drawer .plan")
	for _, want := range []string{"API_KEY v2 → the value of v1", "DEPLOY v2 → the value of v1, which makes it protected", "Undeleted (1)", "OLD_TOKEN", "Deleted (made since) (1)", "NEW_TOKEN"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the preview does not say %q:\n%s", want, plan)
		}
	}
	tb.shot("preview")
	tb.click("#drawer button.apply")
	tb.wait(`!document.getElementById('drawer').open`)
	tb.settle()
	if got, err := m.Get(alice, ws, "API_KEY"); err != nil || string(got.Value.Reveal()) != "api-key-then-1111" || got.Version != 3 {
		t.Errorf("API_KEY after the restore: version %d, %v", got.Version, err)
	}
	if _, err := m.Get(alice, ws, "OLD_TOKEN"); err != nil {
		t.Errorf("OLD_TOKEN is not back: %v", err)
	}
	if meta, err := m.Meta(alice, ws, "NEW_TOKEN"); err != nil || meta.Deleted.IsZero() {
		t.Errorf("NEW_TOKEN is not deleted: %+v, %v", meta, err)
	}
	tb.shot("after")
	tb.check(values...)
}
