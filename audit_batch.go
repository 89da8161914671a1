package secrets

import (
	"context"
	"errors"
	"sync"
)

// maxBatch bounds the events one Store.Record call of the read batcher
// carries; the callers past it wait for the next flush.
const maxBatch = 256

// A readBatcher group-commits the events of reads that must be durable
// before they return a value: concurrent callers' events share one
// Store.Record call (one multi-row insert and one commit on Postgres).
//
// It has no goroutine of its own. The first caller to arrive while no
// flush is under way leads: it takes every event queued (itself
// included), calls Store.Record once, hands the outcome to each caller of
// the batch, and passes the lead to the first caller queued meanwhile, if
// any, before it returns. So a flush is always run by one of its own
// callers, and the batcher stops with its last caller.
//
// Its zero value is ready to use.
type readBatcher struct {
	mu    sync.Mutex
	queue []*batchWait // waiting for the next flush, oldest first
	busy  bool         // a caller leads (flushing, or told to)
}

// The states of a batchWait.
const (
	waitQueued  = iota // in queue, not yet handed to a batch
	waitLead           // in queue, told to lead the next flush
	waitFlying         // in a batch whose Store.Record runs
	waitSettled        // its batch returned: id and err are set
)

// A batchWait is one caller's event on its way to the Store.
type batchWait struct {
	ctx  context.Context // the caller's, for OnEvent and OnAuditError
	e    Event           // the event handed to the batch; its ID once settled
	wake chan struct{}   // told once: settled, or to lead
	// Guarded by readBatcher.mu.
	state     int
	abandoned bool // the caller stopped waiting while its batch flew
	err       error
}

// recordBatched records e with the events of concurrent callers and
// returns when it is durable (e.ID set, OnEvent told) or could not be
// recorded: then OnAuditError is told and the error matches ErrAudit. A
// caller whose ctx is done stops waiting at once and gets an error that
// matches ctx's; its event is then either not recorded at all (it was
// still queued) or recorded, or not, with its batch, and OnEvent or
// OnAuditError is told as for any other. Its read must fail either way:
// the caller never has a value without its event.
func (m *Manager) recordBatched(ctx context.Context, e *Event) error {
	b := &m.reads
	w := &batchWait{ctx: ctx, e: *e, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	if !b.busy {
		b.busy, w.state = true, waitLead
	}
	lead := w.state == waitLead
	b.mu.Unlock()
	if !lead {
		select {
		case <-w.wake:
		case <-ctx.Done():
		}
		b.mu.Lock()
		switch {
		case w.state == waitSettled:
			b.mu.Unlock()
			err := m.settle(w)
			e.ID = w.e.ID
			if ctx.Err() != nil {
				return wrapf(ctx.Err(), "audit event of a read")
			}
			return err
		case ctx.Err() == nil:
			// Told to lead (a wake is never sent otherwise).
		case w.state == waitFlying:
			w.abandoned = true // its leader settles it
			b.mu.Unlock()
			return wrapf(ctx.Err(), "audit event of a read")
		default: // queued, or told to lead: leave, never recorded
			b.remove(w)
			if w.state == waitLead {
				b.handOn()
			}
			b.mu.Unlock()
			return wrapf(ctx.Err(), "audit event of a read")
		}
		b.mu.Unlock()
	}
	m.flush()
	err := m.settle(w)
	e.ID = w.e.ID
	if ctx.Err() != nil {
		return wrapf(ctx.Err(), "audit event of a read")
	}
	return err
}

// flush is the leader's work: one Store.Record of the queued events (the
// leader's among them), the outcome handed to each, the lead passed on.
// The Store is called without the callers' cancellation (see
// recordContext): once in a batch, an event is recorded or its callers'
// reads fail.
func (m *Manager) flush() {
	b := &m.reads
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	batch := make([]*batchWait, n)
	copy(batch, b.queue)
	b.queue = append(b.queue[:0:0], b.queue[n:]...)
	for _, w := range batch {
		w.state = waitFlying
	}
	b.mu.Unlock()

	events := make([]Event, n)
	ctxs := make([]context.Context, n)
	for i, w := range batch {
		events[i], ctxs[i] = w.e, w.ctx
	}
	// Bounded only once every caller of the batch is gone: one caller's
	// short deadline does not fail the others' reads (a review).
	rctx, done := recordContext(ctxs...)
	err := m.store.Record(rctx, events)
	done()

	var orphans []*batchWait
	b.mu.Lock()
	for i, w := range batch {
		w.e.ID, w.err, w.state = events[i].ID, err, waitSettled
		if w.abandoned {
			orphans = append(orphans, w)
		} else {
			w.wake <- struct{}{}
		}
	}
	b.handOn()
	b.mu.Unlock()
	for _, w := range orphans {
		// OnEvent or OnAuditError for the callers gone; a job's event,
		// recorded though its caller got nothing, is voided.
		if m.settle(w) == nil && w.e.Action == ActionInject {
			m.voided(w.ctx, &w.e, errCallerGone)
		}
	}
}

// errCallerGone is why a job whose caller stopped waiting while its
// event was written got nothing.
var errCallerGone = errors.New("its caller stopped waiting while its event was written")

// handOn tells the first caller queued to lead the next flush, or marks
// the batcher idle. b.mu must be held.
func (b *readBatcher) handOn() {
	if len(b.queue) == 0 {
		b.busy = false
		return
	}
	next := b.queue[0]
	next.state = waitLead
	next.wake <- struct{}{}
}

// remove takes w out of the queue. b.mu must be held.
func (b *readBatcher) remove(w *batchWait) {
	for i, q := range b.queue {
		if q == w {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

// settle tells Config.OnEvent or Config.OnAuditError about w's settled
// event, with its caller's context, as record does.
func (m *Manager) settle(w *batchWait) error {
	if w.err != nil {
		if m.cfg.OnAuditError != nil {
			m.cfg.OnAuditError(w.ctx, []Event{w.e}, w.err)
		}
		return &failure{class: ErrAudit, msg: "audit event not recorded", cause: w.err}
	}
	m.published(w.ctx, w.e)
	return nil
}
