package secrets

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/dataspace/secrets/internal/scan"
)

// RedactConfig tunes a Redactor. A nil *RedactConfig, and every zero
// field, means the default given with the field.
type RedactConfig struct {
	// MinLength is the shortest value, or line of a value, that is
	// masked (with its encoded forms, whatever their own length).
	// Default 6 (DefaultMinMaskLength). Shorter ones are left alone, on
	// purpose: masking a two-letter value would mask it wherever those
	// letters occur in ordinary output, and would tell readers which
	// letters the value has. Values this short are weak secrets anyway.
	MinLength int
	// Mask replaces each masked span. Default "***".
	Mask string
}

// A Redactor masks secret values in text, and the forms programs print
// them in. It masks every occurrence of:
//
//   - each value and, for a value with line breaks, each of its lines
//     (without the line ending);
//   - base64 of the value, standard or URL-safe, at any alignment inside a
//     longer base64 text, with or without padding, unwrapped or wrapped at
//     16 columns or more with LF or CRLF (base64 and openssl base64 wrap at
//     76 and 64 columns; a line break after a shorter run of base64
//     characters, such as a word at the end of a log line, ends the run, so
//     that the line is passed on at once); the character that mixes the
//     value's first bits with the byte before it stays visible; the
//     padding ('=' or '==') right after a value that ends the encoded
//     text is masked with it;
//   - URL escaping, as any encoder writes it: %XX in either case for any
//     byte, '+' or %20 for a space (Go's url.QueryEscape and PathEscape,
//     Python's quote and quote_plus, JavaScript's encodeURIComponent);
//   - backslash escaping: JSON as Go (with or without HTML escaping),
//     Python's json.dumps (\u00e4, surrogate pairs) and JavaScript write
//     it, Python's repr (\x1b, \', \udcXX for undecodable bytes), bash's
//     printf %q and $'...' (\E, octal), declare -p and export -p ("\$");
//     \xHH read both ways: as the byte HH (C, bash's $'...', Python's
//     bytes repr b'\xc3\xb6') and as the character U+00HH, in UTF-8
//     (Python's str repr of U+0080 to U+00A0 and U+00AD, '\xa0'; ascii(),
//     %a and {!a} of any non-ASCII character, '\xe9\u20ac');
//   - YAML's double-quoted scalars, as Python's yaml.dump writes a value
//     that is not printable ASCII ("Passw\xF6rd"): \xHH as U+00HH, \uHHHH,
//     \UHHHHHHHH, \0 \a \b \t \n \v \f \r \e \" \\ \/, \N \_ \L \P
//     (U+0085, U+00A0, U+2028, U+2029), and a long value folded across
//     lines (a \ before the line break, the next line's indent of at
//     most 21 spaces dropped: a deeper fold is not read);
//   - single-quoted shell words where the value holds a quote, as set -x
//     traces them and Python's shlex.quote writes them (see below);
//   - HTML and XML character references: &amp; &lt; &gt; &quot; &apos;,
//     and &#NN; and &#xHH; for any character (x and hex digits in either
//     case), as Python's html.escape (&#x27;), Go's html and html/template
//     (&#39;), XML writers (&apos;) and template engines write them;
//   - doubled quotes: a single quote doubled inside single quotes, as SQL
//     (PostgreSQL's quote_literal, and its E'...' form, which doubles
//     backslashes too) and YAML (Python's yaml) write it; a double quote
//     doubled inside double quotes, as CSV writers (Python's csv) and
//     quote_ident write it;
//   - terminal colours inside a value: ESC[...m and ESC[...K sequences
//     between its bytes, as grep --color=always writes them around a match
//     (see below);
//   - for a value that is not valid UTF-8, the value with each invalid
//     byte replaced by U+FFFD, in any of the forms above.
//
// For the value it's "x", with the default mask, some forms and what
// becomes of them:
//
//	it's "x"                  ***        the value
//	aXQncyAieCI=              ***        base64
//	AGl0J3MgIngi              AG***      base64 of the value after one byte
//	AABpdCdzICJ4Ig==          AAB***     base64 of the value after two bytes
//	it%27s+%22x%22            ***        URL escaping
//	"it's \"x\""              "***"      JSON
//	'it\'s "x"'               '***'      Python's repr
//	it\'s\ \"x\"              ***        bash's printf %q
//	'it'\''s "x"'             '***'      set -x
//	it&#x27;s &quot;x&quot;   ***        Python's html.escape
//	'it''s "x"'               '***'      SQL, YAML
//	"it's ""x"""              "***"      CSV
//
// Colour codes between a value's first and last bytes are masked with it
// (dropped); those before and after it stay. A reset that grep writes
// inside the value is masked too, so the terminal may show the mask and
// what follows it in the match's colour until the next reset. A value
// that itself holds such a sequence is masked when printed whole. Colour
// codes, and YAML's line folds, may span at most 32 bytes a byte of the
// longest value plus 1 KiB inside one value: output that starts a value
// and goes on with more of them than that (no colourizer writes it) is
// masked from the value's start, and so are the next bytes, as long as
// the longest value, as they come (the codes between them are passed on),
// so that a job cannot make a writer hold its output, and never shows a
// value that way.
//
// A form is found when it appears whole; a value printed in parts (other
// than its lines), transformed otherwise (hex, reversed, hashed, one
// character per line, compressed, encrypted, taken for Latin-1 and
// escaped again), or encoded twice is not masked, nor are values and
// lines shorter than RedactConfig.MinLength. An escaped form can be
// missed right after a stray, unfinished escape that takes in its first
// bytes (a % before %41..., a \ before u00e9..., an ESC[ before digits
// and m); encoders never write one there.
// The byte '+' is taken for a space everywhere, which masks a little
// more.
//
// Overlapping or adjacent matches are masked as one span, so nothing of
// either value shows and one mask stands for the run. Output that repeats
// the start of a secret more than 32 times within the secret's length is
// masked for as long as the longest secret (so that a crafted stream
// cannot make the search slow).
//
// A text that contains the mask itself can, once masked, show a value
// that contains the mask; values with "*" in them are rare, but choose a
// Mask accordingly.
//
// # Cost
//
// Building a Redactor takes time and memory in proportion to the values'
// total size (a small multiple of it, whatever they hold; the values are
// copied). The encoded forms add nothing to it: the output is decoded,
// not the values encoded, so a value is searched for as itself, its lines
// and (not UTF-8) its replaced form, and n bytes of output cost at most
// 15n automaton steps (one a byte for the raw text and each decoding:
// no escape decodes to more bytes than it has but YAML's \L and \P, two
// bytes that the code-point view reads as three). A Redactor is safe
// for concurrent use and can be shared: a host can build one per snapshot
// of a workspace and give it to every job started from that snapshot. Each stream needs its own [RedactWriter].
//
// # Values added later
//
// [Redactor.With] returns a child Redactor that masks its parent's values
// and more, without rebuilding the parent's; [Redactor.Add] adds values
// to a Redactor while its writers run. Add changes the Redactor for
// everyone who holds it, including its children: to mask one job's own
// values (a token minted for the job), make a child with With for the
// job, and Add to the child.
type Redactor struct {
	parent *Redactor
	set    *scan.Set // values given when r was made; nil if none
	extra  atomic.Pointer[extraValues]
	mu     sync.Mutex // serializes Add
	mask   []byte
	minLen int
}

