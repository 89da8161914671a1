// Package scan finds secret values, and the forms programs print them in,
// in a stream of bytes that arrives in pieces.
//
// # What is matched
//
// A [Set] holds patterns: each value, each line of a multi-line value,
// and, for a value that is not valid UTF-8, the value with each invalid
// byte replaced by U+FFFD (as Go's and JavaScript's JSON encoders print
// it). A [Scanner] looks for the patterns in several decoded views of the
// stream at once:
//
//   - raw: the bytes as they are;
//   - percent: %XX escapes (either case) decoded, as every URL encoder
//     writes them;
//   - backslash: \n \t \r \a \b \f \v \e \E, \xHH, \uXXXX (with surrogate
//     pairs, and Python's \udcXX for undecodable bytes), \UXXXXXXXX, octal
//     \NNN, and a backslash before any other character decoded: JSON of
//     every flavour, Python's repr, bash's printf %q, $'...' and
//     declare -p;
//   - codePoint: the backslash view's escapes, but \xHH for the code point
//     U+00HH in UTF-8, not the byte (Python's str repr, ascii(), %a); \0
//     for NUL alone, \N \_ \L \P for U+0085 U+00A0 U+2028 U+2029, and a
//     backslash, a line break and the next line's indent dropped: YAML's
//     double-quoted scalars as PyYAML's yaml.dump writes them. It is off,
//     standing for the backslash view, until the two read an escape
//     differently; then it is turned on as a copy of the backslash view
//     (see forked), so most text with backslashes costs it nothing;
//   - quote: a ' written inside a single-quoted word the shells' way
//     (close the word, an escaped or double-quoted ', reopen: see below)
//     decoded to ';
//   - sqlQuote: a doubled ' read as one, as SQL and YAML write a ' in a
//     single-quoted string;
//   - eString: a doubled ' and a doubled \ each read as one, as
//     PostgreSQL's quote_literal writes a value that holds a backslash
//     (E'...');
//   - csvQuote: a doubled " read as one, as CSV writers and SQL's
//     quote_ident write a " in a double-quoted field or name;
//   - entity: the character references &amp; &lt; &gt; &quot; &apos;,
//     and &#NN; and &#xHH; (x and the hex digits in either case, leading
//     zeros allowed) for any code point, decoded (to UTF-8): HTML and XML
//     escapers of every kind (Python's html.escape writes ' as &#x27;, Go's
//     html as &#39;, XML as &apos;);
//   - sgr: a terminal's colour and erase-in-line sequences (ESC[...m and
//     ESC[...K, parameters of digits, ';' and ':') dropped, as grep
//     --color=always writes them around a match inside a value;
//   - base64: the standard and URL-safe alphabets (one view: '-' and '_'
//     read as '+' and '/'), ignoring up to two line-break bytes (LF, CR,
//     CRLF) between any two characters, decoded at each of the four
//     character phases, so a value at any alignment of a wrapped or
//     unwrapped base64 text is found.
//
// The quote views read these as it's (the first two in the quote view,
// the others in the view named):
//
//	'it'\''s'  'it'"'"'s'  'it''s' (sqlQuote)  E'it''s' (eString)
//
// Each family of encoders has a view of its own, because one view would
// misread the others' text: after a quote, two quotes in a row close and
// reopen a shell word but stand for one quote in SQL; two backslashes
// stand for one in PostgreSQL's E'...' and for two in SQL and YAML. A byte
// may start escapes in several views.
//
// Throughout, '+' and ' ' are the same byte (a URL query writes a space as
// '+'); this masks a little more, never less.
//
// A match reported in a decoded view covers the escaped characters that
// produced it, and in the sgr view the sequences between them. In base64, a match covers the characters that hold only
// the value's bits, and the last one, which may mix in the next byte's:
// the character before it that mixes the value's first 2 or 4 bits with
// the preceding byte stays visible. The '=' padding right after a match
// that ends a group of four early (when the encoded text ends there) is
// reported as a match of its own, adjacent to it.
//
// # How
//
// Two published algorithms are implemented here. The first 4 bytes
// (anchorLen) of every pattern go into an Aho–Corasick automaton (Aho and
// Corasick, 1975): states in breadth-first order, the children of a state
// numbered consecutively, full transition rows for the shallowest states
// only. Patterns are kept once, sorted by an in-place MSD radix sort (the
// American flag sort of McIlroy, Bostic and McIlroy, 1993), from which the
// automaton's trie comes level by level without a map. When the automaton
// completes an anchor, a candidate follows the sorted range of patterns
// that share it, narrowing it byte by byte (a binary search per byte, or
// a comparison once one pattern is left). So memory is a small multiple
// of the values' size, whatever they hold, and a scan costs one automaton
// step per byte and view plus the work of live candidates. The views
// decode the stream, not the patterns: however many there are, a value
// gives at most itself, its lines and its replaced form, and n bytes cost
// at most 15n steps (raw, 9 decoding views, 4 base64 phases: no escape
// decodes to more bytes than it has but YAML's \L and \P, two bytes the
// code-point view reads as three). The decoding
// views cost nothing until their escape byte appears: until then, and
// again once they agree with it, the raw lane stands for them.
//
// [Scanner.Hold] tells the earliest offset at which a match still in
// progress may begin: the automaton's depth, live candidates, an escape
// not yet complete, a base64 character that may begin a value. Everything
// before it can be released.
//
// Live candidates per view are capped at 32: output that starts the same
// secret more than that many times within one secret's length (only a
// secret and output built to repeat themselves can) is masked from the
// first of them on, for as long as the longest secret after the last, as
// it comes, instead of being followed candidate by candidate. That keeps
// the cost per byte bounded and fails closed.
//
// The sgr and codePoint views drop escapes (colour codes, line folds),
// any number of them between two bytes of a value. A match in progress
// there may span at most maxSpan raw bytes (32 a byte of the longest
// pattern, plus 1 KiB) once it meets one: past that, it is masked from
// its start and the view masks the next maxLen bytes it decodes, as the
// candidate cap does (see view.dropped). So what Hold keeps back is
// bounded whatever the stream holds, and the bound never shows a value.
package scan

