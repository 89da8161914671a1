package panel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dataspace/secrets"
)

// Text the host or a user controls, with a right-to-left override
// (U+202E) in it: an actor, and a level above ws-1. rloEscape also holds a
// stray POP DIRECTIONAL ISOLATE (U+2069), which would end an isolate
// around it early if the page did not drop it.
const (
	rloActor  = "user:x\u202eevil"
	rloEscape = "user:y\u2069\u202eevil"
	rloGroup  = "group:x\u202eevil"
)

func bidiParents(_ context.Context, w string) ([]string, error) {
	switch w {
	case ws:
		return []string{rloGroup}, nil
	}
	return nil, nil
}

func bidiAuthorize(ctx context.Context, r secrets.Request) error {
	if r.Actor == rloActor || r.Actor == rloEscape {
		return nil
	}
	return browserAuthorize(ctx, r)
}

// laidOutAfter returns "" if, in each element that sel selects whose
// own text (or a child's) is who (a stray U+2069 aside), the words that follow the child holding
// who (in the next text node or element) are laid out to the right of
// that child's box; else what is wrong. A right-to-left override that
// leaks out of who puts them to its left, or inside its box.
func laidOutAfter(tb *tab, sel, who, words string) string {
	tb.t.Helper()
	return evalIn[string](tb, fmt.Sprintf(`((sel, who, words) => {
	  const is = (c) => c.textContent.replace(/\u2069/g, '') === who.replace(/\u2069/g, '');
	  const boxes = [...document.querySelectorAll(sel)].filter((b) => [...b.childNodes].some(is));
	  if (boxes.length === 0) return 'no ' + sel + ' holds ' + JSON.stringify(who);
	  for (const b of boxes) {
	    const kids = [...b.childNodes];
	    const i = kids.findIndex(is);
	    const next = kids.slice(i + 1).find((c) => c.textContent.includes(words));
	    if (!next) return 'nothing after ' + JSON.stringify(who) + ' holds ' + JSON.stringify(words);
	    const text = next.nodeType === Node.TEXT_NODE ? next : [...next.childNodes].find((c) => c.nodeType === Node.TEXT_NODE && c.data.includes(words));
	    const at = text.data.indexOf(words);
	    const r = document.createRange();
	    r.setStart(text, at);
	    r.setEnd(text, at + words.length);
	    const w = r.getBoundingClientRect();
	    const a = kids[i].getBoundingClientRect();
	    if (w.width === 0 || a.width === 0) return 'not laid out';
	    if (w.left < a.right - 0.5) return JSON.stringify(words) + ' starts at ' + w.left + ', left of the end of ' + JSON.stringify(who) + ' at ' + a.right;
	  }
	  return '';
	})(%q, %q, %q)`, sel, who, words))
}

// Strings the host or a user controls are isolated: an actor's or a
// level's right-to-left override reorders only that string, not the
// panel's own words after it (Activity's verb, the Inherited heading's
// count), even with a stray pop of an isolate in it.
func TestBrowserBidiIsolated(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: bidiAuthorize, Parents: bidiParents})
	for _, s := range []struct{ actor, w, name string }{
		{rloActor, ws, "API_KEY"}, {rloEscape, ws, "OTHER_KEY"}, {"user:alice", rloGroup, "GRP_TOKEN"},
	} {
		if _, err := m.Set(as(t, s.actor), s.w, s.name, []byte("bidi-value-1234"), &secrets.SetOptions{Info: &secrets.Info{Description: "by " + s.actor}}); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), scopeSite(t, m, "user:alice")+"/w/"+ws+"/secrets/")
	tb.wait(`document.querySelector('#inherited h3.level a')`)
	tb.shot("list")
	if msg := laidOutAfter(tb, "#inherited h3.level", rloGroup, "· 1 secret"); msg != "" {
		t.Errorf("Inherited heading: %s", msg)
	}

	tb.click("#activity-btn")
	tb.wait(`document.querySelectorAll('#drawer .events li').length >= 2`)
	tb.shot("activity")
	for _, actor := range []string{rloActor, rloEscape} {
		if msg := laidOutAfter(tb, "#drawer .events li > div:first-child", actor, "created"); msg != "" {
			t.Errorf("Activity, %+q: %s", actor, msg)
		}
	}
	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)

	tb.click(rowButton("API_KEY", "history"))
	tb.wait(`document.querySelector('#drawer .events li .what')`)
	if msg := laidOutAfter(tb, "#drawer .events li > div:first-child", rloActor, "created"); msg != "" {
		t.Errorf("History: %s", msg)
	}
	tb.key(escape)
	tb.wait(`!document.getElementById('drawer').open`)

	// The other places: each such string is in an isolating element
	// (where a table cell or a flex item already ends the paragraph, the
	// override cannot reach the page's words; isolated all the same).
	preview(tb, "", false)
	const hosts = `#drawer td[data-label="From"] a > *, #rows td[data-label="By"] > *, #rows .desc > *, #inherited td[data-label="By"] > *,
	  #inherited h3.level a > *, #inherited .here > *, #workspace > *, #who strong > *`
	// 1 From, 2 By and 2 descriptions in the list, 1 By and 1 level
	// inherited, ws-1 twice, alice.
	if n := tb.count(hosts); n != 10 {
		t.Errorf("%d elements hold the host's or users' text, want 10", n)
	}
	isolated := evalIn[[]string](tb, `[...document.querySelectorAll(`+"`"+hosts+"`"+`)].filter((e) => getComputedStyle(e).unicodeBidi !== 'isolate').map((e) => e.outerHTML)`)
	if len(isolated) > 0 {
		t.Errorf("not isolated: %q", isolated)
	}
	if n := tb.count(`#drawer td[data-label="From"] a`); n != 1 {
		t.Errorf("the preview's From cells link %d levels, want 1", n)
	}
	tb.check()
}

