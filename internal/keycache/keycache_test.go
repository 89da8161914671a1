package keycache

import (
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
			v, err := c.Load("k", func() (int, error) {
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
	if _, err := c.Load("e", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v, err := c.Load("e", func() (int, error) { return 7, nil }); err != nil || v != 7 {
		t.Fatalf("after an error, Load = %d, %v; the error was cached", v, err)
	}
}
