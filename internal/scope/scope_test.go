package scope

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValid(t *testing.T) {
	for _, s := range []string{"*", "production", "review/*", "review/feature-*", "a", "staging-eu.1", "Production",
		"ünïcode", "productioń", "環境", "review/☃", strings.Repeat("p", MaxLen), strings.Repeat("p", MaxLen-1) + "*"} {
		if err := Valid(s); err != nil {
			t.Errorf("Valid(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", " ", "prod uction", " production", "production ", "\tprod", "**", "a@b", "prod@", "review/**",
		"*review", "re*view", "*/*", "a\x00b", "a\nb", "a\x7fb", "\xff\xfe", "prod\u00a0x", "prod\u200bx",
		strings.Repeat("p", MaxLen+1), strings.Repeat("p", MaxLen) + "*"} {
		if err := Valid(s); err == nil {
			t.Errorf("Valid(%q) accepted a bad scope", s)
		}
	}
}

// TestShown: a scope saved new holds no character that shows nothing (a
// trial made six scopes that all looked like "production"): variation
// selectors, the combining grapheme joiner, Hangul fillers, the blank
// Braille pattern. Valid accepts them, as scopes a store may hold.
func TestShown(t *testing.T) {
	for _, s := range []string{"production", "ünïcode", "productioń", "環境", "review/☃", "review/*",
		"прод", "αβγ", "本番-production", "ステージング-v2", "본섭-kr", "production-1/eu",
		// Words of different scripts (a review: these were refused).
		"review/исправление", "eu/прод", "staging-भारत", "review/עברית", "prod-µs", "ｽﾃｰｼﾞ"} {
		if err := Shown(s); err != nil {
			t.Errorf("Shown(%q): %v", s, err)
		}
	}
	// Letters of two scripts not written together: look-alikes (a panel
	// trial renamed a secret to "рroduction", Cyrillic р).
	for _, s := range []string{"\u0440roduction", "pr\u043eduction", "prodα", "ρroduction", "review/\u0440roduction",
		// Letters of no script (a review: the mathematical alphabets).
		"\U0001D699roduction", "pr\U0001D698duction", "\U0001D5C9roduction"} {
		if err := Shown(s); err == nil {
			t.Errorf("Shown(%q) accepted a scope that mixes scripts", s)
		}
		if err := Valid(s); err != nil {
			t.Errorf("Valid(%q): %v, want nil (a store may hold it)", s, err)
		}
	}
	for _, s := range []string{"production\ufe0f", "production\ufe0e", "produc\u034ftion", "production\u3164", "\u115fproduction",
		"production\uffa0", "production\u2800", "production\U000E0100"} {
		if err := Shown(s); err == nil {
			t.Errorf("Shown(%q) accepted a scope that looks like another", s)
		}
		if err := Valid(s); err != nil {
			t.Errorf("Valid(%q): %v, want nil (a store may hold it)", s, err)
		}
	}
}

func TestValidEnvironment(t *testing.T) {
	for _, s := range []string{"", "production", "review/foo", strings.Repeat("e", MaxLen)} {
		if err := ValidEnvironment(s); err != nil {
			t.Errorf("ValidEnvironment(%q): %v", s, err)
		}
	}
	for _, s := range []string{"*", "review/*", " ", "a b", "a\x00", strings.Repeat("e", MaxLen+1), "\xff", "a@b"} {
		if err := ValidEnvironment(s); err == nil {
			t.Errorf("ValidEnvironment(%q) accepted a bad environment", s)
		}
	}
}

func TestRank(t *testing.T) {
	for _, c := range []struct {
		scope, env string
		rank       int
		ok         bool
	}{
		{"*", "", 0, true},
		{"*", "production", 0, true},
		{"production", "", 0, false},
		{"review/*", "", 0, false},
		{"production", "production", MaxLen + 1, true},
		{"production", "Production", 0, false}, // byte for byte
		{"production", "production-eu", 0, false},
		{"review/*", "review/foo", 8, true},
		{"review/*", "review/", 8, true}, // the empty rest matches
		{"review/*", "review", 0, false},
		{"review/feature-*", "review/feature-x", 16, true},
		{"review/feature-*", "review/fix", 0, false},
		{"p*", "production", 2, true},
		{strings.Repeat("p", MaxLen-1) + "*", strings.Repeat("p", MaxLen), MaxLen, true}, // the longest pattern ranks under an exact name
	} {
		rank, ok := Rank(c.scope, c.env)
		if ok != c.ok || ok && rank != c.rank {
			t.Errorf("Rank(%q, %q) = %d, %v; want %d, %v", c.scope, c.env, rank, ok, c.rank, c.ok)
		}
	}
}

// TestResolve is the rule as a table. Each case lists candidates as
// "level:NAME@scope" with flags after it: "!" protected, "-" absent
// (deleted or expired-omitted), "#" withheld; want lists the delivered
// candidates the same way, withheld those withheld.
func TestResolve(t *testing.T) {
	// A workspace with a group and an instance above it, the scopes of
	// the issue at every level.
	full := []string{
		"0:TOKEN@*", "0:TOKEN@production", "0:TOKEN@review/*", "0:TOKEN@review/feature-*",
		"1:TOKEN@*", "1:TOKEN@production", "1:TOKEN@review/*", "1:TOKEN@review/feature-*",
		"2:TOKEN@*", "2:TOKEN@production", "2:TOKEN@review/*", "2:TOKEN@review/feature-*",
	}
	cases := []struct {
		name      string
		cands     []string
		env       string
		protected bool
		want      []string
		withheld  []string
	}{
		{"no candidates", nil, "production", false, nil, nil},
		{"star only, no environment", []string{"0:A@*"}, "", false, []string{"0:A@*"}, nil},
		{"an exact scope needs its environment", []string{"0:A@production"}, "", false, nil, nil},
		{"a pattern needs an environment", []string{"0:A@review/*"}, "", false, nil, nil},
		{"no environment: star at the nearest level", full, "", false, []string{"0:TOKEN@*"}, nil},
		{"exact over star", full, "production", false, []string{"0:TOKEN@production"}, nil},
		{"the GitLab example: review/foo over review/* over *",
			[]string{"0:T@*", "0:T@review/*", "0:T@review/foo"}, "review/foo", false, []string{"0:T@review/foo"}, nil},
		{"the GitLab example, another review app", []string{"0:T@*", "0:T@review/*", "0:T@review/foo"}, "review/bar", false, []string{"0:T@review/*"}, nil},
		{"longest pattern", full, "review/feature-1", false, []string{"0:TOKEN@review/feature-*"}, nil},
		{"shorter pattern when the longer does not match", full, "review/fix-1", false, []string{"0:TOKEN@review/*"}, nil},
		{"star when nothing else matches", full, "staging", false, []string{"0:TOKEN@*"}, nil},
		{"nearest level beats a more specific scope farther",
			[]string{"0:T@*", "1:T@production", "2:T@production"}, "production", false, []string{"0:T@*"}, nil},
		{"the group when the workspace has none", []string{"1:T@*", "2:T@production"}, "production", false, []string{"1:T@*"}, nil},
		{"the instance when no nearer level has it", []string{"2:T@review/*", "1:T@production"}, "review/x", false, []string{"2:T@review/*"}, nil},
		{"a nearer level's non-matching scope does not shadow",
			[]string{"0:T@production", "1:T@*"}, "staging", false, []string{"1:T@*"}, nil},
		{"protected is not given to an unprotected job",
			[]string{"0:T@production!"}, "production", false, nil, nil},
		{"protected is given to a protected job",
			[]string{"0:T@production!"}, "production", true, []string{"0:T@production!"}, nil},
		{"an unprotected job falls back past a protected override",
			[]string{"0:T@production!", "0:T@*"}, "production", false, []string{"0:T@*"}, nil},
		{"and past a protected level",
			[]string{"0:T@*!", "1:T@*!", "2:T@*"}, "production", false, []string{"2:T@*"}, nil},
		{"a protected job gets the nearest, protected or not",
			[]string{"0:T@production!", "0:T@*", "1:T@production"}, "production", true, []string{"0:T@production!"}, nil},
		{"deleted is absent: a farther level applies", []string{"0:T@*-", "1:T@*"}, "", false, []string{"1:T@*"}, nil},
		{"deleted is absent: a wider scope applies", []string{"0:T@production-", "0:T@*"}, "production", false, []string{"0:T@*"}, nil},
		{"expired-omitted is absent, everywhere", []string{"0:T@*-", "1:T@*-", "2:T@*-"}, "", false, nil, nil},
		{"withheld delivers nothing, and nothing stands in",
			[]string{"0:T@production#", "0:T@*", "1:T@production"}, "production", false, nil, []string{"0:T@production#"}},
		{"withheld farther away does not matter when nearer wins",
			[]string{"0:T@*", "1:T@*#"}, "", false, []string{"0:T@*"}, nil},
		{"withheld that is not a winner is not reported",
			[]string{"0:T@production", "0:T@*#"}, "production", false, []string{"0:T@production"}, nil},
		{"withheld protected in an unprotected job is absent first",
			[]string{"0:T@*!#", "1:T@*"}, "", false, []string{"1:T@*"}, nil},
		{"names compare ignoring case across levels",
			[]string{"0:token@*", "1:TOKEN@production"}, "production", false, []string{"0:token@*"}, nil},
		{"names compare ignoring case across scopes",
			[]string{"0:Token@*", "0:TOKEN@production"}, "production", false, []string{"0:TOKEN@production"}, nil},
		{"several names resolve independently",
			[]string{"0:A@*", "1:B@production", "2:C@review/*", "2:A@production", "1:C@*"}, "review/x", false,
			[]string{"0:A@*", "1:C@*"}, nil},
		{"scopes are case-sensitive", []string{"0:T@Production", "1:T@*"}, "production", false, []string{"1:T@*"}, nil},
		{"an environment that only starts like an exact scope",
			[]string{"0:T@production", "0:T@*"}, "production-eu", false, []string{"0:T@*"}, nil},
		{"the pattern's empty rest", []string{"0:T@review/*", "0:T@*"}, "review/", false, []string{"0:T@review/*"}, nil},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cands := parseCands(t, c.cands)
			// Every order of the input gives the same answer.
			for round := range 8 {
				perm := rand.Perm(len(cands))
				if round == 0 {
					perm = identity(len(cands))
				}
				shuffled := make([]Candidate, len(cands))
				for i, p := range perm {
					shuffled[i] = cands[p]
				}
				r := Resolve(shuffled, Job{Environment: c.env, Protected: c.protected})
				got, withheld := render(shuffled, r.Delivered), render(shuffled, r.Withheld)
				if d := cmp.Diff(sorted(c.want), got); d != "" {
					t.Fatalf("order %v: delivered (-want +got):\n%s", perm, d)
				}
				if d := cmp.Diff(sorted(c.withheld), withheld); d != "" {
					t.Fatalf("order %v: withheld (-want +got):\n%s", perm, d)
				}
			}
		})
	}
}