import (
	"bytes"
	"slices"
)

// anchorLen is the depth of the automaton: longer patterns are followed
// past it by candidates.
const anchorLen = 4

// denseBytes bounds the memory of full transition rows: at most this, and
// at most 16 KiB or a quarter of the patterns' bytes, whichever is more,
// but always the root's row.
const denseBytes = 256 << 10

// hitFlag marks a dense transition whose target ends a pattern or an
// anchor, so that the common case, nothing found, costs one load.
const hitFlag = -1 << 31

type pat struct{ off, n uint32 }

type group struct{ lo, hi int32 }

// A Set is a compiled set of values. It is immutable and safe for
// concurrent use.
type Set struct {
	arena []byte // every pattern's bytes, with '+' as ' '
	pats  []pat  // distinct, sorted by bytes
	// maxLen and minLen are the longest and shortest pattern lengths.
	maxLen, minLen int
	// lmin is the shortest run of base64 characters that can hold a
	// whole pattern.
	lmin int

	// The automaton. Node 0 is the root; the children of node s are the
	// nodes childStart[s] to childStart[s+1]-1, in order of label.
	childStart []int32
	label      []byte
	fail       []int32
	outLen     []uint8 // longest pattern (of at most anchorLen bytes) that is a suffix of the node's string
	levels     [anchorLen + 2]int32
	groups     []group // for each node of depth anchorLen: the longer patterns that start with its string
	dense      []int32 // nDense rows of nClass transitions
	nDense     int32
	nClass     int32
	class      [256]uint8
	idle       [256]bool   // at the root, the byte leads back to the root
	skip       [256]bool   // idle, and no view decodes from it
	view       [256]uint16 // bit k: the byte starts an escape in view k
	top6       uint64      // bit x: a pattern starts with a byte whose top 6 bits are x
	b64        [256]uint8
}

