package panel_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// provenanceConfig makes the jobs of ws
// inherit from "group: acme, eu" (a space and a comma) and have PROD_DB
// withheld, with an audit key (so that events carry fingerprints);
// provenanceJob records such a job's event: API_TOKEN from the group,
// PROD_DB withheld, PW only an ingredient of DATABASE_URL, in environment
// "prod,protected", protected.
func provenanceConfig(t *testing.T, authorize func(context.Context, secrets.Request) error) *secrets.Config {
	t.Helper()
	ak, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := secrets.NewAuditKey(ak)
	if err != nil {
		t.Fatal(err)
	}
	return &secrets.Config{
		Authorize: authorize,
		AuditKey:  key,
		Parents: func(_ context.Context, w string) ([]string, error) {
			if w == ws {
				return []string{provenanceGroup}, nil
			}
			return nil, nil
		},
		Withhold: func(_ context.Context, _ secrets.Request, o secrets.Offer) bool { return o.Variable == "PROD_DB" },
	}
}

const provenanceGroup = "group: acme, eu"

func provenanceJob(t *testing.T, m *secrets.Manager, actor string) {
	t.Helper()
	ctx := secrets.WithActor(t.Context(), actor)
	for _, s := range []struct{ ws, name, value string }{
		{provenanceGroup, "API_TOKEN", "prov-group-token-value"},
		{ws, "PROD_DB", "prov-prod-db-value"},
		{ws, "PW", "prov-pw-value"},
		{ws, "DATABASE_URL", "u:${PW}"},
	} {
		var opts *secrets.SetOptions
		if s.name == "DATABASE_URL" {
			opts = &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		}
		if _, err := m.Set(ctx, s.ws, s.name, []byte(s.value), opts); err != nil {
			t.Fatal(err)
		}
	}
	job, err := m.Prepare(ctx, ws, &secrets.PrepareOptions{
		Names: []string{"API_TOKEN", "PROD_DB", "DATABASE_URL"}, Environment: "prod,protected", Protected: true, Base: []string{},
	})
	if err != nil {
		t.Fatal(err)
	}
	job.Close()
}

// The events route passes on where each secret of a job came from and
// what the job did not get, and the job's environment and protection; it
// leaves out every fingerprint, the expanded values' (Event.Expanded)
// as the secrets', which serve operators' searches, not the page (an
// audit trial found Activity readers got the expanded values').
func TestEventsProvenanceNoExpanded(t *testing.T) {
	e := newEnv(t, provenanceConfig(t, authorize), nil)
	provenanceJob(t, e.m, editor)
	// The library's event has them: the route's leaving out is no
	// accident of the job.
	lib, err := e.m.Events(t.Context(), secrets.EventQuery{Workspace: ws, Action: secrets.ActionInject, Newest: true, Limit: 10})
	if err != nil || len(lib) != 1 || len(lib[0].Expanded) == 0 {
		t.Fatalf("the library's event: %+v, %v", lib, err)
	}

	res := e.do(t, req{actor: editor, method: "GET", path: "/api/events"}).want(t, 200, "")
	var raw struct {
		Events []map[string]json.RawMessage `json:"events"`
	}
	res.json(t, &raw)
	var inject map[string]json.RawMessage
	for _, ev := range raw.Events {
		if string(ev["action"]) == `"inject"` {
			inject = ev
		}
		if _, ok := ev["expanded"]; ok {
			t.Errorf("an event has expanded: %s", ev["expanded"])
		}
		if strings.Contains(string(ev["secrets"]), "fingerprint") {
			t.Errorf("an event's secrets have fingerprints: %s", ev["secrets"])
		}
	}
	if inject == nil {
		t.Fatalf("no inject event: %+v", raw.Events)
	}
	var secs []secrets.EventSecret
	if err := json.Unmarshal(inject["secrets"], &secs); err != nil {
		t.Fatal(err)
	}
	got := map[string]secrets.EventSecret{}
	for _, s := range secs {
		got[s.Name] = s
	}
	d := got["DATABASE_URL"]
	if got["API_TOKEN"].Container != provenanceGroup || !got["PROD_DB"].Withheld || !got["PW"].Ingredient ||
		d.Version != 1 || d.Container != "" || d.Withheld || d.Ingredient {
		t.Errorf("the inject event's secrets: %+v", secs)
	}
	if string(inject["environment"]) != `"prod,protected"` || string(inject["protected"]) != "true" {
		t.Errorf("the inject event's job: environment %s, protected %s", inject["environment"], inject["protected"])
	}
}
