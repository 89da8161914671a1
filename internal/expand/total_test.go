package expand

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestTotal: an Expander stops when the values it expanded would take
// more than its total, whatever the number of secrets: many small values
// that each reference one large one (each within the limit) made it keep
// every expansion, N times the large value.
func TestTotal(t *testing.T) {
	const (
		big   = 1 << 17 // B's value
		total = 1 << 20
		n     = 2000 // without the total: n × big = 250 MiB
	)
	raw := map[string]Secret{"B": {Value: strings.Repeat("b", big)}}
	for i := range n {
		raw["Q"+itoa(i)] = Secret{Value: "${B}", Expand: true}
	}
	x := New(raw, big, total)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var err error
	expanded := 0
	for i := 0; i < n && err == nil; i++ {
		if _, err = x.Value("Q" + itoa(i)); err == nil {
			expanded++
		}
	}
	runtime.ReadMemStats(&after)
	var te *TotalError
	if !errors.As(err, &te) || te.Limit != total || !strings.HasPrefix(te.Name, "Q") || strings.Contains(err.Error(), "bbbb") {
		t.Fatalf("after %d expansions: %v; want a *TotalError naming a Q", expanded, err)
	}
	if want := total / big; expanded != want {
		t.Fatalf("%d values expanded; want %d, as many as the total holds", expanded, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*total {
		t.Fatalf("%d bytes allocated; want at most %d", alloc, 2*total)
	}
	// Within the total nothing changes; a value expanded once counts once,
	// however many reference it.
	x = New(map[string]Secret{
		"B": {Value: strings.Repeat("b", 100)},
		"A": {Value: "${B}", Expand: true},
		"X": {Value: "${A}${A}${A}", Expand: true},
		"Y": {Value: "${A}${X}", Expand: true},
	}, 1000, 800)
	for _, name := range []string{"X", "Y", "X", "A"} {
		if _, err := x.Value(name); err != nil {
			t.Fatalf("%s: %v", name, err) // A 100, X 300, Y 400: 800
		}
	}
	x = New(map[string]Secret{
		"B": {Value: strings.Repeat("b", 100)},
		"A": {Value: "${B}", Expand: true},
		"X": {Value: "${A}${A}${A}", Expand: true},
		"Y": {Value: "${A}${X}!", Expand: true},
	}, 1000, 800)
	if _, err := x.Value("Y"); !errors.As(err, &te) || te.Name != "Y" {
		t.Fatalf("Y one byte over the total: %v", err)
	}
}
