package secrets

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dataspace/secrets/internal/pgschema"
)

// TestPostgresQueriesComplete: the store takes every block of
// internal/pgschema/queries.sql, every statement and fragment it takes is
// there, and no statement the store runs keeps a schema marker.
func TestPostgresQueriesComplete(t *testing.T) {
	q, unused, err := newPGQueries(`"sch"`)
	if err != nil {
		t.Fatalf("a statement the store uses is missing: %v", err)
	}
	if len(unused) > 0 {
		t.Errorf("blocks of queries.sql the store never uses: %s", strings.Join(unused, ", "))
	}
	v := reflect.ValueOf(q)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		var text string
		switch {
		case f.Type() == reflect.TypeFor[*pgschema.Query]():
			if f.IsNil() {
				t.Errorf("%s: no statement", name)
				continue
			}
			text = f.Elem().FieldByName("SQL").String()
		case f.Kind() == reflect.String:
			text = f.String()
		default:
			t.Fatalf("%s: a field of type %s", name, f.Type())
		}
		if text == "" || strings.Contains(text, "{{") {
			t.Errorf("%s: empty, or a marker is left: %q", name, text)
		}
		if strings.Contains(text, "secrets.") {
			t.Errorf("%s names the default schema, not the store's: %q", name, text)
		}
	}
}
