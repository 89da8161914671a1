// Package scope holds the rule that decides which secret a job gets when
// several could apply: environment scopes, protected secrets and the
// levels a workspace inherits from.
//
// A secret's scope is "*" (every environment), an exact environment name
// ("production"), or a pattern that ends in one "*" ("review/*"), which
// matches every environment that starts with what comes before the "*".
// A job names one environment (or none: then only "*" matches) and is
// protected or not.
//
// The rule, for each name (compared ignoring ASCII case):
//
//  1. Candidates that are absent for the job are dropped: soft-deleted,
//     expired when the policy leaves expired secrets out, protected in a
//     job that is not, or of a scope that does not match its environment.
//  2. The nearest level that still has a candidate wins (the workspace,
//     then its parents in the order the host names them).
//  3. Within that level the most specific scope wins: the exact name,
//     then the pattern with the longest prefix, then "*".
//  4. A winner the host withheld from the job delivers nothing: the name
//     is left out, and no farther level or wider scope stands in for it,
//     because the nearer value was set to override those.
//
// There is never a tie: a level holds at most one secret of a name per
// scope, only one scope can equal the environment, and two patterns that
// match it with prefixes of the same length have the same prefix (that
// of the environment), so they are the same scope. Resolve therefore
// gives the same answer whatever the order of its input.
//
// It is written here, by hand, because it is the product: no library
// resolves GitLab-style scopes, and GitLab's own resolution across group
// levels is not deterministic (gitlab-org/gitlab#460746).
package scope

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Any is the scope of every environment, and the default.
const Any = "*"

// MaxLen bounds a scope or an environment name, in bytes.
const MaxLen = 255

// Valid returns nil if s is a valid scope, or an error that says why not.
// The error does not quote s: users paste values into the wrong fields.
func Valid(s string) error {
	if err := validText(s, "scope"); err != nil {
		return err
	}
	if i := strings.IndexByte(s, '*'); i >= 0 && i != len(s)-1 {
		return fmt.Errorf("a '*' may only end a scope (%q, %q)", "*", "review/*")
	}
	if strings.IndexByte(s, '@') >= 0 {
		return errors.New("a scope holds no '@', which ends a secret's name")
	}
	return nil
}

// ValidEnvironment returns nil if env names an environment a job can
// run in: "" (none) or a valid scope without '*'.
func ValidEnvironment(env string) error {
	if env == "" {
		return nil
	}
	if err := validText(env, "environment"); err != nil {
		return err
	}
	if strings.IndexByte(env, '*') >= 0 {
		return errors.New("an environment's name holds no '*'")
	}
	if strings.IndexByte(env, '@') >= 0 {
		return errors.New("an environment's name holds no '@'")
	}
	return nil
}

func validText(s, what string) error {
	switch {
	case s == "":
		return errors.New(what + ` is empty ("*" means every environment)`)
	case len(s) > MaxLen:
		return fmt.Errorf("%s is %d bytes, over %d", what, len(s), MaxLen)
	case !utf8.ValidString(s):
		return errors.New(what + " is not UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			// Cf: invisible formatting (zero-width space, bidi
			// overrides), which would make two scopes look alike.
			return errors.New(what + " holds a control or formatting character")
		}
		if unicode.IsSpace(r) {
			return errors.New(what + " holds white space")
		}
	}
	return nil
}

// Shown returns nil if scope holds no character that shows nothing (see
// invisible), which Valid accepts: the check for a scope being saved new.
// Valid stays the check of scopes a store may already hold (saved before
// this check existed) and of environments, so that they can still be
// read, renamed, deleted and restored.
//
// Nor may a word of it (a run of letters and marks) mix the letters of
// two scripts, unless they are written together (Latin with Han and
// Japanese kana, Korean Hangul or Bopomofo): a Cyrillic "р" in
// "рroduction" looked like the real one in every view (a panel trial),
// and the job in production did not get it. Words of different scripts
// ("eu/прод", "staging-भारत") are fine. Nor may it hold a letter of no
// script (Common: the mathematical alphabets, "𝚙roduction"; a review), but
// the Japanese long mark, the halfwidth kana's marks and the micro sign. A
// scope wholly of one script that looks like a word of another ("орѕ",
// Cyrillic) is not caught.
func Shown(scope string) error {
	word := map[string]bool{}
	end := func() error {
		if len(word) > 1 && !together(word) {
			names := slices.Sorted(maps.Keys(word))
			return fmt.Errorf("scope mixes letters of the scripts %s in one word, which would let it look like another scope", strings.Join(names, " and "))
		}
		clear(word)
		return nil
	}
	for _, r := range scope {
		if invisible(r) {
			return errors.New("scope holds a character that shows nothing (a variation selector, a filler, a blank), " +
				"which would make it look like another scope")
		}
		switch {
		case unicode.IsLetter(r):
			switch sc := scriptOf(r); {
			case sc != "":
				word[sc] = true
			case !scriptless[r]:
				return fmt.Errorf("scope holds %U, a letter of no script (a mathematical or styled letter?), which would let it look like another scope", r)
			}
		case unicode.IsMark(r):
		default:
			if err := end(); err != nil {
				return err
			}
		}
	}
	return end()
}

// scriptless are the letters of no script (Unicode's Common) that words
// of a script use: the Japanese long mark, halfwidth kana's long mark and
// sound marks, and the micro sign.
var scriptless = map[rune]bool{'\u30fc': true, '\uff70': true, '\uff9e': true, '\uff9f': true, '\u00b5': true}

