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

// TestDenyReproducedHaveCases: an entry whose reason says "(reproduced)"
// has a hijack case in this package's tests (a hijackCase whose deny
// names include a name the entry covers), which runs the real program,
// or is a shell's own variable, which TestHijackShellAssignments sources
// in each shell; entries a trial reproduced with programs the tests do
// not have say "a trial reproduced it" instead.
func TestDenyReproducedHaveCases(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var denied []string
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
				names, ok := c.Elts[1].(*ast.CompositeLit)
				if !ok {
					continue
				}
				for _, n := range names.Elts {
					if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
						s, _ := strconv.Unquote(b.Value)
						denied = append(denied, strings.ToUpper(s))
					}
				}
			}
			return true
		})
	}
	if len(denied) < 100 {
		t.Fatalf("found the deny names of %d hijack cases only: has the harness changed?", len(denied))
	}
	for _, h := range slices.Concat(hijacks, strictHijacks) {
		if !strings.Contains(h.reason, "(reproduced)") || sourceUnsafe[h.name] {
			continue
		}
		if !slices.ContainsFunc(denied, func(n string) bool { return n == h.name || h.prefix && strings.HasPrefix(n, h.name) }) {
			t.Errorf("%s says (reproduced), but no hijack case refuses a name it covers", h.name)
		}
	}
}
