package panel_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dataspace/secrets"
)

// References between secrets in the editor, at 1280 and 400 pixels: an
// editor adds DB_PASSWORD, then DATABASE_URL with its reference and
// "Expand ${…} references" checked; the editor lists the names the value
// references only once it is checked, the list marks DATABASE_URL
// "expands", a reference to a name no scope defines is a warning after
// the save, and references that would form a cycle are refused (422)
// beside the value, which changes nothing.
func TestBrowserExpand(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	br := browser(t)
	for _, width := range []int64{1280, 400} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			m := newManager(t, secrets.NewMemoryStore(), &secrets.Config{Authorize: browserAuthorize})
			alice := as(t, "user:alice")
			const dbPassword = "db-pass-ref-4c1e9a77"
			tb := open(t, br, site(t, m, "user:alice"))
			tb.do(chromedp.EmulateViewport(width, 860))
			tb.wait(fmt.Sprintf(`window.innerWidth === %d`, width))
			dismiss := func() {
				evalIn[chromedp.Void](tb, `document.querySelectorAll('.toast button[aria-label="Dismiss"]').forEach(b => b.click())`)
			}
			expandBox := `#drawer input[name="expand"]`
			checkExpand := func() {
				evalIn[chromedp.Void](tb, `document.querySelector('`+expandBox+`').scrollIntoView({block: 'center'})`)
				tb.click(expandBox)
				tb.wait(`document.querySelector('` + expandBox + `').checked`)
			}

			tb.click("#add-btn")
			tb.wait(`document.activeElement.id === 'f-name'`)
			if evalIn[bool](tb, `document.querySelector('`+expandBox+`').checked`) {
				t.Error("Expand is checked by default")
			}
			tb.typeInto("#f-name", "DB_PASSWORD")
			tb.typeInto("#f-value", dbPassword)
			tb.click("#drawer .save")
			tb.wait(`document.querySelector('` + row("DB_PASSWORD") + `')`)
			dismiss()

			tb.click("#add-btn")
			tb.wait(`document.activeElement.id === 'f-name'`)
			tb.typeInto("#f-name", "DATABASE_URL")
			tb.typeInto("#f-value", "postgres://app:${DB_PASSWORD}@db/app")
			if !tb.pageHidden("#f-refs") {
				t.Errorf("references listed before Expand is checked: %q", tb.text("#f-refs"))
			}
			checkExpand()
			tb.wait(`!document.getElementById('f-refs').hidden`)
			if got := tb.text("#f-refs"); got != "References: DB_PASSWORD" {
				t.Errorf("the references shown: %q", got)
			}
			tb.shot("references")
			tb.click("#drawer .save")
			tb.wait(`document.querySelector('` + row("DATABASE_URL") + `')`)
			if got := tb.text(row("DATABASE_URL")); !strings.Contains(got, "expands") {
				t.Errorf("the row of DATABASE_URL has no marker: %q", got)
			}
			if got := tb.text(row("DB_PASSWORD")); strings.Contains(got, "expands") {
				t.Errorf("the row of DB_PASSWORD has the marker: %q", got)
			}
			if meta, err := m.Meta(alice, ws, "DATABASE_URL"); err != nil || !meta.Expand {
				t.Fatalf("created: %+v, %v", meta, err)
			}
			if w := evalIn[int](tb, `document.documentElement.scrollWidth`); w > int(width) {
				t.Errorf("at %d px the page is %d px wide", width, w)
			}
			tb.shot("list")
			dismiss()

			// A reference to a name no scope defines: saved, with a warning.
			tb.click("#add-btn")
			tb.wait(`document.activeElement.id === 'f-name'`)
			tb.typeInto("#f-name", "REDIS_URL")
			tb.typeInto("#f-value", "redis://${REDIS_HOST}:6379")
			checkExpand()
			tb.click("#drawer .save")
			warning := `[...document.querySelectorAll('.toast.warning')].find(t => t.innerText.includes('not defined in any scope yet: REDIS_HOST'))`
			tb.wait(warning)
			tb.shot("undefined")
			dismiss()

			// A cycle: DB_PASSWORD made to reference DATABASE_URL.
			tb.click(rowButton("DB_PASSWORD", "edit"))
			tb.wait(`document.activeElement.id === 'f-value'`)
			if !tb.pageHidden("#f-refs") {
				t.Errorf("an existing value, not revealed, lists references: %q", tb.text("#f-refs"))
			}
			tb.typeInto("#f-value", "x-${DATABASE_URL}")
			checkExpand()
			tb.wait(`document.getElementById('f-refs').innerText === 'References: DATABASE_URL'`)
			tb.click("#drawer .save")
			tb.wait(`!document.getElementById('f-value-error').hidden`)
			got := tb.text("#f-value-error")
			for _, want := range []string{"Invalid reference", "cycle", "DB_PASSWORD", "DATABASE_URL"} {
				if !strings.Contains(got, want) {
					t.Errorf("the refusal %q does not say %q", got, want)
				}
			}
			if evalIn[string](tb, `document.getElementById('f-value').getAttribute('aria-invalid')`) != "true" {
				t.Error("the value is not marked invalid")
			}
			if r := evalIn[float64](tb, `document.getElementById('drawer').getBoundingClientRect().left`); r < 0 {
				t.Errorf("at %d px the side panel starts %v px off the screen", width, r)
			}
			tb.shot("cycle")
			if meta, err := m.Meta(alice, ws, "DB_PASSWORD"); err != nil || meta.Expand || meta.Version != 1 {
				t.Errorf("the refused save changed DB_PASSWORD: %+v, %v", meta, err)
			}
			// Typing again clears the refusal.
			tb.typeInto("#f-value", "x")
			tb.wait(`document.getElementById('f-value-error').hidden`)
			tb.key(escape)
			tb.wait(`!document.getElementById('drawer').open`)

			// The preview reads no value: it marks what composes others,
			// whose references the job's start checks.
			rows := preview(tb, "", false)
			for _, want := range []string{"DATABASE_URL ws-1 All environments v1 delivered\nreferences checked at start", "DB_PASSWORD ws-1 All environments v1 delivered\n",
				"REDIS_URL ws-1 All environments v1 delivered\nreferences checked at start"} {
				if !strings.Contains(rows+"\n", want) {
					t.Errorf("the preview does not say %q:\n%s", want, rows)
				}
			}
			if got := tb.text("#drawer .summary"); !strings.Contains(got, "2 of them compose others (${NAME}): a reference the job does not get fails the whole job") {
				t.Errorf("the preview's summary: %q", got)
			}
			tb.shot("preview")
			tb.key(escape)
			tb.wait(`!document.getElementById('drawer').open`)

			html := evalIn[string](tb, `document.documentElement.outerHTML`)
			for _, v := range []string{dbPassword, "postgres://app:" + dbPassword} {
				if strings.Contains(html, v) {
					t.Error("the page holds a value")
				}
			}
			tb.check(dbPassword)
		})
	}
}
