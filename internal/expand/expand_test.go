package expand

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExpand is the syntax and its errors as a table. Each case expands
// "X" among the given secrets ("=" raw, "~" opted in to expansion).
func TestExpand(t *testing.T) {
	cases := []struct {
		name    string
		secrets map[string]string // NAME -> "=raw" or "~expanded"
		want    string
		err     any // a pointer to the error type, or nil
		used    []string
	}{
		{"plain", map[string]string{"X": "~abc"}, "abc", nil, nil},
		{"not opted in keeps ${}", map[string]string{"X": "=p@ss${A}word", "A": "=a"}, "p@ss${A}word", nil, nil},
		{"one reference", map[string]string{"X": "~postgres://app:${PW}@db/app", "PW": "=s3cr3t"}, "postgres://app:s3cr3t@db/app", nil, []string{"PW"}},
		{"escaped", map[string]string{"X": "~a$${PW}b", "PW": "=x"}, "a${PW}b", nil, nil},
		{"escaped then reference", map[string]string{"X": "~$${PW}${PW}", "PW": "=x"}, "${PW}x", nil, []string{"PW"}},
		{"adjacent", map[string]string{"X": "~${A}${B}${A}", "A": "=1", "B": "=2"}, "121", nil, []string{"A", "B"}},
		{"nested", map[string]string{"X": "~[${A}]", "A": "~(${B})", "B": "=b"}, "[(b)]", nil, []string{"A", "B"}},
		{"a referenced raw value is not expanded", map[string]string{"X": "~${A}", "A": "=${B}", "B": "=b"}, "${B}", nil, []string{"A"}},
		{"unknown", map[string]string{"X": "~${NOPE}"}, "", new(*UnknownError), nil},
		{"unknown deep", map[string]string{"X": "~${A}", "A": "~${NOPE}"}, "", new(*UnknownError), nil},
		{"names are exact", map[string]string{"X": "~${pw}", "PW": "=x"}, "", new(*UnknownError), nil},
		{"cycle of 1", map[string]string{"X": "~${X}"}, "", new(*CycleError), nil},
		{"cycle of 2", map[string]string{"X": "~${A}", "A": "~${X}"}, "", new(*CycleError), nil},
		{"cycle of 3", map[string]string{"X": "~${A}", "A": "~${B}", "B": "~${X}"}, "", new(*CycleError), nil},
		{"cycle below", map[string]string{"X": "~${A}", "A": "~${B}", "B": "~${A}"}, "", new(*CycleError), nil},
		{"depth 8", chainOf(8), "end", nil, []string{"LB", "LC", "LD", "LE", "LF", "LG", "LH"}},
		{"depth 9", chainOf(9), "", new(*DepthError), nil},
		{"huge expansion", doubling(6), "", new(*SizeError), nil},
		{"$ alone", map[string]string{"X": "~cost: 5$"}, "cost: 5$", nil, nil},
		{"$NAME is literal", map[string]string{"X": "~$PW and ${PW}", "PW": "=x"}, "$PW and x", nil, []string{"PW"}},
		{"unterminated", map[string]string{"X": "~a${PW", "PW": "=x"}, "a${PW", nil, nil},
		{"unterminated then reference", map[string]string{"X": "~${ ${PW}", "PW": "=x"}, "${ x", nil, []string{"PW"}},
		{"invalid name: digit first", map[string]string{"X": "~${1A}"}, "${1A}", nil, nil},
		{"invalid name: dash", map[string]string{"X": "~${A-B}"}, "${A-B}", nil, nil},
		{"invalid name: space", map[string]string{"X": "~${ A }"}, "${ A }", nil, nil},
		{"empty braces", map[string]string{"X": "~${}"}, "${}", nil, nil},
		{"default syntax is literal", map[string]string{"X": "~${A:-b}", "A": "=a"}, "${A:-b}", nil, nil},
		{"UTF-8 around", map[string]string{"X": "~é${A}ü€", "A": "=✓"}, "é✓ü€", nil, []string{"A"}},
		{"$$ alone", map[string]string{"X": "~$$"}, "$$", nil, nil},
		{"$$$", map[string]string{"X": "~$$${A}", "A": "=a"}, "$${A}", nil, nil},
		{"trailing $", map[string]string{"X": "~${A}$", "A": "=a"}, "a$", nil, []string{"A"}},
		{"value with } and ${ inside", map[string]string{"X": "~{${A}}", "A": "=${}}"}, "{${}}}", nil, []string{"A"}},
		{"the same secret twice, expanded once", map[string]string{"X": "~${A}-${A}", "A": "~<${B}>", "B": "=b"}, "<b>-<b>", nil, []string{"A", "B"}},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := New(secretsOf(c.secrets), 1<<16, 1<<20)
			got, err := x.Value("X")
			if c.err != nil {
				if !errors.As(err, c.err) {
					t.Fatalf("Value: %q, %v; want an error of type %T", got, err, c.err)
				}
				// Errors name secrets, never values.
				for _, v := range c.secrets {
					if len(v) > 4 && strings.Contains(err.Error(), v[1:]) && !strings.HasPrefix(v[1:], "${") {
						t.Fatalf("the error %q holds a value", err)
					}
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Value: %q, %v; want %q", got, err, c.want)
			}
			if d := cmp.Diff(c.used, x.Ingredients()); d != "" {
				t.Fatalf("ingredients (-want +got):\n%s", d)
			}
			if ref := reference(c.secrets, "X", 0, nil); ref != c.want {
				t.Fatalf("the reference implementation gives %q", ref)
			}
		})
	}
}

