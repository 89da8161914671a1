// Package keycache is a bounded, expiring cache whose misses are loaded
// once however many callers ask at the same time. The secrets package keeps
// unwrapped workspace keys in it, so that a KMS is called once per workspace
// per cache period rather than once per secret or per caller.
package keycache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// Cache maps keys to values. The zero value is not usable; call New.
type Cache[K comparable, V any] struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu       sync.Mutex
	order    *list.List // of *entry[K, V], most recently used first
	entries  map[K]*list.Element
	inflight map[K]*call[V]
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// New returns a cache of at most size entries (at least 1), each kept for
// at most ttl. now may be nil (time.Now).
func New[K comparable, V any](size int, ttl time.Duration, now func() time.Time) *Cache[K, V] {
	if size < 1 {
		size = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{
		size:     size,
		ttl:      ttl,
		now:      now,
		order:    list.New(),
		entries:  map[K]*list.Element{},
		inflight: map[K]*call[V]{},
	}
}

// Get returns the cached value for k if it is present and fresh.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(k)
}

func (c *Cache[K, V]) getLocked(k K) (V, bool) {
	var zero V
	el, ok := c.entries[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, k)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Load returns the cached value for k, or calls load to get it. Concurrent
// callers that miss on the same key wait for one call of load and share its
// result; a waiter whose ctx ends stops waiting and returns ctx.Err(), and
// a waiter whose loader failed because the loader's own context ended
// (its error matches context.Canceled or context.DeadlineExceeded) loads
// again itself rather than taking that error. An error is not cached.
func (c *Cache[K, V]) Load(ctx context.Context, k K, load func() (V, error)) (V, error) {
	var zero V
	for {
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		c.mu.Lock()
		if v, ok := c.getLocked(k); ok {
			c.mu.Unlock()
			return v, nil
		}
		cl, waiting := c.inflight[k]
		if !waiting {
			break
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-cl.done:
		}
		if cl.err != nil && (errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) {
			continue // the loader gave up, not the load: try again
		}
		return cl.val, cl.err
	}
	cl := &call[V]{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	defer func() {
		c.mu.Lock()
		delete(c.inflight, k)
		if cl.err == nil {
			c.addLocked(k, cl.val)
		}
		c.mu.Unlock()
		close(cl.done)
	}()
	cl.val, cl.err = load()
	return cl.val, cl.err
}

// Add stores v under k, replacing any value there.
func (c *Cache[K, V]) Add(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(k, v)
}

func (c *Cache[K, V]) addLocked(k K, v V) {
	exp := c.now().Add(c.ttl)
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*entry[K, V])
		e.val, e.expires = v, exp
		c.order.MoveToFront(el)
		return
	}
	c.entries[k] = c.order.PushFront(&entry[K, V]{key: k, val: v, expires: exp})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*entry[K, V]).key)
	}
}

// Remove drops k from the cache.
func (c *Cache[K, V]) Remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.order.Remove(el)
		delete(c.entries, k)
	}
}

// Len returns the number of entries, fresh or not yet evicted.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
