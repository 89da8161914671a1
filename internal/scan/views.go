package scan

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// The decoding views. A view decodes the escapes of one family of
// encoders. Where two families read the same text differently, each has a
// view of its own, so that one never hides the other's match: a quote
// doubled (SQL) or written the shells' way, a backslash doubled
// (PostgreSQL's E'...') or starting an escape of its own (JSON).
const (
	percent   = iota // %XX
	backslash        // \n, \xHH, \uXXXX, \NNN, \c
	quote            // '\'' and '"'"' in a single-quoted shell word
	sqlQuote         // '' in SQL and YAML single-quoted strings
	eString          // '' and \\ in PostgreSQL's E'...' (quote_literal)
	csvQuote         // "" in CSV fields and SQL identifiers
	entity           // &amp; &lt; &gt; &quot; &apos; &#NN; &#xHH;
	sgr              // ESC[...m and ESC[...K, dropped (terminal colours)
	codePoint        // backslash, but \xHH for U+00HH, and YAML's \N \_ \L \P \0, line folds
	nViews
)

// escapeBytes[kind] are the bytes that start an escape in the view of
// that kind.
var escapeBytes = [nViews]string{"%", "\\", "'", "'", "'\\", "\"", "&", "\x1b", "\\"}

// A Set marks the bytes that start an escape with one bit per view.
const _ = uint16(1 << (nViews - 1))

// forked is the set of views that are never turned on by their escape
// byte: the codePoint view is turned on by the backslash view, as a copy
// of it, at the first escape the two read differently (see view.drain).
// While off, it stands for the backslash view where that is on, and for
// the raw lane where it is not; it turns off only once the backslash
// view is off too. So the Python and YAML reading costs nothing until an
// escape of theirs appears: \xHH with HH from 80 on, or one of YAML's.
const forked = 1 << codePoint

// A view is a decoded view of the stream. While no escape is in progress
// and it agrees with the raw lane, it is off and costs nothing: the raw
// lane stands for it. An escape byte turns it on with a copy of the raw
// lane; it turns off again once the two agree.
type view struct {
	lane
	kind    int
	tok     [24]byte // the escape read so far
	nTok    int
	tokAt   int64 // stream offset of tok[0]
	literal int   // bytes fed since the last escape
}

// feed decodes the stream byte c at offset o. alt, if not nil, is the
// codePoint view, off, for the backslash view v to fork (see drain); feed
// reports whether it did.
func (v *view) feed(s *Set, c byte, o int64, alt *view, out *Spans) (forked bool) {
	if v.nTok == 0 {
		if s.view[c]&(1<<v.kind) == 0 {
			v.literal++
			v.push(s, c, o, o+1, out)
			return false
		}
		v.tokAt = o
	}
	v.tok[v.nTok] = c
	v.nTok++
	return v.drain(s, alt, out)
}

// drain decodes the escapes in tok, and the bytes after them, as far as
// they are complete. Before the backslash view v reads an escape that the
// codePoint view would read otherwise (a different length or different
// bytes), it makes alt, the codePoint view, off until then, a copy of
// itself, escape and all, and has it read on from there; it reports
// whether it did.
func (v *view) drain(s *Set, alt *view, out *Spans) (forked bool) {
	for v.nTok > 0 {
		var dec [4]byte
		n, nd := v.decode(dec[:])
		if n == 0 && v.nTok == len(v.tok) {
			n = -1 // no escape is this long
		}
		if n != 0 && alt != nil && differs(v.tok[:v.nTok], n, dec[:nd]) {
			alt.forkFrom(v)
			alt.drain(s, nil, out)
			alt, forked = nil, true
		}
		switch {
		case n == 0: // more to come
			return
		case n < 0: // tok[0] starts no escape: it is itself
			v.literal++
			v.push(s, v.tok[0], v.tokAt, v.tokAt+1, out)
			n = 1
		default:
			end := v.tokAt + int64(n)
			for _, b := range dec[:nd] {
				v.push(s, b, v.tokAt, end, out)
			}
			if nd == 0 {
				v.dropped(s, v.tokAt, end, out)
			}
			v.literal = 0
		}
		// Read again what follows the escape, or the byte that was not
		// one: it may start another.
		rest := v.tok[n:v.nTok]
		v.nTok = copy(v.tok[:], rest)
		v.tokAt += int64(n)
		for v.nTok > 0 && s.view[v.tok[0]]&(1<<v.kind) == 0 {
			v.literal++
			v.push(s, v.tok[0], v.tokAt, v.tokAt+1, out)
			v.nTok = copy(v.tok[:], v.tok[1:v.nTok])
			v.tokAt++
		}
	}
	return forked
}

