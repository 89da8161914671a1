package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/dataspace/secrets/internal/ahocorasick"
)

// RedactConfig tunes a Redactor. A nil *RedactConfig, and every zero
// field, means the default given with the field.
type RedactConfig struct {
	// MinLength is the shortest value, line or encoding that is masked.
	// Default 6. Shorter ones are left alone, on purpose: masking a
	// two-letter value would mask it wherever those letters occur in
	// ordinary output, and would tell readers which letters the value
	// has. Values this short are weak secrets anyway.
	MinLength int
	// Mask replaces each masked span. Default "***".
	Mask string
}

// A Redactor masks secret values in text. It masks every occurrence of
// each value and of its common encodings:
//
//   - the value itself and, for a multi-line value, each of its lines
//     (without its line ending);
//   - standard and URL-safe base64 of the value, at each of the three
//     alignments the value can have inside a longer base64 text (only the
//     characters that depend on the value alone);
//   - its URL query and path escapings, and its JSON string escaping (with
//     and without HTML escaping).
//
// Overlapping or adjacent matches are masked as one span, so nothing of
// either value shows and one mask stands for the run. Patterns shorter
// than MinLength are not masked.
//
// A text that contains the mask itself can, once masked, show a value
// that contains the mask; values with "*" in them are rare, but choose a
// Mask accordingly.
//
// A Redactor is immutable and safe for concurrent use; each stream needs
// its own [RedactWriter].
type Redactor struct {
	m    *ahocorasick.Matcher
	mask []byte
}

// NewRedactor returns a Redactor for values.
func NewRedactor(values [][]byte, cfg *RedactConfig) *Redactor {
	min, mask := 6, "***"
	if cfg != nil {
		if cfg.MinLength > 0 {
			min = cfg.MinLength
		}
		if cfg.Mask != "" {
			mask = cfg.Mask
		}
	}
	seen := map[string]bool{}
	var patterns [][]byte
	add := func(p []byte) {
		if len(p) >= min && !seen[string(p)] {
			seen[string(p)] = true
			patterns = append(patterns, p)
		}
	}
	for _, v := range values {
		if len(v) < min {
			continue
		}
		add(v)
		if bytes.ContainsAny(v, "\r\n") {
			for _, line := range bytes.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(line)
			}
		}
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			for align := range 3 {
				add(base64Infix(enc, v, align))
			}
		}
		add([]byte(url.QueryEscape(string(v))))
		add([]byte(url.PathEscape(string(v))))
		add(jsonEscape(v, true))
		add(jsonEscape(v, false))
	}
	return &Redactor{m: ahocorasick.New(patterns), mask: []byte(mask)}
}

// base64Infix returns the characters of enc's encoding of v that depend on
// v alone when v starts align bytes into a 3-byte group of a longer text.
func base64Infix(enc *base64.Encoding, v []byte, align int) []byte {
	padded := make([]byte, align+len(v))
	copy(padded[align:], v)
	s := enc.EncodeToString(padded)
	skip := [3]int{0, 2, 3}[align] // characters that involve the bytes before v
	drop := 0                      // the last character mixes v with the bytes after it
	if (align+len(v))%3 != 0 {
		drop = 1
	}
	if skip+drop >= len(s) {
		return nil
	}
	return []byte(s[skip : len(s)-drop])
}

// jsonEscape returns v as it appears inside a JSON string.
func jsonEscape(v []byte, html bool) []byte {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(html)
	if e.Encode(string(v)) != nil {
		return nil
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return b[1 : len(b)-1]
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
// writer. To find a value split across Write calls it holds back at most
// the length of the longest pattern, minus one byte; Flush or Close writes
// what it holds. It is meant for one stream: it is not safe for concurrent
// use.
type RedactWriter struct {
	r     *Redactor
	w     io.Writer
	state ahocorasick.State

	pending []byte // pending[off:] are the bytes from offset base not yet written
	off     int
	base    int64  // stream offset of pending[off]
	end     int64  // stream offset just past pending
	held    []span // merged matches not yet written, by start
	masked  int64  // end of the last span written as a mask; -1 if none
	err     error
}

type span struct{ start, end int64 }

// Format prints nothing of the bytes held back, which may be the start of
// a value.
func (w *RedactWriter) Format(f fmt.State, _ rune) { io.WriteString(f, "secrets.RedactWriter") }

// NewWriter returns a RedactWriter that writes to w.
func (r *Redactor) NewWriter(w io.Writer) *RedactWriter {
	return &RedactWriter{r: r, w: w, masked: -1}
}

// Write masks p and writes what is final. It returns len(p) unless the
// underlying writer fails.
func (w *RedactWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	start := w.end
	w.pending = append(w.pending, p...)
	w.end += int64(len(p))
	w.state = w.r.m.Scan(w.state, p, func(i, n int) {
		e := start + int64(i) + 1
		w.match(e-int64(n), e)
	})
	w.emit(w.end - int64(max(w.r.m.MaxLen()-1, 0)))
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
	w.emit(w.end)
	w.state = 0
	w.masked = -1
	return w.err
}

// Close flushes. It does not close the underlying writer.
func (w *RedactWriter) Close() error { return w.Flush() }

// match records a match [s, e). Matches arrive in order of their ends.
func (w *RedactWriter) match(s, e int64) {
	if w.masked >= 0 && s <= w.masked {
		// Overlaps or touches the span already written as a mask: extend
		// it, silently. Held spans all start after that mask and end by e,
		// so this match covers them.
		if e > w.masked {
			w.masked = e
			w.consume(e)
			w.held = w.held[:0]
		}
		return
	}
	// Merge with the held spans it overlaps or touches (a suffix of them).
	i := len(w.held)
	for i > 0 && w.held[i-1].end >= s {
		i--
		s = min(s, w.held[i].start)
	}
	w.held = append(w.held[:i], span{s, e})
}

// emit makes final everything before stream offset safe (no match found
// later can start before it) and writes it, keeping the rest in pending.
func (w *RedactWriter) emit(safe int64) {
	for w.base < safe && w.err == nil {
		if len(w.held) > 0 && w.held[0].start < safe {
			h := w.held[0]
			w.write(w.pending[w.off : w.off+int(h.start-w.base)])
			w.write(w.r.mask)
			w.masked = h.end
			w.consume(h.end)
			w.held = w.held[1:]
			continue
		}
		w.write(w.pending[w.off : w.off+int(safe-w.base)])
		w.consume(safe)
	}
	// Keep the held-back tail at the front of the buffer, so that it is
	// reused instead of growing.
	n := copy(w.pending, w.pending[w.off:])
	w.pending, w.off = w.pending[:n], 0
}

// consume skips pending bytes before stream offset to.
func (w *RedactWriter) consume(to int64) {
	if to > w.base {
		w.off += int(to - w.base)
		w.base = to
	}
}

func (w *RedactWriter) write(b []byte) {
	if len(b) > 0 && w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func redactorFor(env []string, cfg *RedactConfig) *Redactor {
	values := make([][]byte, len(env))
	for i, kv := range env {
		values[i] = []byte(kv[strings.IndexByte(kv, '=')+1:])
	}
	return NewRedactor(values, cfg)
}