// Compile returns a Set for values, or nil if none is at least minLen
// bytes long. Values, and lines of them, shorter than minLen are left
// out. values are not retained.
func Compile(values [][]byte, minLen int) *Set {
	minLen = max(minLen, 1)
	size, n := 0, 0
	invalid := make([]bool, len(values)) // not UTF-8: a replaced form too
	forEachPattern(values, minLen, func(i int, v []byte) {
		n++
		size += len(v)
		if len(v) == len(values[i]) {
			if r := replacedLen(v); r > len(v) {
				invalid[i] = true
				n++
				size += r
			}
		}
	})
	if n == 0 {
		return nil
	}
	s := &Set{arena: make([]byte, 0, size), pats: make([]pat, 0, n), minLen: 1 << 30}
	add := func(off int) {
		for i := off; ; {
			k := bytes.IndexByte(s.arena[i:], '+')
			if k < 0 {
				break
			}
			s.arena[i+k] = ' '
			i += k + 1
		}
		s.pats = append(s.pats, pat{uint32(off), uint32(len(s.arena) - off)})
	}
	forEachPattern(values, minLen, func(i int, v []byte) {
		off := len(s.arena)
		s.arena = append(s.arena, v...)
		add(off)
		if len(v) == len(values[i]) && invalid[i] {
			off = len(s.arena)
			s.arena = appendReplaced(s.arena, v)
			add(off)
		}
	})
	lcp := s.sortPatterns()
	for _, p := range s.pats {
		s.maxLen = max(s.maxLen, int(p.n))
		s.minLen = min(s.minLen, int(p.n))
	}
	s.lmin = (8*s.minLen-1)/6 + 1
	s.build(lcp)
	return s
}

// forEachPattern calls f with each value at least minLen long, and each
// line of such a value (between line breaks) at least minLen long, with
// the value's index.
func forEachPattern(values [][]byte, minLen int, f func(i int, v []byte)) {
	for i, v := range values {
		if len(v) < minLen {
			continue
		}
		f(i, v)
		line, broken := 0, false
		for j, c := range v {
			if c == '\n' || c == '\r' {
				if j-line >= minLen {
					f(i, v[line:j])
				}
				line, broken = j+1, true
			}
		}
		if broken && len(v)-line >= minLen {
			f(i, v[line:])
		}
	}
}

func (s *Set) bytes(p pat) []byte { return s.arena[p.off : p.off+p.n] }

// sortPatterns sorts the patterns by their bytes, drops duplicates, and
// returns for each pattern the length of its anchor's common prefix with
// the previous one's.
func (s *Set) sortPatterns() []uint8 {
	s.radixSort(s.pats, make([]uint16, len(s.pats)), 0)
	lcp := make([]uint8, len(s.pats))
	j := 0
	for i, p := range s.pats {
		if i > 0 {
			a, b := s.bytes(s.pats[j-1]), s.bytes(p)
			k, n := 0, min(len(a), len(b), anchorLen)
			for k < n && a[k] == b[k] {
				k++
			}
			if k == anchorLen && bytes.Equal(a, b) {
				continue
			}
			lcp[j] = uint8(k)
		}
		s.pats[j] = p
		j++
	}
	s.pats = s.pats[:j]
	return lcp[:j]
}

