package scan

import (
	"strings"
	"unicode/utf8"
)

// The decoding views, and the byte that starts an escape in each.
const (
	percent = iota
	backslash
	quote
	nViews
)

// escapeBytes[kind] starts an escape in the view of that kind.
const escapeBytes = "%\\'"

// A view is a decoded view of the stream. While no escape is in progress
// and it agrees with the raw lane, it is off and costs nothing: the raw
// lane stands for it. An escape byte turns it on with a copy of the raw
// lane; it turns off again once the two agree.
type view struct {
	lane
	kind    int
	on      bool
	tok     [12]byte // the escape read so far
	nTok    int
	tokAt   int64 // stream offset of tok[0]
	literal int   // bytes fed since the last escape
}

// feed decodes the stream byte c at offset o.
func (v *view) feed(s *Set, c byte, o int64, out *Spans) {
	if v.nTok == 0 {
		if c != escapeBytes[v.kind] {
			v.literal++
			v.push(s, c, o, o+1, out)
			return
		}
		v.tokAt = o
	}
	v.tok[v.nTok] = c
	v.nTok++
	for v.nTok > 0 {
		var dec [4]byte
		n, nd := v.decode(dec[:])
		if n == 0 && v.nTok == len(v.tok) {
			n = -1 // no escape is this long
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
			v.literal = 0
		}
		// Read again what follows the escape, or the byte that was not
		// one: it may start another.
		rest := v.tok[n:v.nTok]
		v.nTok = copy(v.tok[:], rest)
		v.tokAt += int64(n)
		for v.nTok > 0 && v.tok[0] != escapeBytes[v.kind] {
			v.literal++
			v.push(s, v.tok[0], v.tokAt, v.tokAt+1, out)
			v.nTok = copy(v.tok[:], v.tok[1:v.nTok])
			v.tokAt++
		}
	}
}

// decode reads the escape in tok[:nTok]. It returns the escape's length
// and its bytes in dec; 0 if more bytes are needed to tell; -1 if tok[0]
// does not start an escape.
func (v *view) decode(dec []byte) (n, nd int) {
	t := v.tok[:v.nTok]
	switch v.kind {
	case percent:
		return decodePercent(t, dec)
	case backslash:
		return decodeBackslash(t, dec)
	default:
		return decodeQuote(t, dec)
	}
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