// textLines is how many lines the text in what sel selects takes.
func textLines(tb *tab, sel string) int {
	tb.t.Helper()
	return evalIn[int](tb, fmt.Sprintf(`(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector(%q));
	  return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; })()`, sel))
}

// longText is a run of letters with no place to break.
var longText = strings.Repeat("A", 460)

// Long unbroken descriptions, scopes and names wrap: at 1280 and 400
// pixels the list fits the window (its buttons stay in sight), and the
// preview and Activity fit their side panel; ordinary short scopes stay
// on one line.
func TestBrowserLongTextWraps(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: browserAuthorize})
	alice := as(t, "user:alice")
	longScope := "SCOPE_ONLY@" + longText[:220] + "/*"
	for _, s := range []struct{ name, desc string }{
		{"DESC_ONLY", longText},
		{longScope, ""},
		{"DB_URL@review/*", "The review apps' database"},
		{"TOKEN", "An ordinary secret"},
	} {
		if _, err := m.Set(alice, ws, s.name, []byte("long-value-1234"), &secrets.SetOptions{Info: &secrets.Info{Description: s.desc}}); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelectorAll('#rows tr').length === 4`)
	for _, width := range []int64{1280, 400} {
		tb.do(chromedp.EmulateViewport(width, 860))
		tb.wait(fmt.Sprintf(`window.innerWidth === %d`, width))
		evalIn[chromedp.Void](tb, `window.scrollTo(0, 0)`)
		tb.shot(fmt.Sprintf("list-%d", width))
		if sw := evalIn[int](tb, `document.documentElement.scrollWidth`); sw > int(width) {
			t.Errorf("%d px: the page is %d px wide", width, sw)
		}
		if off := evalIn[[]string](tb, `[...document.querySelectorAll('#rows button')].filter((b) => b.getBoundingClientRect().right > innerWidth).map((b) => b.getAttribute('aria-label').slice(0, 30))`); len(off) > 0 {
			t.Errorf("%d px: buttons out of sight: %q", width, off)
		}
		if width == 1280 {
			// review/* on one line: its cell is one line high.
			if lines := textLines(tb, `#rows tr[data-name="DB_URL@review/*"] td.scope`); lines != 1 {
				t.Errorf("review/* takes %d lines", lines)
			}
		}

		preview(tb, "production", false)
		tb.shot(fmt.Sprintf("preview-%d", width))
		if over := evalIn[int](tb, `(() => { const b = document.getElementById('drawer-body'); return b.scrollWidth - b.clientWidth; })()`); over > 0 {
			t.Errorf("%d px: the preview is %d px wider than its side panel", width, over)
		}
		if width == 1280 {
			if lines := textLines(tb, `#drawer tr[data-name="DB_URL@review/*"] td[data-label="Environment"]`); lines != 1 {
				t.Errorf("the preview's review/* takes %d lines", lines)
			}
		}
		tb.key(escape)
		tb.wait(`!document.getElementById('drawer').open`)

		tb.click("#activity-btn")
		tb.wait(`document.querySelectorAll('#drawer .events li').length >= 4`)
		tb.shot(fmt.Sprintf("activity-%d", width))
		if over := evalIn[int](tb, `(() => { const b = document.getElementById('drawer-body'); return b.scrollWidth - b.clientWidth; })()`); over > 0 {
			t.Errorf("%d px: Activity is %d px wider than its side panel", width, over)
		}
		tb.key(escape)
		tb.wait(`!document.getElementById('drawer').open`)
	}
	tb.check()
}