// radixSort sorts ps, which share their first d bytes: by the byte at d,
// in place (an American flag sort), then each bucket by the next byte;
// small buckets by comparison. The work is bounded by the bytes that tell
// the patterns apart. keys is scratch space as long as ps.
func (s *Set) radixSort(ps []pat, keys []uint16, d uint32) {
	for len(ps) > 32 {
		// Bucket 0 holds the patterns that end at d, bucket c+1 those with
		// byte c there.
		var count, next [257]int
		for i, p := range ps {
			k := uint16(0)
			if p.n > d {
				k = uint16(s.arena[p.off+d]) + 1
			}
			keys[i] = k
			count[k]++
		}
		if count[0] == len(ps) {
			return // all equal
		}
		if count[keys[0]] == len(ps) {
			d++ // one bucket: nothing to move
			continue
		}
		sum := 0
		for b := range count {
			next[b] = sum
			sum += count[b]
		}
		end := next
		for b := range count {
			end[b] += count[b]
		}
		for b := range count {
			for i := next[b]; i < end[b]; i = next[b] {
				// Carry the pattern at i to its bucket, and the one found
				// there to its own, until one belongs here.
				p, k := ps[i], keys[i]
				for int(k) != b {
					j := next[k]
					next[k]++
					ps[j], p = p, ps[j]
					keys[j], k = k, keys[j]
				}
				ps[i], keys[i] = p, k
				next[b]++
			}
		}
		lo := count[0]
		for b := 1; b < len(count); b++ {
			if count[b] > 1 {
				s.radixSort(ps[lo:lo+count[b]], keys[lo:lo+count[b]], d+1)
			}
			lo += count[b]
		}
		return
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && bytes.Compare(s.bytes(ps[j])[d:], s.bytes(ps[j-1])[d:]) < 0; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// build makes the automaton of the patterns' anchors. Sorted patterns
// give the trie level by level, already in breadth-first order, without
// a map: pattern i has a node of its own at depth d when its anchor is at
// least d long and shares less than d bytes with pattern i-1's.
func (s *Set) build(lcp []uint8) {
	np := len(s.pats)
	alen := func(i int) int { return min(int(s.pats[i].n), anchorLen) }
	var count [anchorLen + 1]int32
	for i := range np {
		for d := int(lcp[i]) + 1; d <= alen(i); d++ {
			count[d]++
		}
	}
	s.levels[0] = 0
	s.levels[1] = 1
	for d := 1; d <= anchorLen; d++ {
		s.levels[d+1] = s.levels[d] + count[d]
	}
	n := s.levels[anchorLen+1]
	s.childStart = make([]int32, n+1)
	s.label = make([]byte, n)
	s.fail = make([]int32, n)
	s.outLen = make([]uint8, n)
	s.groups = make([]group, count[anchorLen])

	// One pass: pattern i has nodes of its own at the depths past its
	// common prefix with pattern i-1; at each depth they are numbered in
	// the patterns' order, so children of a node are consecutive.
	// childStart is -1 until a node's first child is made.
	for v := range s.childStart {
		s.childStart[v] = -1
	}
	var next, cur [anchorLen + 1]int32 // next id at each depth; the current pattern's node at each depth
	copy(next[:], s.levels[:anchorLen+1])
	leaf := int32(-1)
	for i := range np {
		p := s.pats[i]
		for d := int(lcp[i]) + 1; d <= alen(i); d++ {
			v := next[d]
			next[d]++
			if s.childStart[cur[d-1]] < 0 {
				s.childStart[cur[d-1]] = v
			}
			s.label[v] = s.arena[p.off+uint32(d-1)]
			if int(p.n) == d {
				s.outLen[v] = uint8(d)
			}
			cur[d] = v
			if d == anchorLen {
				leaf = v - s.levels[anchorLen]
				s.groups[leaf] = group{int32(i), int32(i)}
				if p.n == anchorLen {
					s.groups[leaf].lo++ // the pattern is the anchor: outLen finds it
				}
			}
		}
		if alen(i) == anchorLen {
			s.groups[leaf].hi = int32(i + 1)
		}
	}
	// A node without children starts them where the next node does.
	s.childStart[n] = n
	for v := n - 1; v >= 0; v-- {
		if s.childStart[v] < 0 {
			s.childStart[v] = s.childStart[v+1]
		}
	}

	// Byte classes: one per byte that labels a node, '+' with ' '.
	s.nClass = 1
	var used [256]bool
	for _, c := range s.label[1:] {
		used[c] = true
	}
	for c := range 256 {
		if used[c] {
			s.class[c] = uint8(s.nClass)
			s.nClass++
		}
	}
	s.class['+'] = s.class[' ']

	s.nDense = int32(min(int(n), max(1, min(denseBytes, max(16<<10, len(s.arena)/4))/(4*int(s.nClass)))))
	s.dense = make([]int32, int(s.nDense)*int(s.nClass))
	nc := int(s.nClass)
	for u := range n {
		var row []int32
		if u < s.nDense {
			row = s.dense[int(u)*nc : int(u+1)*nc]
			if u > 0 {
				copy(row, s.dense[int(s.fail[u])*nc:])
			}
		}
		for v := s.childStart[u]; v < s.childStart[u+1]; v++ {
			c := s.label[v]
			if u > 0 {
				s.fail[v], _ = s.step(s.fail[u], c)
			}
			s.outLen[v] = max(s.outLen[v], s.outLen[s.fail[v]])
			if row != nil {
				row[s.class[c]] = v
			}
		}
	}
	for i, t := range s.dense {
		if s.hit(t) {
			s.dense[i] = t | hitFlag
		}
	}
	for k := range nViews {
		for _, c := range []byte(escapeBytes[k]) {
			s.view[c] |= 1 << k
		}
	}
	for c := range 256 {
		s.idle[c] = s.dense[s.class[c]] == 0
		s.skip[c] = s.idle[c] && s.view[c] == 0
	}
	s.b64 = b64Table()
	for v := s.childStart[0]; v < s.childStart[1]; v++ {
		c := s.label[v]
		s.top6 |= 1 << (c >> 2)
		if c == ' ' {
			s.top6 |= 1 << ('+' >> 2)
		}
	}
}

// hit reports whether reaching node t ends a pattern or an anchor.
func (s *Set) hit(t int32) bool { return s.outLen[t] != 0 || t >= s.levels[anchorLen] }

// step is the automaton's transition from node u on byte c (with '+' as
// ' '), and whether the target ends a pattern or an anchor.
func (s *Set) step(u int32, c byte) (int32, bool) {
	for u >= s.nDense {
		lo, hi := s.childStart[u], s.childStart[u+1]
		if hi-lo > 8 {
			i, found := slices.BinarySearch(s.label[lo:hi], c)
			if found {
				v := lo + int32(i)
				return v, s.hit(v)
			}
		} else {
			for v := lo; v < hi; v++ {
				if s.label[v] == c {
					return v, s.hit(v)
				}
			}
		}
		u = s.fail[u]
	}
	t := s.dense[int(u)*int(s.nClass)+int(s.class[c])]
	return t &^ hitFlag, t < 0
}

// depth is the length of node u's string.
func (s *Set) depth(u int32) int {
	d := 0
	for d < anchorLen && u >= s.levels[d+1] {
		d++
	}
	return d
}

// narrow advances candidate c by the byte b: it keeps the patterns of
// c's range whose next byte is b. It reports whether some remain and
// whether one of them ends here.
func (s *Set) narrow(c *cand, b byte) (alive, matched bool) {
	lo, hi, d := c.lo, c.hi, c.d
	if hi-lo == 1 {
		p := s.pats[lo]
		if s.arena[p.off+d] != b {
			return false, false
		}
		c.d++
		return c.d < p.n, c.d == p.n
	}
	at := func(i int32) byte { return s.arena[s.pats[i].off+d] }
	// First index in [lo, hi) whose byte at d is >= b, then > b.
	l, h := lo, hi
	for l < h {
		m := int32(uint32(l+h) >> 1)
		if at(m) < b {
			l = m + 1
		} else {
			h = m
		}
	}
	lo = l
	h = hi
	for l < h {
		m := int32(uint32(l+h) >> 1)
		if at(m) <= b {
			l = m + 1
		} else {
			h = m
		}
	}
	hi = l
	d++
	if lo < hi && s.pats[lo].n == d {
		matched = true
		lo++
	}
	c.lo, c.hi, c.d = lo, hi, d
	return lo < hi, matched
}