// extraValues are the values added to a Redactor with Add.
type extraValues struct {
	values [][]byte
	set    *scan.Set
}

// NewRedactor returns a Redactor for values. The values are copied.
func NewRedactor(values [][]byte, cfg *RedactConfig) *Redactor {
	r := &Redactor{minLen: DefaultMinMaskLength, mask: []byte("***")}
	if cfg != nil {
		if cfg.MinLength > 0 {
			r.minLen = cfg.MinLength
		}
		if cfg.Mask != "" {
			r.mask = []byte(cfg.Mask)
		}
	}
	r.set = scan.Compile(values, r.minLen)
	return r
}

// With returns a Redactor that masks what r masks, now and after later
// calls of r.Add, and values too. It costs what building a Redactor for
// values alone costs; r is not changed. The child has r's configuration.
func (r *Redactor) With(values ...[]byte) *Redactor {
	return &Redactor{parent: r, set: scan.Compile(values, r.minLen), mask: r.mask, minLen: r.minLen}
}

// Add makes r mask values too. It is safe to call while r's writers, and
// its children's, run in other goroutines: each writer masks the values
// from its next Write or Flush on, and checks against them the bytes it
// holds back at that moment (see [RedactWriter]); bytes it already wrote
// stay as they were. The values are copied. Each call rebuilds what the
// earlier calls added, so Add is for a few values, not for many calls
// with large ones.
func (r *Redactor) Add(values ...[]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := &extraValues{}
	if old := r.extra.Load(); old != nil {
		next.values = append(next.values, old.values...)
	}
	for _, v := range values {
		if len(v) >= r.minLen {
			next.values = append(next.values, bytes.Clone(v))
		}
	}
	next.set = scan.Compile(next.values, r.minLen)
	r.extra.Store(next)
}