// scriptOf names the script of a letter ("" if none of Unicode's).
func scriptOf(r rune) string {
	if r < 0x80 {
		return "Latin"
	}
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(t, r) {
			return name
		}
	}
	return ""
}

// together reports whether the scripts are written together in one word
// of a language: Latin with Han and Japanese kana, with Hangul, or with
// Bopomofo (Unicode's "highly restrictive" mixes).
func together(scripts map[string]bool) bool {
	for _, allowed := range [][]string{{"Latin", "Han", "Hiragana", "Katakana"}, {"Latin", "Han", "Hangul"}, {"Latin", "Han", "Bopomofo"}} {
		all := true
		for s := range scripts {
			all = all && slices.Contains(allowed, s)
		}
		if all {
			return true
		}
	}
	return false
}

// invisible reports whether r shows nothing, or nothing of its own, and
// so would make two scopes look alike: invisible formatting (Cf: zero-width
// space, bidi overrides), variation selectors, the other code points that
// Unicode says to ignore when shown (the combining grapheme joiner, the
// Hangul fillers), and the blank Braille pattern, which looks like a space.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || r == '\u2800'
}

// Rank tells whether scope matches the environment env ("" for none) and
// how specifically: the higher, the more specific. "*" matches with rank
// 0, a pattern with 1 plus the length of its prefix, an exact name with
// MaxLen+1, more than any pattern. Scopes are compared byte for byte.
func Rank(scope, env string) (rank int, ok bool) {
	switch {
	case scope == Any:
		return 0, true
	case env == "":
		return 0, false
	case strings.HasSuffix(scope, "*"):
		prefix := scope[:len(scope)-1]
		return 1 + len(prefix), strings.HasPrefix(env, prefix)
	default:
		return MaxLen + 1, scope == env
	}
}

// A Candidate is one secret that a job might get.
type Candidate struct {
	Level     int    // 0 for the workspace, then 1, 2, ... for its parents, nearest first
	Name      string // compared ignoring ASCII case
	Scope     string
	Protected bool
	// Absent drops the candidate as if it did not exist: soft-deleted, or
	// expired when expired secrets are left out.
	Absent bool
	// Withheld marks a candidate the host keeps from the job: if it wins,
	// its name is delivered from nowhere.
	Withheld bool
}

// A Job is what the rule needs of a job.
type Job struct {
	Environment string // "" for none: only "*" matches
	Protected   bool
}

// A Result is what Resolve decided.
type Result struct {
	// Delivered are the indexes of the winning candidates that the job
	// gets, in input order.
	Delivered []int
	// Withheld are the indexes of the winners the host withheld, in input
	// order.
	Withheld []int
	// Twice are the indexes of candidates the job considers (present,
	// visible to it, of a matching scope) that have the same level, name
	// (ignoring case) and scope as an earlier such candidate, in input
	// order: rows a store never holds (changed outside it), which the
	// caller refuses rather than let input order decide. Whether Twice is
	// empty does not depend on the input's order, nor on whether the
	// twin would have won.
	Twice []int
}

// Resolve applies the rule to cands for job. It takes time linear in
// len(cands) (and n log n in the candidates whose name is met more than
// once) and keeps one entry per distinct name. cands hold at most one
// candidate per level, name (ignoring case) and scope, as a store does
// (one that does not is in Result.Twice); names are never empty.
func Resolve(cands []Candidate, job Job) Result {
	// first is the index of the name's first candidate until another
	// candidate of the name is met, then -1.
	type best struct{ i, level, rank, first int }
	var r Result
	win := make(map[string]best, len(cands))
	keys := make([]string, len(cands))
	// met holds the candidates whose name is met more than once: the
	// only ones that can be twins.
	var met []int
	for i, c := range cands {
		if c.Absent || c.Protected && !job.Protected {
			continue
		}
		rank, ok := Rank(c.Scope, job.Environment)
		if !ok {
			continue
		}
		keys[i] = upperASCII(c.Name)
		b, seen := win[keys[i]]
		if !seen {
			win[keys[i]] = best{i, c.Level, rank, i}
			continue
		}
		met = append(met, i)
		if b.first >= 0 {
			met = append(met, b.first)
			b.first = -1
		}
		if b.level > c.Level || b.level == c.Level && b.rank < rank {
			b.i, b.level, b.rank = i, c.Level, rank
		}
		win[keys[i]] = b
	}
	if len(met) > 0 {
		r.Twice = twins(cands, keys, met, job)
	}
	for i, c := range cands {
		if b, ok := win[keys[i]]; keys[i] == "" || !ok || b.i != i {
			continue
		}
		if c.Withheld {
			r.Withheld = append(r.Withheld, i)
		} else {
			r.Delivered = append(r.Delivered, i)
		}
	}
	return r
}

// twins returns the candidates of met (indexes into cands, whose names
// are keys) that have the same level, name and scope as an earlier one,
// in input order. Two scopes that match one environment with the same
// rank are one scope (see Rank).
func twins(cands []Candidate, keys []string, met []int, job Job) []int {
	type slot struct {
		key         string
		level, rank int
	}
	slices.Sort(met)
	seen := make(map[slot]bool, len(met))
	var twice []int
	for _, i := range met {
		rank, _ := Rank(cands[i].Scope, job.Environment)
		s := slot{keys[i], cands[i].Level, rank}
		if seen[s] {
			twice = append(twice, i)
		}
		seen[s] = true
	}
	return twice
}

// upperASCII raises ASCII letters only, as names are compared (ignoring
// ASCII case; raising, not lowering, since names are mostly upper case
// already: such a name is returned as it is, without a copy).
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
