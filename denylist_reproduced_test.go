package secrets

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDenyReproducedHaveCases: an entry whose reason says it is
// reproduced has a hijack case in this package's tests (a hijackCase whose
// title names a variable the entry covers, which it refuses), which runs
// the real program,
// or is a shell's own variable, which TestHijackShellAssignments sources
// in each shell; entries a trial reproduced with programs the tests do
// not have say "a trial reproduced it" instead.
func TestDenyReproducedHaveCases(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	// cases are the hijack cases: their subtest names, upper case, and the
	// names they refuse.
	type hcase struct {
		name string
		deny []string
	}
	var cases []hcase
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			arr, ok := lit.Type.(*ast.ArrayType)
			if !ok {
				return true
			}
			if id, ok := arr.Elt.(*ast.Ident); !ok || id.Name != "hijackCase" {
				return true
			}
			for _, el := range lit.Elts {
				c, ok := el.(*ast.CompositeLit)
				if !ok || len(c.Elts) < 2 {
					continue
				}
				title, ok := c.Elts[0].(*ast.BasicLit)
				names, ok2 := c.Elts[1].(*ast.CompositeLit)
				if !ok || !ok2 || title.Kind != token.STRING {
					continue
				}
				var hc hcase
				hc.name, _ = strconv.Unquote(title.Value)
				hc.name = strings.ToUpper(hc.name)
				for _, n := range names.Elts {
					if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
						s, _ := strconv.Unquote(b.Value)
						hc.deny = append(hc.deny, strings.ToUpper(s))
					}
				}
				cases = append(cases, hc)
			}
			return true
		})
	}
	if len(cases) < 100 {
		t.Fatalf("found %d hijack cases only: has the harness changed?", len(cases))
	}
	covers := func(h hijack, n string) bool { return n == h.name || h.prefix && strings.HasPrefix(n, h.name) }
	for _, h := range slices.Concat(hijacks, strictHijacks) {
		reproduced := strings.Contains(h.reason, "reproduced") && !strings.Contains(h.reason, "a trial reproduced it") &&
			!strings.Contains(h.reason, "not reproduced")
		if !reproduced || sourceUnsafe[h.name] {
			continue
		}
		// The case must attack the entry's variable: its title names
		// it (or, for a prefix, a variable of it), and it refuses it.
		if !slices.ContainsFunc(cases, func(c hcase) bool {
			return slices.ContainsFunc(c.deny, func(n string) bool {
				return covers(h, n) && (strings.Contains(c.name, n) || h.prefix && strings.Contains(c.name, h.name))
			})
		}) {
			t.Errorf("%s says it is reproduced, but no hijack case attacks it (a case whose title names a variable it covers and refuses it)", h.name)
		}
	}
}