// Bounding what a view holds across the escapes it drops. The sgr view
// drops colour codes and the codePoint view line folds: any number of
// them may stand between two bytes of a value, so without a bound a match
// in progress ("alp", then colour codes without end) would hold the
// output from its start for as long as the job writes them. Every other
// escape decodes to at least one byte from at most len(view.tok) bytes,
// so a match of at most maxLen bytes spans a bounded stretch without
// them.
const (
	// spanPerByte and spanExtra bound the raw bytes a match in progress
	// in a view may span when it reaches a dropped escape: spanPerByte for
	// each byte of the longest pattern, plus spanExtra. A value that grep
	// --color colours character by character (ESC[01;31mESC[K before a
	// byte, ESC[mESC[K after it: 20 bytes) or that yaml.dump folds spans
	// well within it.
	spanPerByte = 32
	spanExtra   = 1 << 10
)

// maxSpan is the most raw bytes a match in progress in a view may span
// once it reaches a dropped escape (see spanPerByte).
func (s *Set) maxSpan() int64 { return spanPerByte*int64(s.maxLen) + spanExtra }

// dropped follows an escape the view dropped (it decodes to no byte),
// the stream range [start, end). It keeps what the view holds bounded,
// failing closed, as the candidate cap does (see lane.hit):
//
//   - while the lane is wild, the escape is passed on, not held for the
//     next byte's mask (what the lane masks up to it is masked now): it
//     decodes to nothing, so it is no part of a value in this view (a
//     view that reads it otherwise holds it itself), and the lane holds
//     nothing across a run of them;
//   - a match in progress that now spans more than maxSpan raw bytes is
//     masked from its start to end, and the lane starts over from the
//     root, wild: it masks the next maxLen bytes it decodes as they come.
//     A value the cap cuts is so masked whole, whatever follows: its
//     first bytes up to end, the rest among the next maxLen. So the cap
//     never shows a value; it only masks more of output that no encoder
//     writes (a value's start and then more than maxSpan bytes of colour
//     codes or folds).
func (v *view) dropped(s *Set, start, end int64, out *Spans) {
	l := &v.lane
	if l.wild {
		if l.wildStart < start {
			out.Add(l.wildStart, start)
		}
		l.wildStart = end
	}
	if h := l.hold(s, end, end); end-h > s.maxSpan() {
		out.Add(h, end)
		l.st, l.cands = 0, l.cands[:0]
		l.wild, l.wildStart, l.wildLeft = true, end, max(l.wildLeft, s.maxLen)
	}
}

// differs reports whether the codePoint view reads the escape at the
// start of t otherwise than the backslash view, which reads it as n bytes
// decoding to dec (n < 0: as no escape).
func differs(t []byte, n int, dec []byte) bool {
	var alt [4]byte
	m, md := decodeCodePoint(t, alt[:])
	return m != n || string(alt[:md]) != string(dec)
}

// forkFrom makes v, the codePoint view, a copy of w, the backslash view,
// with the escape w is reading.
func (v *view) forkFrom(w *view) {
	cands := append(v.cands[:0], w.cands...)
	v.lane = w.lane
	v.cands = cands
	v.tok, v.nTok, v.tokAt, v.literal = w.tok, w.nTok, w.tokAt, w.literal
}

// decode reads the escape in tok[:nTok]. It returns the escape's length
// and its bytes in dec; 0 if more bytes are needed to tell; -1 if tok[0]
// does not start an escape.
func (v *view) decode(dec []byte) (n, nd int) { return decode(v.kind, v.tok[:v.nTok], dec) }

// decode reads the escape of the view of that kind in t, as view.decode.
func decode(kind int, t, dec []byte) (n, nd int) {
	switch kind {
	case percent:
		return decodePercent(t, dec)
	case backslash:
		return decodeBackslash(t, dec)
	case quote:
		return decodeQuote(t, dec)
	case sqlQuote, eString, csvQuote:
		return decodePair(t, dec)
	case entity:
		return decodeEntity(t, dec)
	case codePoint:
		return decodeCodePoint(t, dec)
	default:
		return decodeSGR(t, dec)
	}
}