func TestRefs(t *testing.T) {
	got := Refs("${B} $${A} ${A} ${B} ${1X} $C ${D")
	if d := cmp.Diff([]string{"B", "A"}, got); d != "" {
		t.Fatal(d)
	}
}

func secretsOf(m map[string]string) map[string]Secret {
	out := map[string]Secret{}
	for k, v := range m {
		out[k] = Secret{Value: v[1:], Expand: v[0] == '~'}
	}
	return out
}

// chainOf(n) is X → L1 → ... → Ln-1 → "end": n expanded secrets deep.
func chainOf(n int) map[string]string {
	m := map[string]string{}
	prev := "X"
	for i := 1; i < n; i++ {
		name := "L" + string(rune('A'+i))
		m[prev] = "~${" + name + "}"
		prev = name
	}
	m[prev] = "~end"
	return m
}

// doubling(n): each of n levels references the next twice.
func doubling(n int) map[string]string {
	m := map[string]string{"X": "~${D0}${D0}"}
	for i := 0; i < n; i++ {
		m["D"+itoa(i)] = "~${D" + itoa(i+1) + "}${D" + itoa(i+1) + "}"
	}
	m["D"+itoa(n)] = "=" + strings.Repeat("x", 1024) // 2^(n+1) KiB in all
	return m
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// reference expands the slow, obvious way: a character at a time, with no
// memory of what it expanded; it returns "" on any error (the table
// checks errors itself).
func reference(secrets map[string]string, name string, depth int, active []string) string {
	raw, ok := secrets[name]
	if !ok {
		return "\x00unknown"
	}
	if raw[0] == '=' {
		return raw[1:]
	}
	for _, a := range active {
		if a == name {
			return "\x00cycle"
		}
	}
	if depth >= MaxDepth {
		return "\x00depth"
	}
	v := raw[1:]
	var out strings.Builder
	for i := 0; i < len(v); {
		if strings.HasPrefix(v[i:], "$${") {
			out.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(v[i:], "${") {
			if j := strings.IndexByte(v[i:], '}'); j > 2 && isName(v[i+2:i+j]) {
				sub := reference(secrets, v[i+2:i+j], depth+1, append(active, name))
				if strings.HasPrefix(sub, "\x00") {
					return sub
				}
				out.WriteString(sub)
				i += j + 1
				continue
			}
		}
		out.WriteByte(v[i])
		i++
	}
	return out.String()
}

func isName(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// FuzzExpand: the expander never panics, agrees with the reference
// implementation, and allocates no more than a small multiple of the
// limit whatever the values.
func FuzzExpand(f *testing.F) {
	f.Add("postgres://${A}@db", "x$${B}${C}", "${A}${A}", uint8(0b011))
	f.Add("${B}", "${C}", "${A}", uint8(0b111))
	f.Add("$", "${", "}", uint8(0))
	f.Fuzz(func(t *testing.T, a, b, c string, flags uint8) {
		if strings.Contains(a+b+c, "\x00") {
			return // values never hold NUL (Set refuses it)
		}
		raw := map[string]string{}
		for i, v := range []string{a, b, c} {
			mark := "="
			if flags&(1<<i) != 0 {
				mark = "~"
			}
			raw[string(rune('A'+i))] = mark + v
		}
		const limit = 4096
		x := New(secretsOf(raw), limit, 3*limit) // three values, each within limit
		for _, n := range []string{"A", "B", "C"} {
			got, err := x.Value(n)
			ref := reference(raw, n, 0, nil)
			switch {
			case err == nil && got != ref:
				t.Fatalf("%s: %q, reference %q", n, got, ref)
			case err == nil && len(got) > limit && raw[n][0] == '~':
				t.Fatalf("%s: %d bytes over the limit", n, len(got))
			case err != nil && !strings.HasPrefix(ref, "\x00") && len(ref) <= limit:
				var se *SizeError
				if !errors.As(err, &se) {
					t.Fatalf("%s: %v, but the reference expands it to %q", n, err, ref)
				}
			}
		}
		allocs := testing.AllocsPerRun(1, func() { New(secretsOf(raw), limit, 3*limit).Value("A") })
		if allocs > 200 {
			t.Fatalf("%v allocations for one expansion", allocs)
		}
	})
}

// A chain too deep is refused whichever secret of it is expanded first:
// the memory of expanded values does not hide the depth beneath them.
func TestDepthAfterMemo(t *testing.T) {
	x := New(secretsOf(chainOf(9)), 1<<16, 1<<20)
	for _, n := range []string{"LI", "LE", "LB"} {
		if _, err := x.Value(n); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	var de *DepthError
	if _, err := x.Value("X"); !errors.As(err, &de) || len(de.Chain) != MaxDepth+1 {
		t.Fatalf("X after its chain: %v", err)
	}
}

// TestTokenLinear holds the scan of a value to one look at each byte:
// values are an editor's input, and a value full of "${" that never
// close made the earlier scan look for a "}" from each of them (a job's
// expansion and every save's reference check took seconds).
func TestTokenLinear(t *testing.T) {
	n := 1 << 16
	for name, value := range map[string]string{
		"opens":         strings.Repeat("${", n) + "}",
		"opens-names":   strings.Repeat("${AB", n) + "}",
		"not-names":     strings.Repeat("${1X", n) + "}",
		"escapes":       strings.Repeat("$${", n) + "}",
		"dollars":       strings.Repeat("$", 2*n) + "{}",
		"references":    strings.Repeat("${A}", n),
		"literal-close": strings.Repeat("${A-", n) + "}",
	} {
		work := 0
		for i := 0; i < len(value); {
			_, _, next, w := token(value, i)
			if next <= i {
				t.Fatalf("%s: token at %d did not move on", name, i)
			}
			i, work = next, work+w
		}
		if work > 2*len(value) {
			t.Errorf("%s: %d bytes looked at for a value of %d", name, work, len(value))
		}
	}
}

// TestTokenSameAsSearch checks the scan against the syntax read the
// plain (and slow) way, on random values of the bytes that matter.
func TestTokenSameAsSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "${}$A_1-"
	for range 20000 {
		b := make([]byte, rng.IntN(16))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		v := string(b)
		var got, want []string
		scan(v, func(l string) { got = append(got, "L"+l) }, func(r string) { got = append(got, "R"+r) })
		searchScan(v, func(l string) { want = append(want, "L"+l) }, func(r string) { want = append(want, "R"+r) })
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%q: %s", v, d)
		}
	}
}

// searchScan is the syntax read by searching for the "}" after each
// "${" (the earlier implementation): quadratic, and the reference.
func searchScan(value string, lit, ref func(string)) {
	for i := 0; i < len(value); {
		j, found := i, false
		for ; j < len(value); j++ {
			if strings.HasPrefix(value[j:], "$${") {
				found = true
				break
			}
			if strings.HasPrefix(value[j:], "${") {
				if end := strings.IndexByte(value[j+2:], '}'); end >= 0 && validName(value[j+2:j+2+end]) {
					found = true
					break
				}
			}
		}
		switch {
		case j > i:
			lit(value[i:j])
			i = j
		case !found:
			i = len(value)
		case strings.HasPrefix(value[j:], "$${"):
			lit("${")
			i = j + 3
		default:
			end := strings.IndexByte(value[j+2:], '}')
			ref(value[j+2 : j+2+end])
			i = j + 3 + end
		}
	}
}

// validName is the name rule read plainly, for searchScan.
func validName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	return true
}

// TestNearer: a reference from a value to a secret of a nearer level
// (a lower Level) is a *NearerError naming the value and the reference,
// checked for each reference by the level of the value that holds it,
// also when the nearer secret was expanded already; upward and
// same-level references expand; AllowNearer expands them all.
func TestNearer(t *testing.T) {
	cases := []struct {
		name    string
		secrets map[string]Secret
		order   []string // expanded in this order; the last is checked
		want    string
		err     *NearerError
	}{
		{"upward", map[string]Secret{"X": {Value: "u:${T}", Expand: true}, "T": {Value: "t", Level: 1}}, []string{"X"}, "u:t", nil},
		{"same level", map[string]Secret{"X": {Value: "${T}", Expand: true, Level: 1}, "T": {Value: "t", Level: 1}}, []string{"X"}, "t", nil},
		{"downward", map[string]Secret{"X": {Value: "${T}", Expand: true, Level: 1}, "T": {Value: "t"}}, []string{"X"}, "", &NearerError{"X", "T"}},
		{"downward by two", map[string]Secret{"X": {Value: "${T}", Expand: true, Level: 2}, "T": {Value: "t", Level: 1}}, []string{"X"}, "", &NearerError{"X", "T"}},
		{"through a same-level value", map[string]Secret{"X": {Value: "${A}", Expand: true, Level: 1}, "A": {Value: "${T}", Expand: true, Level: 1}, "T": {Value: "t"}}, []string{"X"}, "", &NearerError{"A", "T"}},
		{"own through parent to own", map[string]Secret{"X": {Value: "${G}", Expand: true}, "G": {Value: "${T}", Expand: true, Level: 1}, "T": {Value: "t"}}, []string{"X"}, "", &NearerError{"G", "T"}},
		{"to a nearer value expanded already", map[string]Secret{"A": {Value: "a${T}", Expand: true}, "T": {Value: "t", Level: 1}, "X": {Value: "${A}", Expand: true, Level: 1}}, []string{"A", "X"}, "", &NearerError{"X", "A"}},
	}
	for _, c := range cases {
		for _, allow := range []bool{false, true} {
			x := New(c.secrets, 1<<20, 1<<20)
			x.AllowNearer = allow
			var got string
			var err error
			for _, n := range c.order {
				got, err = x.Value(n)
			}
			var ne *NearerError
			switch {
			case c.err != nil && !allow:
				if !errors.As(err, &ne) || *ne != *c.err {
					t.Errorf("%s: %v, want %v", c.name, err, c.err)
				}
			case err != nil:
				t.Errorf("%s (allow %v): %v", c.name, allow, err)
			case c.err == nil && got != c.want:
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
	}
}
