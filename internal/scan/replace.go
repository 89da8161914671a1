package scan

import "unicode/utf8"

// Values that are not UTF-8 are also matched with each invalid byte
// replaced by U+FFFD, as encoders that need UTF-8 print them.

// replacedLen is the length of v with each invalid byte replaced by
// U+FFFD, as appendReplaced writes it.
func replacedLen(v []byte) int {
	n := len(v)
	for i := 0; i < len(v); {
		if v[i] < utf8.RuneSelf {
			i++
			continue
		}
		k := runeLen(v[i:])
		if k == 0 {
			n += 2
			k = 1
		}
		i += k
	}
	return n
}

// appendReplaced appends v with each byte that is not part of valid UTF-8
// replaced by U+FFFD, one per byte, as Go's encoding/json does.
func appendReplaced(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		if v[i] < utf8.RuneSelf {
			dst = append(dst, v[i])
			i++
			continue
		}
		k := runeLen(v[i:])
		if k == 0 {
			dst = append(dst, "\uFFFD"...)
			k = 1
		} else {
			dst = append(dst, v[i:i+k]...)
		}
		i += k
	}
	return dst
}

// runeLen returns the length of the UTF-8 encoding of a rune that b
// starts with, b[0] not being ASCII, or 0 if the bytes are not one (as
// utf8.DecodeRune tells, without computing the rune).
func runeLen(b []byte) int {
	c := b[0]
	if c < 0xc2 || c > 0xf4 || len(b) < 2 {
		return 0
	}
	lo, hi := byte(0x80), byte(0xbf)
	switch c {
	case 0xe0:
		lo = 0xa0
	case 0xed:
		hi = 0x9f
	case 0xf0:
		lo = 0x90
	case 0xf4:
		hi = 0x8f
	}
	if b[1] < lo || b[1] > hi {
		return 0
	}
	n := 2
	if c >= 0xe0 {
		n = 3
		if c >= 0xf0 {
			n = 4
		}
	}
	if len(b) < n {
		return 0
	}
	for _, x := range b[2:n] {
		if x < 0x80 || x > 0xbf {
			return 0
		}
	}
	return n
}