// passBytes[kind] has bit d set when no escape byte of the view of that
// kind starts an escape with the byte d after it. The view, off, need then
// not be turned on for the escape byte: it reads the byte as it is, as the
// raw lane does (and if d starts an escape, the view is turned on for d,
// with the raw lane as the view would have been). That is the common case:
// a " or a ' that is not doubled, an & or a % before a space. passBytes is
// a constant of the decoders.
var passBytes = func() (t [nViews][4]uint64) {
	var dec [4]byte
	for k := range nViews {
		for d := range 256 {
			pass := true
			for _, c := range []byte(escapeBytes[k]) {
				if n, _ := decode(k, []byte{c, byte(d)}, dec[:]); n >= 0 {
					pass = false
				}
			}
			if pass {
				t[k][d>>6] |= 1 << (d & 63)
			}
		}
	}
	return t
}()

// passes reports whether views, a set of view bits, all pass the escape
// byte that starts them when the byte d follows it (see passBytes).
func passes(views uint16, d byte) bool {
	for ; views != 0; views &= views - 1 {
		if passBytes[bits.TrailingZeros16(views)][d>>6]&(1<<(d&63)) == 0 {
			return false
		}
	}
	return true
}

func decodePercent(t, dec []byte) (int, int) {
	for i := 1; i < len(t); i++ {
		if unhex(t[i]) < 0 {
			return -1, 0
		}
	}
	if len(t) < 3 {
		return 0, 0
	}
	dec[0] = byte(unhex(t[1])<<4 | unhex(t[2]))
	return 3, 1
}

// decodeQuote reads the shells' ways to put ' in a single-quoted word:
// close, escaped or double-quoted ', reopen.
func decodeQuote(t, dec []byte) (int, int) {
	for _, form := range [...]string{`'\''`, `'"'"'`} {
		if len(t) <= len(form) && string(t) == form[:len(t)] {
			if len(t) < len(form) {
				return 0, 0
			}
			dec[0] = '\''
			return len(t), 1
		}
	}
	return -1, 0
}

// decodePair reads a doubled byte as one, where a string's delimiter or
// escape byte is written twice: a single quote in SQL's and YAML's
// single-quoted strings, a double quote in CSV, both a single quote and a
// backslash in PostgreSQL's E'...'. The view's escape bytes are the ones
// doubled.
func decodePair(t, dec []byte) (int, int) {
	if len(t) < 2 {
		return 0, 0
	}
	if t[1] != t[0] {
		return -1, 0
	}
	dec[0] = t[0]
	return 2, 1
}