func parseCands(t *testing.T, specs []string) []Candidate {
	var out []Candidate
	for _, s := range specs {
		c := Candidate{Level: int(s[0] - '0')}
		rest := s[2:]
		for strings.ContainsAny(rest[len(rest)-1:], "!-#") {
			switch rest[len(rest)-1] {
			case '!':
				c.Protected = true
			case '-':
				c.Absent = true
			case '#':
				c.Withheld = true
			}
			rest = rest[:len(rest)-1]
		}
		name, sc, ok := strings.Cut(rest, "@")
		if !ok || Valid(sc) != nil {
			t.Fatalf("bad candidate %q", s)
		}
		c.Name, c.Scope = name, sc
		out = append(out, c)
	}
	return out
}

func render(cands []Candidate, idx []int) []string {
	var out []string
	for _, i := range idx {
		c := cands[i]
		s := string(rune('0'+c.Level)) + ":" + c.Name + "@" + c.Scope
		if c.Protected {
			s += "!"
		}
		if c.Absent {
			s += "-"
		}
		if c.Withheld {
			s += "#"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func identity(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// reference is the rule written the slow, obvious way: for each name,
// sort its present candidates by level, then by specificity, and take
// the first.
func reference(cands []Candidate, job Job) Result {
	byName := map[string][]int{}
	for i, c := range cands {
		if c.Absent || c.Protected && !job.Protected {
			continue
		}
		if _, ok := Rank(c.Scope, job.Environment); !ok {
			continue
		}
		k := strings.ToLower(c.Name)
		byName[k] = append(byName[k], i)
	}
	var r Result
	for _, idx := range byName {
		slices.SortStableFunc(idx, func(a, b int) int {
			if cands[a].Level != cands[b].Level {
				return cands[a].Level - cands[b].Level
			}
			ra, _ := Rank(cands[a].Scope, job.Environment)
			rb, _ := Rank(cands[b].Scope, job.Environment)
			return rb - ra
		})
		if cands[idx[0]].Withheld {
			r.Withheld = append(r.Withheld, idx[0])
		} else {
			r.Delivered = append(r.Delivered, idx[0])
		}
	}
	slices.Sort(r.Delivered)
	slices.Sort(r.Withheld)
	// Twice: each candidate the job considers that has the level, name
	// and scope of an earlier one.
	for _, idx := range byName {
		for _, b := range idx {
			for _, a := range idx {
				if a < b && cands[a].Level == cands[b].Level && cands[a].Scope == cands[b].Scope {
					r.Twice = append(r.Twice, b)
					break
				}
			}
		}
	}
	slices.Sort(r.Twice)
	r.Twice = slices.Compact(r.Twice)
	return r
}

// FuzzResolve compares Resolve with the reference on candidates drawn
// from a small alphabet, so that names, scopes and environments collide
// often. Each (level, name, scope) appears at most once, as in a store,
// unless the second byte of its pair has its top bit set: then twins
// (rows changed outside a store) are in the input too.
func FuzzResolve(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(3), true)
	f.Add([]byte("the GitLab example"), uint8(5), false)
	f.Add([]byte{0, 1, 0, 0x81, 0, 2, 3, 0x82, 0, 0x82}, uint8(1), true)
	names := []string{"A", "a", "B", "TOKEN"}
	scopes := []string{"*", "production", "review/*", "review/feature-*", "review/foo", "r*", "review/feature-1"}
	envs := []string{"", "production", "review/foo", "review/feature-1", "review/", "staging", "r"}
	f.Fuzz(func(t *testing.T, data []byte, env uint8, protected bool) {
		var cands []Candidate
		seen := map[string]bool{}
		for i := 0; i+1 < len(data) && len(cands) < 64; i += 2 {
			a, b := data[i], data[i+1]
			c := Candidate{Level: int(a % 3), Name: names[a/3%4], Scope: scopes[b%7],
				Protected: b&0x10 != 0, Absent: b&0x20 != 0, Withheld: b&0x40 != 0}
			k := string(rune('0'+c.Level)) + strings.ToLower(c.Name) + "@" + c.Scope
			if seen[k] && b&0x80 == 0 {
				continue
			}
			seen[k] = true
			cands = append(cands, c)
		}
		job := Job{Environment: envs[int(env)%len(envs)], Protected: protected}
		want := reference(cands, job)
		got := Resolve(cands, job)
		if d := cmp.Diff(want, got, cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })); d != "" {
			t.Fatalf("job %+v, candidates %+v (-reference +Resolve):\n%s", job, cands, d)
		}
	})
}

// TestResolveTwice: candidates the job considers of one level, name
// (ignoring case) and scope as an earlier one, which no store holds, are
// in Twice whether or not they would win, and in any input order; the
// same name in another scope or at another level is not, nor a twin the
// job does not consider.
func TestResolveTwice(t *testing.T) {
	for _, c := range []struct {
		cands []Candidate
		env   string
		twice []int
	}{
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "*"}}, "", []int{1}},
		{[]Candidate{{Name: "a", Scope: "*"}, {Name: "A", Scope: "*"}}, "production", []int{1}},
		{[]Candidate{{Name: "A", Scope: "production"}, {Name: "A", Scope: "*"}, {Name: "A", Scope: "production"}}, "production", []int{2}},
		{[]Candidate{{Name: "A", Scope: "review/*"}, {Name: "A", Scope: "review/*"}}, "review/x", []int{1}},
		// Twins that lose to a nearer or more specific candidate, before
		// it, after it, or either side of it.
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "*"}, {Name: "A", Scope: "production"}}, "production", []int{1}},
		{[]Candidate{{Name: "A", Scope: "production"}, {Name: "A", Scope: "*"}, {Name: "A", Scope: "*"}}, "production", []int{2}},
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "production"}, {Name: "a", Scope: "*"}}, "production", []int{2}},
		{[]Candidate{{Name: "A", Scope: "*", Level: 1}, {Name: "A", Scope: "*"}, {Name: "A", Scope: "*", Level: 1}}, "", []int{2}},
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "*", Level: 1}, {Name: "A", Scope: "*", Level: 1}}, "", []int{2}},
		// Three of one.
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "*"}, {Name: "A", Scope: "*"}}, "", []int{1, 2}},
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "production"}}, "production", nil},
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "A", Scope: "*", Level: 1}}, "", nil},
		{[]Candidate{{Name: "A", Scope: "*"}, {Name: "B", Scope: "*"}}, "", nil},
		// Not considered: of another environment, deleted, protected in
		// an unprotected job.
		{[]Candidate{{Name: "A", Scope: "staging"}, {Name: "A", Scope: "staging"}}, "production", nil},
		{[]Candidate{{Name: "A", Scope: "*", Absent: true}, {Name: "A", Scope: "*"}}, "", nil},
		{[]Candidate{{Name: "A", Scope: "*", Protected: true}, {Name: "A", Scope: "*", Protected: true}, {Name: "A", Scope: "*"}}, "", nil},
	} {
		if got := Resolve(c.cands, Job{Environment: c.env}).Twice; !slices.Equal(got, c.twice) {
			t.Errorf("Resolve(%+v, %q).Twice = %v, want %v", c.cands, c.env, got, c.twice)
		}
	}
}
