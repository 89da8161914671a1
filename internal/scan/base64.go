package scan

// Base64 values of bytes: 0 to 63 for the characters of both alphabets,
// b64Break for CR and LF, b64Other for the rest.
const (
	b64Break = 64
	b64Other = 65
)

// b64Table returns the base64 value of every byte.
func b64Table() (t [256]uint8) {
	for c := range t {
		t[c] = b64Other
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(alphabet) {
		t[alphabet[i]] = uint8(i)
	}
	t['-'], t['_'] = 62, 63
	t['\r'], t['\n'] = b64Break, b64Break
	return t
}

// minWrap is the shortest line of base64 that a line break may continue:
// encoders wrap at 64 (PEM, openssl) or 76 (MIME, coreutils) characters,
// and a line break after a short word ("Build finished") must end the run,
// or a build log's last byte and newline would wait for the next line.
const minWrap = 16

// b64 matches the base64 view. A run is a stretch of base64 characters,
// with line breaks of at most two bytes between them ignored when the
// line before them holds at least minWrap characters; anything else ends
// it. Lane p decodes the run's characters in groups of four
// from the p-th on, so one of the four lanes reads any value encoded in
// it whatever its alignment.
//
// Runs too short to hold a whole pattern are not decoded, unless a Scan
// ends inside one: the writer must then know whether it may be the start
// of one.
type b64 struct {
	lanes  [4]lane
	run    int  // characters in the run
	breaks int  // line-break bytes since its last character
	line   int  // characters of the run since its last line break
	live   bool // the run is being decoded
	from   int  // while not live: index of the run's first character in the piece being scanned
	j      int  // characters of the run decoded
	prev   byte // value of the last character decoded
	prevAt int64
	// A match that ends a group of four early (one or two bytes in it)
	// is followed by padding when the encoded text ends there: the next
	// padLeft bytes from padAt, if they are '=', are masked with it.
	padAt   int64
	padLeft int
}

// pad masks c, at stream offset o, if it is padding that a match expects,
// and reports whether it was.
func (r *b64) pad(c byte, o int64, out *Spans) bool {
	if r.padLeft == 0 {
		return false
	}
	if c != '=' || o != r.padAt {
		r.padLeft = 0
		return false
	}
	out.Add(o, o+1)
	r.padAt++
	r.padLeft--
	return true
}

func (r *b64) scan(s *Set, b []byte, off int64, out *Spans) {
	for i := 0; i < len(b); i++ {
		if !r.live {
			// Count the run's characters until it is long enough to hold
			// a pattern.
			for ; i < len(b); i++ {
				if r.padLeft > 0 && r.pad(b[i], off+int64(i), out) {
					continue
				}
				if r.run == 0 && i+s.lmin <= len(b) && s.b64[b[i+s.lmin-1]] == b64Other {
					// No run long enough can take in that byte.
					i += s.lmin - 1
					continue
				}
				v := s.b64[b[i]]
				if v < 64 {
					if r.run == 0 {
						r.from = i
					}
					r.breaks = 0
					r.run++
					r.line++
					if r.run >= s.lmin {
						r.catchUp(s, b[:i+1], off, out)
						break
					}
				} else if v == b64Break && r.run > 0 && r.wraps() {
					r.breaks++
				} else {
					r.run, r.breaks, r.line = 0, 0, 0
				}
			}
			continue
		}
		switch v := s.b64[b[i]]; {
		case v < 64:
			r.breaks = 0
			r.run++
			r.line++
			r.char(s, v, off+int64(i), out)
		case v == b64Break && r.wraps():
			r.breaks++
		default:
			r.end(out)
			if r.padLeft > 0 {
				r.pad(b[i], off+int64(i), out)
			}
		}
	}
	if r.run > 0 && !r.live {
		r.catchUp(s, b, off, out)
	}
}

// catchUp decodes the run from its start to the end of b.
func (r *b64) catchUp(s *Set, b []byte, off int64, out *Spans) {
	r.live = true
	for i := r.from; i < len(b); i++ {
		if v := s.b64[b[i]]; v < 64 {
			r.char(s, v, off+int64(i), out)
		}
	}
}

// char decodes the character of value v at stream offset o. In each lane
// where it is not the first of its group of four it ends a byte; that
// byte begins, for a match, at the first character that holds nothing
// but its bits (or the previous one for the first byte of a group).
func (r *b64) char(s *Set, v byte, o int64, out *Spans) {
	j := r.j
	r.j++
	if j > 0 {
		pv := r.prev
		for p := range 4 {
			q := (j - p) & 3
			if q == 0 || j < q {
				continue
			}
			b, start := pv<<6|v, o
			switch q {
			case 1:
				b, start = pv<<2|v>>4, r.prevAt
			case 2:
				b = pv<<4 | v>>2
			}
			if l := &r.lanes[p]; !l.idle(s, b) {
				l.step(s, b, start, o+1, out)
				if l.hitEnd == o+1 {
					// A match ends with the group's byte q of 3: 2 or 1
					// padding characters follow if the text ends here.
					r.padAt, r.padLeft = o+1, 3-q
				}
			}
		}
	}
	r.prev, r.prevAt = v, o
}

// end ends the run.
func (r *b64) end(out *Spans) {
	if r.live {
		for p := range r.lanes {
			r.lanes[p].finish(r.prevAt+1, out)
		}
	}
	r.run, r.breaks, r.line, r.live, r.j = 0, 0, 0, false, 0
}

// wraps reports whether a line-break byte here continues the run: the
// second byte of a CRLF, or a break after a line long enough to be a
// wrapped line of base64.
func (r *b64) wraps() bool {
	switch {
	case r.breaks == 0 && r.line >= minWrap:
		r.line = 0
		return true
	case r.breaks == 1:
		return true
	}
	return false
}

func (r *b64) hold(s *Set, h int64) int64 {
	if !r.live {
		return h
	}
	for p := range r.lanes {
		h = r.lanes[p].hold(s, h, 0)
	}
	// The last character begins a group in one lane: its 6 bits may be the
	// top of a pattern's first byte.
	if r.j > 0 && s.top6&(1<<r.prev) != 0 {
		h = min(h, r.prevAt)
	}
	return h
}
