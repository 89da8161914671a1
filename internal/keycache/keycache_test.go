package keycache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLRUAndTTL(t *testing.T) {
	now := time.Unix(0, 0)
	c := New[string, int](2, time.Minute, func() time.Time { return now })
	c.Add("a", 1)
	c.Add("b", 2)
	if _, ok := c.Get("a"); !ok { // a is now most recent
		t.Fatal("a missing")
	}
	c.Add("c", 3) // evicts b
	if _, ok := c.Get("b"); ok {
		t.Fatal("b survived eviction")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a = %d, %v", v, ok)
	}
	now = now.Add(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a survived its TTL")
	}
	if c.Len() != 1 {
		t.Fatalf("Len %d after expiry of a, want 1 (c)", c.Len())
	}
	c.Remove("c")
	if _, ok := c.Get("c"); ok {
		t.Fatal("c survived Remove")
	}
}

func TestLoadOnceAndErrorsNotCached(t *testing.T) {
	c := New[string, int](4, time.Hour, nil)
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Load(context.Background(), "k", func() (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("Load = %d, %v", v, err)
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("load called %d times, want 1", calls.Load())
	}
	boom := errors.New("boom")
	if _, err := c.Load(context.Background(), "e", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v, err := c.Load(context.Background(), "e", func() (int, error) { return 7, nil }); err != nil || v != 7 {
		t.Fatalf("after an error, Load = %d, %v; the error was cached", v, err)
	}
}

// A waiter with a short deadline returns its own context's error at its
// deadline, not after the loader, and not the loader's error.
func TestWaiterHonoursItsContext(t *testing.T) {
	c := New[string, int](4, time.Hour, nil)
	release := make(chan struct{})
	started := make(chan struct{})
	loaderCtx, cancelLoader := context.WithCancel(context.Background())
	loaded := make(chan error, 1)
	go func() {
		_, err := c.Load(loaderCtx, "k", func() (int, error) {
			close(started)
			select {
			case <-release:
				return 1, nil
			case <-loaderCtx.Done():
				return 0, loaderCtx.Err()
			}
		})
		loaded <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.Load(ctx, "k", func() (int, error) { t.Error("a waiter loaded"); return 0, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter got %v, want its own deadline", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("waiter returned after %v, behind the loader", d)
	}
	// The loader's context ends: a waiter with a live context loads
	// itself and gets the value, not the loader's context.Canceled.
	waiter := make(chan int, 1)
	go func() {
		v, err := c.Load(context.Background(), "k", func() (int, error) { return 2, nil })
		if err != nil {
			t.Errorf("second waiter: %v", err)
		}
		waiter <- v
	}()
	for {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // let the waiter block on the call
	cancelLoader()
	if err := <-loaded; !errors.Is(err, context.Canceled) {
		t.Fatalf("loader: %v", err)
	}
	if v := <-waiter; v != 2 {
		t.Fatalf("second waiter got %d, want its own load (2)", v)
	}
	close(release)
}
