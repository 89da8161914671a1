package secrets

import (
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// DenyValidName exposes the name check Set and Rename make, for the
// external tests of denylist_test.go (Set's signature is not theirs to
// depend on).
func DenyValidName(m *Manager, name string) error { return m.validName(name) }

// DenyLookup exposes denied, upper-casing the name as validName does.
func DenyLookup(name string, strict bool) (entry, reason string, ok bool) {
	return denied(strings.ToUpper(name), strict)
}

// NewDenyTestManager returns a Manager with the default configuration.
func NewDenyTestManager(tb testing.TB) *Manager {
	tb.Helper()
	m, err := New(NewMemoryStore(), testCipher(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var (
	// varName is the rule for names and prefixes of the table: upper case,
	// since callers compare upper-cased names.
	varName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	// manRef is a manual page reference such as ld.so(8).
	manRef = regexp.MustCompile(`[a-z][a-z0-9._-]*\([1-8][a-z]*\)`)
)

// versionedPrefix are prefixes that are also a variable: the prefix
// covers its forms with a suffix (_64, _5_4).
var versionedPrefix = map[string]bool{"CORECLR_PROFILER_PATH": true, "LUA_INIT": true, "LUA_PATH": true, "LUA_CPATH": true}

// ccTargetPrefix reports whether a prefix is one of the cc crate's
// per-target names of an architecture that triples extend (CC_ARMV7 for
// armv7a_none_eabi), which end without _.
func ccTargetPrefix(name string) bool {
	for _, v := range ccVars {
		for _, arch := range ccTargetArchs {
			if name == v.name+"_"+arch {
				return true
			}
		}
	}
	return false
}

func TestDenyTableEntries(t *testing.T) {
	for _, list := range []struct {
		name    string
		entries []hijack
	}{{"default", hijacks}, {"strict", strictHijacks}} {
		for _, h := range list.entries {
			if !varName.MatchString(h.name) {
				t.Errorf("%s: %q is not an upper-case variable name", list.name, h.name)
			}
			if h.prefix && !strings.HasSuffix(h.name, "_") && !versionedPrefix[h.name] && !ccTargetPrefix(h.name) {
				t.Errorf("%s: prefix %q does not end a word (_)", list.name, h.name)
			}
			for field, v := range map[string]string{"program": h.program, "reason": h.reason, "source": h.source} {
				if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\n\r\t") || v != strings.TrimSpace(v) {
					t.Errorf("%s: %s: %s is empty or not one trimmed line: %q", list.name, h.name, field, v)
				}
			}
			if strings.HasSuffix(h.reason, ".") {
				t.Errorf("%s: %s: the reason ends an error message and takes no full stop", list.name, h.name)
			}
			if !strings.Contains(h.source, "https://") && !manRef.MatchString(h.source) && !strings.HasPrefix(h.source, "go help") {
				t.Errorf("%s: %s: source %q is neither a URL nor a manual page", list.name, h.name, h.source)
			}
		}
	}
}

// TestDenyTableConsistent: every name appears once across both presets, no
// entry is hidden by another's prefix (so at most one prefix matches a
// name), and the prefixes' lengths stay few: find looks a name up once
// per length.
func TestDenyTableConsistent(t *testing.T) {
	seen := map[string]string{}
	all := append(append([]hijack(nil), hijacks...), strictHijacks...)
	for i, h := range all {
		preset := "default"
		if i >= len(hijacks) {
			preset = "strict"
		}
		if other, dup := seen[h.name]; dup {
			t.Errorf("%s appears in %s and %s", h.name, other, preset)
		}
		seen[h.name] = preset
		for _, p := range all {
			if p.prefix && p.name != h.name && strings.HasPrefix(h.name, p.name) {
				t.Errorf("%s (%s) is already covered by the prefix %s", h.name, preset, p.name)
			}
		}
	}
	if n := len(defaultIndex.prefixLens) + len(strictIndex.prefixLens); n > 24 {
		t.Errorf("prefixes of %d lengths: matching looks a name up once per length, keep them few", n)
	}
}

func TestDenyLookupAndPresets(t *testing.T) {
	for _, h := range hijacks {
		name := h.name
		if h.prefix {
			name += "X1"
		}
		for _, strict := range []bool{false, true} {
			entry, reason, ok := denied(name, strict)
			if !ok || entry != h.name || reason != h.reason {
				t.Errorf("denied(%s, %v) = %q, %q, %v; want the entry %s", name, strict, entry, reason, ok, h.name)
			}
		}
	}
	for _, h := range strictHijacks {
		name := h.name
		if h.prefix {
			name += "X1"
		}
		if entry, _, ok := denied(name, false); ok {
			t.Errorf("strict name %s is refused by default (by %s)", name, entry)
		}
		if entry, reason, ok := denied(name, true); !ok || entry != h.name || reason != h.reason {
			t.Errorf("denied(%s, true) = %q, %q, %v; want the entry %s", name, entry, reason, ok, h.name)
		}
	}
	for _, name := range []string{"", "L", "LDAP_PASSWORD", "GIT_CONFIG", "GIT_CONFIG_KEY", "AUTH_TOKEN", "PATHS", "XPATH",
		"CC_", "CC_X86", "CC_EMAIL", "AR_INVOICE", "CFLAGS_EXTRA", "TARGET_URL", "HOSTNAME", "CARGO_ALIAS"} {
		if entry, _, ok := denied(name, true); ok {
			t.Errorf("denied(%q) by %s", name, entry)
		}
	}
}

func TestDenyListsMatchTable(t *testing.T) {
	var names, prefixes, strictNames, strictPrefixes int
	for _, h := range hijacks {
		if h.prefix {
			prefixes++
		} else {
			names++
		}
	}
	for _, h := range strictHijacks {
		if h.prefix {
			strictPrefixes++
		} else {
			strictNames++
		}
	}
	if len(DeniedNames()) != names || len(DeniedPrefixes()) != prefixes ||
		len(StrictNames()) != strictNames || len(StrictPrefixes()) != strictPrefixes {
		t.Errorf("lists of %d, %d, %d, %d entries; the table has %d, %d, %d, %d",
			len(DeniedNames()), len(DeniedPrefixes()), len(StrictNames()), len(StrictPrefixes()),
			names, prefixes, strictNames, strictPrefixes)
	}
	for _, get := range []func() []string{DeniedNames, DeniedPrefixes, StrictNames} {
		l := get()
		l[0] = "CHANGED"
		if get()[0] == "CHANGED" {
			t.Error("a list function returns the package's own slice")
		}
	}
}

// TestDenyThroughValidName: validName refuses every default entry in any
// case with ErrReservedName and says why, and lets the strict names and
// host-allowed names through.
func TestDenyThroughValidName(t *testing.T) {
	m, err := New(NewMemoryStore(), testCipher(t), &Config{AllowNames: []string{"home", "LD_FOO"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hijacks {
		name := h.name
		if h.prefix {
			name += "Xy1"
		}
		for _, n := range []string{name, strings.ToLower(name)} {
			if n == "HOME" || n == "home" {
				continue
			}
			err := m.validName(n)
			if !errors.Is(err, ErrReservedName) {
				t.Errorf("validName(%s) = %v, want ErrReservedName", n, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, n) || !strings.Contains(msg, h.reason) ||
				!strings.Contains(msg, "would let its value take over the processes that receive it") {
				t.Errorf("validName(%s): %q does not name it and say why", n, msg)
			}
		}
	}
	for _, n := range append(StrictNames(), "HOME", "home", "ld_foo") {
		if err := m.validName(n); err != nil {
			t.Errorf("validName(%s) = %v, want nil", n, err)
		}
	}
	// The exploitable form of bash's family fails the name rule first.
	if err := m.validName("BASH_FUNC_ls%%"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("validName(BASH_FUNC_ls%%%%) = %v, want ErrInvalidName", err)
	}
}

func BenchmarkDenied(b *testing.B) {
	names := []string{"AUTH_TOKEN", "LD_PRELOAD", "GIT_CONFIG_KEY_0", "DATABASE_URL", "PYTHONPATH", "CARGO_TARGET_DIR"}
	for i := 0; i < b.N; i++ {
		denied(names[i%len(names)], true)
	}
}

// TestNamePatternsTable: every pattern is valid, says why in one line, and
// names examples that match it and are on the deny-list or the stricter
// preset, whose entries give the sources.
func TestNamePatternsTable(t *testing.T) {
	examples := regexp.MustCompile(`\(([A-Z0-9_, ]+)\)$`)
	seen := map[string]bool{}
	for _, p := range namePatterns {
		if seen[p.glob] {
			t.Errorf("%s appears twice", p.glob)
		}
		seen[p.glob] = true
		for _, g := range append([]string{p.glob}, p.except...) {
			if _, err := path.Match(g, ""); err != nil || g != strings.ToUpper(g) || strings.ContainsAny(g, "?[\\") {
				t.Errorf("%q is not an upper-case glob of * only", g)
			}
		}
		if strings.TrimSpace(p.reason) != p.reason || strings.ContainsAny(p.reason, "\n\r\t") || strings.HasSuffix(p.reason, ".") {
			t.Errorf("%s: reason %q is not one trimmed line without a full stop", p.glob, p.reason)
		}
		m := examples.FindStringSubmatch(p.reason)
		if m == nil {
			t.Errorf("%s: the reason ends with no (EXAMPLES) from the deny-list", p.glob)
			continue
		}
		for _, ex := range strings.Split(m[1], ", ") {
			if ok, _ := path.Match(p.glob, ex); !ok || matchNames(p.except, ex) {
				t.Errorf("%s: example %s does not match it", p.glob, ex)
			}
			if _, _, ok := denied(ex, true); !ok {
				t.Errorf("%s: example %s is on no list, so it has no source", p.glob, ex)
			}
		}
	}
}

// TestDenyREADMECounts: the README's section on hijacking states the sizes
// of the lists as they are.
func TestDenyREADMECounts(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ")
	for _, want := range []string{
		fmt.Sprintf("*Denied:* %d names and %d prefixes", len(DeniedNames()), len(DeniedPrefixes())),
		fmt.Sprintf("`Config.StrictNames` adds %d names and %d prefixes", len(StrictNames()), len(StrictPrefixes())),
		fmt.Sprintf("*Patterns:* %d shapes of names", len(NamePatterns())),
		fmt.Sprintf("Among them are %d of the shells' own variables", len(shellHijacks)),
	} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}
