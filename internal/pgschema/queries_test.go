package pgschema

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseBlocks(t *testing.T) {
	file := `-- header comment

-- name: one
-- what one does
SELECT :a

-- fragment: two
x = :b
-- name: three
SELECT 3 -- trailing
`
	blocks, order, err := parseBlocks(file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(order, []string{"one", "two", "three"}) {
		t.Fatalf("order %q", order)
	}
	want := map[string]block{"one": {text: "SELECT :a"}, "two": {fragment: true, text: "x = :b"}, "three": {text: "SELECT 3 -- trailing"}}
	for n, b := range want {
		if blocks[n] != b {
			t.Errorf("%s: %+v, want %+v", n, blocks[n], b)
		}
	}
	for name, bad := range map[string]string{
		"SQL before the first block": "SELECT 1\n-- name: a\nSELECT 2",
		"defined twice":              "-- name: a\nSELECT 1\n-- fragment: a\nx",
		"empty":                      "-- name: a\n-- only a comment\n\n-- name: b\nSELECT 1",
		"bad name":                   "-- name: a b\nSELECT 1",
	} {
		if _, _, err := parseBlocks(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSetChecksUse(t *testing.T) {
	s, err := parseSet("-- name: a\nSELECT :x FROM {{schema}}.t\n-- fragment: b\n{{schema}}.u.y = :y\n-- name: c\nSELECT 1", `"sch"`)
	if err != nil {
		t.Fatal(err)
	}
	if q := s.Query("a"); q == nil || q.SQL != `SELECT $1 FROM "sch".t` {
		t.Fatalf("a: %+v", q)
	}
	if f := s.Fragment("b"); f != `"sch".u.y = :y` {
		t.Errorf("b: %q", f)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if u := s.Unused(); !slices.Equal(u, []string{"c"}) {
		t.Errorf("unused %q, want [c]", u)
	}
	if s.Query("b") != nil || s.Fragment("a") != "" || s.Query("nope") != nil {
		t.Error("a block of the wrong kind, or none, was handed out")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "b, a, nope") {
		t.Errorf("Err: %v", err)
	}
}

// TestQueriesFile: queries.sql parses, every statement compiles, and no
// schema marker or positional parameter is left.
func TestQueriesFile(t *testing.T) {
	s, err := Queries(`"sch"`)
	if err != nil {
		t.Fatal(err)
	}
	positional := regexp.MustCompile(`\$[0-9]`)
	for _, n := range s.order {
		text := s.blocks[n].text
		if strings.Contains(text, "{{") {
			t.Errorf("%s: a marker is left: %s", n, text)
		}
		if q := s.queries[n]; q != nil {
			text = q.SQL
		}
		if s.blocks[n].fragment && positional.MatchString(text) {
			t.Errorf("fragment %s has a positional parameter", n)
		}
	}
	if len(s.queries) < 20 {
		t.Errorf("only %d statements", len(s.queries))
	}
}

// TestStepsUseTheMarker: the migrations take the same marker as the
// queries, and queries.sql is not taken for a migration.
func TestStepsUseTheMarker(t *testing.T) {
	steps, err := Steps(`"sch"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if strings.Contains(st.SQL, Marker) || !strings.Contains(st.SQL, `"sch".`) {
			t.Errorf("version %d: marker not replaced", st.Version)
		}
		if strings.Contains(st.SQL, "-- name:") {
			t.Errorf("version %d is queries.sql", st.Version)
		}
	}
}

// TestSyncCommitPinned: exactly these statements of queries.sql hold
// SyncCommitOn, once each: every statement that changes rows (a write's
// transaction is pinned by the first it runs) but the relaxed ones, which
// set synchronous_commit off (env_audited pins itself, in migration 10).
// A block that loses it, or gains it, fails here; the library's
// TestPostgresEveryCommitPinned checks the transactions themselves.
func TestSyncCommitPinned(t *testing.T) {
	blocks, order, err := parseBlocks(queriesSQL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range order {
		switch strings.Count(blocks[n].text, SyncCommitOn) {
		case 0:
		case 1:
			got = append(got, n)
		default:
			t.Errorf("%s holds the condition more than once", n)
		}
	}
	want := []string{"put_key", "add_master_key", "retire_master_key", "set_master_check", "put", "put_audited",
		"lock_state", "put_batch", "put_batch_audited", "audit", "record_events_tail", "audit_expanded", "reencrypt",
		"delete_workspace", "delete_workspace_audited", "drop_events", "drop_ledger", "drop_tombstones", "set_fingerprints"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the statements that pin synchronous_commit:\n got %v\nwant %v", got, want)
	}
	s, err := Queries(`"sch"`)
	if err != nil {
		t.Fatal(err)
	}
	if q := s.Query("put_key").SQL; !strings.Contains(q, syncCommitOn) {
		t.Errorf("put_key does not hold the condition: %s", q)
	}
}
