package secrets_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNameRealTests: every test that the README, the CHANGELOG,
// BENCHMARKS.md, the docs folder or a doc comment names as the proof of a
// promise (*TestSomething* in italics, or TestSomething* for every test of
// that prefix) is a test function of the repository, in any of its modules, so
// that renaming or removing a test cannot leave a promise pointing at
// nothing.
func TestDocsNameRealTests(t *testing.T) {
	defined := map[string]bool{}
	funcRe := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(`)
	refRe := regexp.MustCompile(`(\*?)\b(Test[A-Z][A-Za-z0-9_]*)(\*?)`)
	type ref struct{ name, file string }
	var refs []ref
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != "." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".go" && ext != ".md" && ext != ".sql" && ext != ".js" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, "_test.go") {
			for _, m := range funcRe.FindAllStringSubmatch(string(b), -1) {
				defined[m[1]] = true
			}
			return nil
		}
		for _, m := range refRe.FindAllStringSubmatch(string(b), -1) {
			name := m[2]
			if m[3] == "*" && m[1] == "" { // a prefix; *TestX* is italics
				name += "*"
			}
			refs = append(refs, ref{name, path})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(defined) < 500 || len(refs) < 200 {
		t.Fatalf("found %d tests and %d references: not the repository's root?", len(defined), len(refs))
	}
	for _, r := range refs {
		if prefix, ok := strings.CutSuffix(r.name, "*"); ok {
			found := defined[prefix]
			for d := range defined {
				found = found || strings.HasPrefix(d, prefix)
			}
			if !found {
				t.Errorf("%s names %s, and no test has that prefix", r.file, r.name)
			}
			continue
		}
		if !defined[r.name] {
			t.Errorf("%s names %s, which is no test of the repository", r.file, r.name)
		}
	}
}
