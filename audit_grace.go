package secrets

import (
	"context"
	"sync"
	"time"
)

// recordGrace is how long recording an event may go on once the contexts
// of the calls it is for are done.
const recordGrace = 2 * time.Second

// recordContext is the context in which the events of calls with contexts
// ctxs are recorded (one call's, or a batch's: see flush): not done when
// they are done, since the event of a call that failed by its deadline or
// was cancelled is worth recording, but done recordGrace after the last
// of them is, so that a database that does not answer (a commit waiting
// for a synchronous standby that is gone) holds neither the calls nor a
// connection of the pool for good; the Store call then fails and
// OnAuditError is told. A caller of a batch whose context has no end
// keeps it from ending, as before. stop releases it.
func recordContext(ctxs ...context.Context) (rctx context.Context, stop func()) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctxs[0]))
	var (
		mu      sync.Mutex
		pending = len(ctxs)
		stopped bool
		timer   *time.Timer
	)
	unwatch := make([]func() bool, len(ctxs))
	for i, ctx := range ctxs {
		unwatch[i] = context.AfterFunc(ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if pending--; pending == 0 && !stopped {
				timer = time.AfterFunc(recordGrace, cancel)
			}
		})
	}
	return rctx, func() {
		for _, u := range unwatch {
			u()
		}
		mu.Lock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