// Redact returns b with every match masked.
func (r *Redactor) Redact(b []byte) []byte {
	var out bytes.Buffer
	w := r.NewWriter(&out)
	w.Write(b)
	w.Flush()
	return out.Bytes()
}

// RedactString returns s with every match masked.
func (r *Redactor) RedactString(s string) string { return string(r.Redact([]byte(s))) }

// Format prints no values.
func (r *Redactor) Format(f fmt.State, _ rune) { io.WriteString(f, "secrets.Redactor") }

// A RedactWriter masks a stream and writes the result to an underlying
// writer. Output passes through in the Write call that brings it, except
// bytes that may still be the start of a value or of one of its forms:
// it holds those back until a later byte rules the match out (they are
// then written at once) or completes it (the mask is written in their
// place), in the Write call that brings the deciding byte. What it holds
// is at most the longest form of a value (six bytes a byte for \u00XX
// escapes, or 32 bytes a byte plus 1 KiB with colour codes or YAML folds
// between its bytes: see Redactor), usually nothing or a few bytes. Flush
// or Close writes what it holds.
//
// It is meant for one stream: it is not safe for concurrent use, except
// that its Redactor's Add may be called at any time.
type RedactWriter struct {
	w      io.Writer
	mask   []byte
	layers []layer
	spans  scan.Spans
	pend   []byte // the bytes from offset base on, held back
	base   int64
	end    int64 // offset just past the last byte given to Write
	// masked is the end of the last span written as a mask (-1 if
	// none). base == masked while nothing was written after that mask;
	// only a release writes bytes a later span may start before.
	masked int64
	err    error
}

// A layer scans for the values of one Redactor of the chain from the
// writer's Redactor to its root: those it was made with, or those added
// to it.
type layer struct {
	r     *Redactor // for added values; nil for the fixed ones
	added *extraValues
	sc    *scan.Scanner // nil if there is nothing to find
}

// Format prints nothing of the bytes held back, which may be the start of
// a value.
func (w *RedactWriter) Format(f fmt.State, _ rune) { io.WriteString(f, "secrets.RedactWriter") }

// NewWriter returns a RedactWriter that writes to w.
func (r *Redactor) NewWriter(w io.Writer) *RedactWriter {
	rw := &RedactWriter{w: w, mask: r.mask, masked: -1}
	for n := r; n != nil; n = n.parent {
		if n.set != nil {
			rw.layers = append(rw.layers, layer{sc: scan.NewScanner(n.set)})
		}
		rw.layers = append(rw.layers, layer{r: n})
	}
	rw.refresh()
	return rw
}