// The named character references that HTML and XML escapers write, and
// the bytes they stand for.
var (
	entityNames = [...]string{"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}
	entityBytes = "&<>\"'"
)

// decodeEntity reads a character reference: one of entityNames, or
// &#NN; or &#xHH; (&#X..., hex digits of either case, leading zeros) for
// any code point, written in UTF-8 (U+FFFD for a surrogate). The ';' is
// required, as escapers write it.
func decodeEntity(t, dec []byte) (int, int) {
	if len(t) < 2 {
		return 0, 0
	}
	if t[1] != '#' {
		for i, name := range entityNames {
			if len(t) <= len(name) && string(t) == name[:len(t)] {
				if len(t) < len(name) {
					return 0, 0
				}
				dec[0] = entityBytes[i]
				return len(t), 1
			}
		}
		return -1, 0
	}
	i, base := 2, 10
	if len(t) > 2 && (t[2] == 'x' || t[2] == 'X') {
		i, base = 3, 16
	}
	r := 0
	for j := i; j < len(t); j++ {
		c := t[j]
		if c == ';' && j > i {
			return j + 1, utf8.EncodeRune(dec, rune(r))
		}
		d := unhex(c)
		if d < 0 || d >= base {
			return -1, 0
		}
		if r = r*base + d; r > utf8.MaxRune {
			return -1, 0
		}
	}
	return 0, 0
}

// decodeSGR reads a terminal's Select Graphic Rendition sequence
// (ESC[...m, colours and bold) or Erase in Line (ESC[...K), as grep
// --color and colouring loggers write them around a match, and drops
// it: a value coloured in part is read whole.
func decodeSGR(t, _ []byte) (int, int) {
	if len(t) < 2 {
		return 0, 0
	}
	if t[1] != '[' {
		return -1, 0
	}
	for j := 2; j < len(t); j++ {
		switch c := t[j]; {
		case '0' <= c && c <= '9' || c == ';' || c == ':':
		case c == 'm' || c == 'K':
			return j + 1, 0
		default:
			return -1, 0
		}
	}
	return 0, 0
}

// The one-letter backslash escapes and the bytes they stand for.
const (
	controlLetters = "ntrabfveE"
	controlBytes   = "\n\t\r\a\b\f\v\x1b\x1b"
)

func decodeBackslash(t, dec []byte) (int, int) {
	if len(t) < 2 {
		return 0, 0
	}
	switch c := t[1]; c {
	case 'x':
		r, n := hexRun(t, 2, 2)
		if n <= 0 {
			return n, 0
		}
		dec[0] = byte(r)
		return n, 1
	case 'U':
		r, n := hexRun(t, 2, 8)
		if n <= 0 {
			return n, 0
		}
		if r > utf8.MaxRune {
			return -1, 0
		}
		return n, utf8.EncodeRune(dec, rune(r))
	case 'u':
		return decodeU(t, dec)
	case '0', '1', '2', '3', '4', '5', '6', '7':
		i, r := 1, 0
		for i < 4 && i < len(t) && isOctal(t[i]) {
			r = r<<3 | int(t[i]-'0')
			i++
		}
		if i < 4 && i == len(t) {
			return 0, 0 // another digit may follow
		}
		dec[0] = byte(r)
		return i, 1
	default:
		if i := strings.IndexByte(controlLetters, c); i >= 0 {
			dec[0] = controlBytes[i]
		} else {
			dec[0] = c
		}
		return 2, 1
	}
}

// decodeCodePoint reads the backslash escapes of Python's str repr and
// ascii() and of YAML's double-quoted scalars (PyYAML's yaml.dump, which
// writes every character that is not printable ASCII escaped by default):
// as decodeBackslash, but \xHH stands for the code point U+00HH, written
// in UTF-8 (two bytes from 80 on), not for the byte; \0 is NUL alone (YAML
// writes NUL and a digit as \0 and the digit); \N, \_, \L and \P are
// U+0085, U+00A0, U+2028 and U+2029; and a backslash before a line break
// (LF, CR or CRLF) folds the line: the break and the spaces and tabs that
// indent the next line are dropped.
func decodeCodePoint(t, dec []byte) (int, int) {
	if len(t) < 2 {
		return 0, 0
	}
	switch t[1] {
	case 'x':
		r, n := hexRun(t, 2, 2)
		if n <= 0 {
			return n, 0
		}
		return n, utf8.EncodeRune(dec, rune(r))
	case '0':
		dec[0] = 0
		return 2, 1
	case 'N', '_', 'L', 'P':
		r := [...]rune{0x85, 0xa0, 0x2028, 0x2029}[strings.IndexByte("N_LP", t[1])]
		return 2, utf8.EncodeRune(dec, r)
	case '\n', '\r':
		i := 2
		if t[1] == '\r' && (i == len(t) || t[i] == '\n') {
			if i == len(t) {
				return 0, 0
			}
			i++
		}
		for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
			i++
		}
		if i == len(t) {
			return 0, 0 // the indent may go on
		}
		return i, 0
	}
	return decodeBackslash(t, dec)
}

// decodeU reads \uXXXX, and the low surrogate that should follow a high
// one.
func decodeU(t, dec []byte) (int, int) {
	r, n := hexRun(t, 2, 4)
	if n <= 0 {
		return n, 0
	}
	switch {
	case r >= 0xdc80 && r <= 0xdcff: // Python's surrogateescape: an undecodable byte
		dec[0] = byte(r - 0xdc00)
		return n, 1
	case r >= 0xd800 && r < 0xdc00:
		switch {
		case len(t) == 6 || len(t) == 7 && t[6] == '\\':
			return 0, 0
		case t[6] != '\\' || t[7] != 'u':
			break
		default:
			lo, m := hexRun(t[6:], 2, 4)
			if m == 0 {
				return 0, 0
			}
			if m > 0 && lo >= 0xdc00 && lo < 0xe000 {
				return 12, utf8.EncodeRune(dec, rune(0x10000+(r-0xd800)<<10+(lo-0xdc00)))
			}
		}
	}
	return n, utf8.EncodeRune(dec, rune(r)) // a lone surrogate gives U+FFFD
}

// hexRun reads k hex digits of t from i. It returns their value and the
// escape's length i+k; 0 if t ends first, -1 if a byte is not a digit.
func hexRun(t []byte, i, k int) (int, int) {
	r := 0
	for j := i; j < i+k; j++ {
		if j >= len(t) {
			return 0, 0
		}
		h := unhex(t[j])
		if h < 0 {
			return 0, -1
		}
		r = r<<4 | h
	}
	return r, i + k
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }
