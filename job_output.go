package secrets

import (
	"bytes"
	"os"
	"sync"
	"time"
)

// Masks a job adds while it runs (see Job.RuntimeMasks).
const (
	// MaxRuntimeMasks is how many distinct values a job may add with
	// ::add-mask:: lines and its mask file together.
	MaxRuntimeMasks = 256
	// MaxRuntimeMaskBytes is their total size, and the most a single
	// ::add-mask:: line or line of the mask file may hold.
	MaxRuntimeMaskBytes = 64 << 10
	// MaxMaskFileBytes is the most the mask file may hold in all, the
	// lines of values already added counted again: past it the job went
	// over its masks' bounds (a job made a sparse file of 8 GiB of one
	// repeated line, which Run read for a minute after the job ended).
	MaxMaskFileBytes = 1 << 20
	// MaskFileEnv is the variable that gives a job with Job.RuntimeMasks
	// the path of its mask file.
	MaskFileEnv = "SECRETS_MASK_FILE"
)

const (
	// addMask begins a line that adds a mask, as GitHub Actions writes it.
	addMask = "::add-mask::"
	// maskFileName is the mask file's name in the job's folder: not a
	// variable name, so no file secret has it.
	maskFileName = "add-mask"
	// defaultQuiet is how long a stream is silent before what its
	// RedactWriter holds is released (see Job.Quiet).
	defaultQuiet = 50 * time.Millisecond
	// releaseMax is the most bytes of one possible value that a release
	// writes: deeper matches stay held until they are decided.
	releaseMax = 8
	// roundMax bounds what one round reads from one pipe.
	roundMax = 1 << 20
)

// An output reads a job's pipes and writes them through RedactWriters,
// one a pipe, all under one lock: two streams given one writer each
// have their own scanner state, and the writer sees one write at a
// time. A pipe's bytes are written only once every other
// pipe has been read empty after them (a round later), so that a mask
// the job added on one stream, or in its mask file, before it printed a
// value on another applies to that value.
type output struct {
	mu      sync.Mutex
	streams []*stream
	masks   *runtimeMasks // nil unless the job adds masks
	quiet   time.Duration // 0: never release
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup // the releaser
	buf     []byte
}

// A stream is one of the job's output pipes.
type stream struct {
	o     *output
	r     *os.File
	w     *RedactWriter
	done  chan struct{}
	eof   bool
	err   error // of the writer, or ErrTooLarge for too many masks
	panic any
	last  time.Time // when bytes were last read
	fresh []byte    // filtered bytes read in the current round
	prev  []byte    // those of the round before, written at its end
	mid   bool      // inside a line that is not a mask command
	cmd   []byte    // the start of a line that is or may be a mask command
}

func newOutput(masks *runtimeMasks, quiet time.Duration) *output {
	return &output{masks: masks, quiet: quiet, kick: make(chan struct{}, 1), stop: make(chan struct{}), buf: make([]byte, 64<<10)}
}

// add makes a stream of r, written to w.
func (o *output) add(r *os.File, w *RedactWriter) {
	o.streams = append(o.streams, &stream{o: o, r: r, w: w, done: make(chan struct{})})
}

// start starts a goroutine for each stream, and the releaser; finish
// waits for them.
func (o *output) start() {
	for _, s := range o.streams {
		go func() {
			defer close(s.done)
			o.wait(s)
		}()
	}
	if o.quiet > 0 {
		o.wg.Add(1)
		go o.releaser()
	}
}

// pump reads every pipe, round after round, until a round finds nothing,
// and writes each round's bytes at the end of the next. o.mu is held.
func (o *output) pump() {
	for {
		got := false
		for _, s := range o.streams {
			s.prev, s.fresh = s.fresh, s.prev[:0]
			for read := 0; !s.eof && read < roundMax; {
				n, err := readNow(s.r, o.buf)
				if n > 0 {
					read += n
					got = true
					s.last = time.Now()
					o.feed(s, o.buf[:n])
				}
				if err != nil {
					s.eof = true
				}
				if n == 0 {
					break
				}
			}
		}
		if o.masks != nil {
			o.masks.readFile()
			o.checkOver()
		}
		held := false
		for _, s := range o.streams {
			s.write(s.prev)
			held = held || len(s.w.pend) > 0
		}
		if !got {
			if held && o.quiet > 0 {
				select {
				case o.kick <- struct{}{}:
				default:
				}
			}
			return
		}
	}
}

// feed takes bytes read from s: with run-time masks, a line that begins
// with ::add-mask:: adds its value and is dropped; the rest goes to
// s.fresh.
func (o *output) feed(s *stream, b []byte) {
	if o.masks == nil {
		s.fresh = append(s.fresh, b...)
		return
	}
	for len(b) > 0 {
		if s.mid {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				s.fresh = append(s.fresh, b...)
				return
			}
			s.fresh = append(s.fresh, b[:i+1]...)
			b, s.mid = b[i+1:], false
			continue
		}
		if len(s.cmd) < len(addMask) {
			n := min(len(addMask)-len(s.cmd), len(b))
			k := 0
			for k < n && lower(b[k]) == addMask[len(s.cmd)+k] {
				k++
			}
			s.cmd = append(s.cmd, b[:k]...)
			b = b[k:]
			if k < n { // not a command: the line is text
				s.fresh = append(s.fresh, s.cmd...)
				s.cmd, s.mid = s.cmd[:0], true
			}
			continue
		}
		i := bytes.IndexByte(b, '\n')
		part := b
		if i >= 0 {
			part = b[:i]
		}
		if len(s.cmd)-len(addMask)+len(part) > MaxRuntimeMaskBytes {
			o.masks.over = true
			s.cmd = s.cmd[:0]
			s.mid = true // the rest of the line is dropped with the output
			o.checkOver()
			return
		}
		s.cmd = append(s.cmd, part...)
		if i < 0 {
			return
		}
		o.masks.add(unescapeData(bytes.TrimSuffix(s.cmd[len(addMask):], []byte("\r"))))
		s.cmd = s.cmd[:0]
		b = b[i+1:]
		o.checkOver()
	}
}

// checkOver stops all output once the job went over the bounds of its
// masks: a value it could not mask may follow, on any stream.
func (o *output) checkOver() {
	if !o.masks.over {
		return
	}
	for _, s := range o.streams {
		if s.err == nil {
			s.err = errorf(ErrTooLarge, "the job added more than %d masks or %d bytes of them (or wrote over %d bytes to its mask file); its output was stopped",
				MaxRuntimeMasks, MaxRuntimeMaskBytes, MaxMaskFileBytes)
		}
	}
}

// lower is c in lower case if it is an ASCII letter: command names are
// read ignoring case, as GitHub reads them.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unescapeData undoes the escaping of a workflow command's data: %25,
// %0D and %0A (in either case) stand for %, CR and LF.
func unescapeData(b []byte) []byte {
	if bytes.IndexByte(b, '%') < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) {
			switch string(bytes.ToUpper(b[i+1 : i+3])) {
			case "25":
				out, i = append(out, '%'), i+2
				continue
			case "0D":
				out, i = append(out, '\r'), i+2
				continue
			case "0A":
				out, i = append(out, '\n'), i+2
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

// write passes b on, turning a panic of the writer into a recorded value;
// after an error or a panic it drops b.
func (s *stream) write(b []byte) {
	if len(b) == 0 || s.err != nil || s.panic != nil {
		return
	}
	defer s.recover()
	if _, err := s.w.Write(b); err != nil {
		s.err = err
	}
}

func (s *stream) recover() {
	if v := recover(); v != nil {
		s.panic = v
	}
}

// releaser writes what a stream's RedactWriter holds once the stream has
// been silent for o.quiet (see RedactWriter.release). It ends with finish.
func (o *output) releaser() {
	defer o.wg.Done()
	t := time.NewTimer(o.quiet)
	t.Stop()
	for {
		select {
		case <-o.stop:
			t.Stop()
			return
		case <-o.kick:
			t.Reset(o.quiet)
		case <-t.C:
			if next := o.release(); next > 0 {
				t.Reset(next)
			}
		}
	}
}

// release releases the streams silent for o.quiet, and returns how long
// until the next one that holds bytes will have been (0 if none).
func (o *output) release() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	var next time.Duration
	for _, s := range o.streams {
		if len(s.w.pend) == 0 || s.err != nil || s.panic != nil {
			continue
		}
		if wait := o.quiet - now.Sub(s.last); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		func() {
			defer s.recover()
			s.w.release(releaseMax)
			if s.w.err != nil {
				s.err = s.w.err
			}
		}()
	}
	return next
}

// finish stops the releaser, then ends each stream once its pipe is
// drained: a mask command cut off by the end still adds its mask, and
// what the writers hold is flushed. It returns the first panic of a
// writer, and the first error.
func (o *output) finish() (panicked any, err error) {
	close(o.stop)
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.masks != nil {
		for _, s := range o.streams {
			if len(s.cmd) >= len(addMask) {
				o.masks.add(unescapeData(bytes.TrimSuffix(s.cmd[len(addMask):], []byte("\r"))))
				s.cmd = s.cmd[:0]
			}
		}
		o.masks.readFile()
		o.masks.lastLine()
		o.checkOver()
	}
	for _, s := range o.streams {
		s.write(s.fresh) // left by a pump that did not end (a closed pipe)
		s.write(s.cmd)   // the start of ::add-mask:: and no more
		if s.err == nil && s.panic == nil {
			func() {
				defer s.recover()
				s.err = s.w.Flush()
			}()
		}
		if s.panic != nil && panicked == nil {
			panicked = s.panic
		}
		if s.err != nil && err == nil {
			err = s.err
		}
	}
	return panicked, err
}

// runtimeMasks are the values a job adds while it runs, to the job's own
// Redactor, within MaxRuntimeMasks and MaxRuntimeMaskBytes.
type runtimeMasks struct {
	red     *Redactor
	seen    map[string]bool
	n, size int
	over    bool
	file    *os.File // the mask file, or nil
	off     int64    // how much of it was read
	partial []byte   // its last line, not ended yet
}

func newRuntimeMasks(red *Redactor, file *os.File) *runtimeMasks {
	return &runtimeMasks{red: red, seen: map[string]bool{}, file: file}
}

// add masks v from the writers' next Write on. A value shorter than the
// Redactor's minimum length, or added before, changes nothing; one over
// the bounds sets over.
func (m *runtimeMasks) add(v []byte) {
	if m.over || len(v) < m.red.minLen || m.seen[string(v)] {
		return
	}
	if m.n+1 > MaxRuntimeMasks || m.size+len(v) > MaxRuntimeMaskBytes {
		m.over = true
		return
	}
	m.seen[string(v)] = true
	m.n++
	m.size += len(v)
	m.red.Add(v)
}

// readFile adds the values of the lines written to the mask file since it
// was last read; a line not ended yet waits. It reads at most
// MaxMaskFileBytes in all: a file that holds more puts the job over its
// bounds.
func (m *runtimeMasks) readFile() {
	var buf [4096]byte
	for m.file != nil && !m.over {
		if m.off >= MaxMaskFileBytes {
			if n, _ := m.file.ReadAt(buf[:1], m.off); n > 0 {
				m.over = true
			}
			return
		}
		n, err := m.file.ReadAt(buf[:min(len(buf), MaxMaskFileBytes-int(m.off))], m.off)
		m.off += int64(n)
		m.partial = append(m.partial, buf[:n]...)
		for {
			i := bytes.IndexByte(m.partial, '\n')
			if i < 0 {
				break
			}
			m.add(bytes.TrimSuffix(m.partial[:i], []byte("\r")))
			m.partial = m.partial[i+1:]
		}
		if len(m.partial) > MaxRuntimeMaskBytes {
			m.over = true
		}
		if err != nil || n == 0 {
			return
		}
	}
}

// lastLine adds the mask file's last line, which the job did not end.
func (m *runtimeMasks) lastLine() {
	if len(m.partial) > 0 {
		m.add(bytes.TrimSuffix(m.partial, []byte("\r")))
		m.partial = nil
	}
}

// closeAll closes the read ends of the job's pipes: a stream still reading
// ends.
func (o *output) closeAll() {
	for _, s := range o.streams {
		s.r.Close()
	}
}
