package panel_test

import (
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// Activity says, of a job's secrets, where each came from (a parent's
// name, quoted and isolated) and which the job did not get (withheld, an
// ingredient of an expanded value), and the job's environment (quoted: a
// comma in it does not read as two things) and protection: it showed
// only "NAME vN", which read as the workspace's own secrets, all
// delivered (audit trial).
func TestBrowserActivityProvenance(t *testing.T) {
	t.Parallel() // a browser context of its own (see browser)
	m := newManager(t, secrets.NewMemoryStore(), provenanceConfig(t, browserAuthorize))
	provenanceJob(t, m, "user:alice")
	tb := open(t, browser(t), site(t, m, "user:alice"))
	tb.click("#activity-btn")
	row := `[...document.querySelectorAll('#drawer ul.events li > div:first-child')].find(d => d.innerText.includes('gave a job'))`
	tb.wait(row)
	got := evalIn[string](tb, row+`.innerText`)
	want := `user:alice gave a job API_TOKEN v1 from “group: acme, eu”, DATABASE_URL v1, PROD_DB v1 withheld, PW v1 ingredient (environment “prod,protected”, protected)`
	if strings.Join(strings.Fields(got), " ") != want {
		t.Errorf("the job's row:\n%s\nwant:\n%s", got, want)
	}
	// The container and the environment are isolated (<bdi>), the marks
	// explained.
	isolated := evalIn[[]string](tb, row+`.querySelectorAll('bdi').values().map(b => b.textContent).toArray()`)
	for _, w := range []string{"group: acme, eu", "prod,protected"} {
		if !strings.Contains(strings.Join(isolated, "\n"), w) {
			t.Errorf("%q is not in a <bdi>: %q", w, isolated)
		}
	}
	titles := evalIn[[]string](tb, row+`.querySelectorAll('.badge').values().map(b => b.textContent + ': ' + b.title).toArray()`)
	if len(titles) != 2 || !strings.HasPrefix(titles[0], "withheld: The host kept it from the job") ||
		!strings.HasPrefix(titles[1], "ingredient: The job did not get it") {
		t.Errorf("the marks: %q", titles)
	}
	tb.shot("activity-provenance")
	tb.check("prov-group-token-value", "prov-prod-db-value", "prov-pw-value")
}
