package scan

import "math/bits"

// A Scanner finds a Set's patterns in one stream, fed in pieces. It is
// not safe for concurrent use.
type Scanner struct {
	set   *Set
	raw   lane
	views [nViews]view
	on    uint16 // bit k: view k is on
	end   int64  // offset just past the bytes fed
	b64   b64
}

// NewScanner returns a Scanner for s's patterns, at the start of a
// stream.
func NewScanner(s *Set) *Scanner {
	sc := &Scanner{set: s}
	sc.raw.raw = true
	for k := range sc.views {
		sc.views[k].kind = k
	}
	return sc
}

// Scan feeds the scanner b, the bytes of the stream from offset off on
// (just after what it was fed last), and adds each match to out. A match
// is reported once its last byte is fed; it may begin before b.
func (sc *Scanner) Scan(b []byte, off int64, out *Spans) {
	sc.scanText(b, off, out)
	sc.b64.scan(sc.set, b, off, out)
}

// scanText runs the raw lane and the decoding views.
func (sc *Scanner) scanText(b []byte, off int64, out *Spans) {
	s := sc.set
	raw := &sc.raw
	nc := int(s.nClass)
	sc.end = off + int64(len(b))
	for i := 0; i < len(b); i++ {
		if sc.on == 0 && len(raw.cands) == 0 && !raw.wild {
			// The common case, inline: no view on, and the raw lane in a
			// state with a full row and no candidate. At the root, bytes
			// that start nothing are passed over.
			st, dense, class := raw.st, s.dense, &s.class
			for ; i < len(b); i++ {
				c := b[i]
				if st == 0 && s.skip[c] {
					continue
				}
				if st >= s.nDense || s.view[c] != 0 && (i+1 == len(b) || !passes(s.view[c], b[i+1])) {
					break
				}
				t := dense[int(st)*nc+int(class[c])]
				st = t &^ hitFlag
				if t < 0 {
					raw.st = st
					raw.hit(s, st, off+int64(i)+1, out)
					if len(raw.cands) > 0 || raw.wild {
						i++
						break
					}
				}
			}
			raw.st = st
			if i == len(b) {
				return
			}
		}
		c, o := b[i], off+int64(i)
		for m := s.view[c] &^ forked; m != 0; m &= m - 1 {
			k := bits.TrailingZeros16(m)
			if sc.on&(1<<k) == 0 && (i+1 == len(b) || !passes(1<<k, b[i+1])) {
				v := &sc.views[k]
				v.copyRaw(raw, o)
				v.literal, v.nTok = 1<<30, 0
				sc.on |= 1 << k
			}
		}
		raw.push(s, c, o, o+1, out)
		for m := sc.on; m != 0; m &= m - 1 {
			k := bits.TrailingZeros16(m)
			v := &sc.views[k]
			var alt *view
			if k == backslash && sc.on&forked == 0 {
				alt = &sc.views[codePoint]
			}
			if v.feed(s, c, o, alt, out) {
				sc.on |= forked // it has read c
			}
			sc.settle(v, k)
		}
	}
}

// settle turns v off when the raw lane can stand for it again: no escape
// in progress, no candidate on either side, and the same state reached
// through bytes that were not escaped. The codePoint view turns off only
// while the backslash view is off: off, it stands for the backslash view
// where that is on, which holds only while neither has read an escape
// the other reads otherwise.
func (sc *Scanner) settle(v *view, k int) {
	raw := &sc.raw
	if k == codePoint && sc.on&(1<<backslash) != 0 {
		return
	}
	if v.nTok == 0 && v.st == raw.st && len(v.cands) == 0 && !v.wild && len(raw.cands) == 0 && !raw.wild &&
		sc.set.depth(v.st) <= v.literal {
		sc.on &^= 1 << k
	}
}

// Hold returns the earliest stream offset at which a match may begin
// that is still in progress, or h if that is earlier. Bytes before it
// can be released: no match found later will cover them.
func (sc *Scanner) Hold(h int64) int64 {
	s := sc.set
	h = sc.raw.hold(s, h, sc.end)
	for m := sc.on; m != 0; m &= m - 1 {
		v := &sc.views[bits.TrailingZeros16(m)]
		h = v.hold(s, h, sc.end)
		if v.nTok > 0 {
			h = min(h, v.tokAt)
		}
	}
	return sc.b64.hold(s, h)
}

// Finish ends the stream at offset end: it adds what it masks for
// candidates it could not follow (see the package doc), and resets the
// scanner, which may then be fed a new stream from any offset.
func (sc *Scanner) Finish(end int64, out *Spans) {
	sc.raw.finish(end, out)
	for k := range sc.views {
		v := &sc.views[k]
		v.finish(end, out)
		v.nTok = 0
	}
	sc.on = 0
	sc.b64.end(out)
	sc.b64.padLeft = 0
}