// refresh picks up values added since the last call, and scans for them
// the bytes held back.
func (w *RedactWriter) refresh() {
	for i := range w.layers {
		l := &w.layers[i]
		if l.r == nil {
			continue
		}
		cur := l.r.extra.Load()
		if cur == l.added {
			continue
		}
		l.added, l.sc = cur, nil
		if cur != nil && cur.set != nil {
			l.sc = scan.NewScanner(cur.set)
			l.sc.Scan(w.pend, w.base, &w.spans)
		}
	}
}

// Write masks p and writes what is final. It returns len(p) unless the
// underlying writer fails.
func (w *RedactWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.refresh()
	start := w.end
	for _, l := range w.layers {
		if l.sc != nil {
			l.sc.Scan(p, start, &w.spans)
		}
	}
	w.end += int64(len(p))
	hold := w.end
	for _, l := range w.layers {
		if l.sc != nil {
			hold = l.sc.Hold(hold)
		}
	}
	w.emit(hold, p, start)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush writes everything held back. A value split across the flush point
// is not found, so flush only where a stream ends or pauses for good.
func (w *RedactWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.refresh()
	for _, l := range w.layers {
		if l.sc != nil {
			l.sc.Finish(w.end, &w.spans)
		}
	}
	w.emit(w.end, nil, w.end)
	w.spans.Reset()
	w.masked = -1
	return w.err
}

// release writes the bytes w holds back if the earliest match they may
// still be part of began at most max bytes ago (bytes written by an
// earlier release included), so that a paused stream is not kept
// waiting. Unlike Flush it keeps the scanners' state: if later bytes
// complete the match, the mask is written for the rest of it, and what
// a reader saw of the value is at most the max bytes released. A deeper
// match stays held until it is decided.
func (w *RedactWriter) release(max int64) {
	if w.err != nil || w.base == w.end {
		return
	}
	w.refresh()
	h := w.end
	for _, l := range w.layers {
		if l.sc != nil {
			h = l.sc.Hold(h)
		}
	}
	if w.end-h > max {
		return
	}
	w.emit(w.end, nil, w.end)
}

// Close flushes. It does not close the underlying writer.
func (w *RedactWriter) Close() error { return w.Flush() }

// emit writes the stream up to offset h, and the mask for every span
// that starts before it; the bytes from base to start are in pend, those
// from start on in p. It then keeps in pend the bytes not written.
func (w *RedactWriter) emit(h int64, p []byte, start int64) {
	pendBase := w.base
	// raw writes the stream's bytes from w.base to offset to.
	raw := func(to int64) {
		if w.base < start && w.base < to {
			w.write(w.pend[w.base-pendBase : min(to, start)-pendBase])
		}
		if to > start && to > w.base {
			w.write(p[max(w.base, start)-start : to-start])
		}
		w.base = max(w.base, to)
	}
	for w.err == nil {
		sp, ok := w.spans.First()
		if !ok || sp.Start >= h {
			break
		}
		w.spans.Pop()
		switch {
		case sp.End <= w.base:
			// All of it is written already, as a mask (or released
			// bytes of a match not decided then; see release).
		case w.masked >= 0 && sp.Start <= w.masked && w.base == w.masked:
			// It overlaps or touches the span written as a mask last,
			// and nothing was written after that mask: extend it,
			// silently.
			w.masked, w.base = sp.End, sp.End
		default:
			// The bytes before it, unless a release wrote them and the
			// start of it already: then the mask stands for the rest,
			// even when it touches the mask before the released bytes.
			raw(sp.Start)
			w.write(w.mask)
			w.masked, w.base = sp.End, sp.End
		}
	}
	if w.err == nil && w.base < h {
		raw(h)
	}
	// Keep what is held, at the front of pend.
	if w.base >= start {
		w.pend = append(w.pend[:0], p[min(w.base-start, int64(len(p))):]...)
	} else {
		n := copy(w.pend, w.pend[w.base-pendBase:])
		w.pend = append(w.pend[:n], p...)
	}
}

func (w *RedactWriter) write(b []byte) {
	if len(b) > 0 && w.err == nil {
		_, w.err = w.w.Write(b)
	}
}