// The preview announces only its summary's sentence, not the table: the
// one live region in it (besides the problem box) holds that sentence,
// updated as the environment changes.
func TestBrowserPreviewAnnouncesSummary(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := browserManager(t)
	alice := as(t, "user:alice")
	for _, name := range []string{"TOKEN", "DB_URL@production"} {
		if _, err := m.Set(alice, ws, name, []byte("announce-value-1"), nil); err != nil {
			t.Fatal(err)
		}
	}
	tb := open(t, browser(t), site(t, m, "user:alice"))
	live := func() []string {
		return evalIn[[]string](tb, `[...document.querySelectorAll('#drawer [aria-live], #drawer [role=status], #drawer [role=log]')]
		  .map((e) => (e.querySelector('table') ? 'TABLE ' : '') + e.textContent)`)
	}
	for _, c := range []struct{ env, want string }{
		{"production", "An unprotected job in production gets 2 secrets."},
		{"staging", "An unprotected job in staging gets 1 secret."},
	} {
		preview(tb, c.env, false)
		if got := live(); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: live regions %q, want only %q", c.env, got, c.want)
		}
	}
	tb.check()
}

// A conflict's list of what changed isolates the other editor's name and
// description: their right-to-left override does not reverse the panel's
// own words after them ("(you changed it too)").
func TestBrowserConflictIsolated(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: bidiAuthorize})
	m.Set(as(t, "user:alice"), ws, "AUTH_TOKEN", []byte("conflict-first-value"), nil)
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.wait(`document.querySelector('` + row("AUTH_TOKEN") + `')`)
	tb.click(rowButton("AUTH_TOKEN", "edit"))
	tb.wait(`document.getElementById('drawer').open`)
	if _, err := m.Set(as(t, rloActor), ws, "AUTH_TOKEN", []byte("conflict-evil-value"),
		&secrets.SetOptions{Info: &secrets.Info{Description: "note\u202eevil"}}); err != nil {
		t.Fatal(err)
	}
	tb.typeInto("#f-value", "conflict-alice-value")
	tb.typeInto("#f-description", "alice's")
	tb.click("#drawer .save")
	tb.wait(`!document.querySelector('#drawer .conflict').hidden`)
	tb.shot("conflict")
	for who, words := range map[string]string{rloActor: "(you changed it too)", "note\u202eevil": "” (you changed it too)"} {
		msg := evalIn[string](tb, fmt.Sprintf(`((who, words) => {
		  for (const li of document.querySelectorAll('#drawer .conflict li')) {
		    const text = li.firstChild;
		    const a = text.data.indexOf(who), w = text.data.indexOf(words, a + who.length);
		    if (a < 0 || w < 0) continue;
		    // The first character of the words, which may wrap, against
		    // the name's box.
		    const box = (from, to) => { const r = document.createRange(); r.setStart(text, from); r.setEnd(text, to); return r.getBoundingClientRect(); };
		    const rw = box(w, w + 1), ra = box(a, a + who.length);
		    if (rw.top >= ra.bottom - 0.5) return ''; // on a later line
		    return rw.left < ra.right - 0.5 ? JSON.stringify(words) + ' starts at ' + rw.left + ', left of the end of the name at ' + ra.right + ' on its line' : '';
		  }
		  return 'no line holds ' + JSON.stringify(who) + ' and then ' + JSON.stringify(words) + ': ' + document.querySelector('#drawer .conflict').textContent;
		})(%q, %q)`, who, words))
		if msg != "" {
			t.Errorf("%+q: %s", who, msg)
		}
	}
	tb.check("conflict-evil-value", "conflict-first-value")
}
