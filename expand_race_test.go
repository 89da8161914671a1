package secrets_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dataspace/secrets"
)

// putPause passes every call to a Store but can stop the next Put before
// it is made: the window between a write's checks and its commit.
type putPause struct {
	secrets.Store
	mu             sync.Mutex
	paused, resume chan struct{}
	puts           atomic.Int32
}

// arm makes the next Put wait, after closing paused, until resume is
// called.
func (s *putPause) arm() (paused <-chan struct{}, resume func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused, s.resume = make(chan struct{}), make(chan struct{})
	r := s.resume
	return s.paused, func() { close(r) }
}

func (s *putPause) Put(ctx context.Context, writes ...secrets.Write) error {
	s.puts.Add(1)
	s.mu.Lock()
	paused, resume := s.paused, s.resume
	s.paused, s.resume = nil, nil
	s.mu.Unlock()
	if paused != nil {
		close(paused)
		<-resume
	}
	return s.Store.Put(ctx, writes...)
}

// The save-time cycle check holds across replicas: a Set (or a SetInfo
// turning Expand on, a Rollback or an Undelete bringing a value back)
// paused after its check, while another replica saves a value that
// closes the cycle, checks again and is refused, instead of storing a
// cycle that fails every job of the workspace (the race trial's recipe).
func TestReferencesCycleCheckRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		expand := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
		for _, mode := range []string{"set", "info", "rollback", "undelete"} {
			ps := &putPause{Store: b.replica(t)}
			a, other := newManager(t, ps, c, nil), newManager(t, b.replica(t), c, nil)
			ws := "ws-" + mode
			must := func(_ secrets.Meta, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", ws, err)
				}
			}
			switch mode {
			case "info":
				must(a.Set(ctx, ws, "X", []byte("x-${Y}"), nil)) // not expanded yet
			case "rollback":
				must(a.Set(ctx, ws, "X", []byte("x-${Y}"), expand))
				must(a.Set(ctx, ws, "X", []byte("x"), expand))
			case "undelete":
				must(a.Set(ctx, ws, "X", []byte("x-${Y}"), expand))
				must(a.Delete(ctx, ws, "X", nil))
			}
			paused, resume := ps.arm()
			done := make(chan error, 1)
			go func() {
				var err error
				switch mode {
				case "set":
					_, err = a.Set(ctx, ws, "X", []byte("x-${Y}"), expand)
				case "info":
					_, err = a.SetInfo(ctx, ws, "X", secrets.Info{Expand: true}, nil)
				case "rollback":
					_, err = a.Rollback(ctx, ws, "X", 1, nil)
				case "undelete":
					_, err = a.Undelete(ctx, ws, "X", nil)
				}
				done <- err
			}()
			<-paused
			if _, err := other.Set(ctx, ws, "Y", []byte("y-${X}"), expand); err != nil {
				t.Fatalf("%s: the other replica's Y: %v", ws, err)
			}
			resume()
			var re *secrets.ReferenceError
			if err := <-done; !errors.As(err, &re) || re.Kind != secrets.ReferenceCycle {
				t.Fatalf("%s: the paused write of X: %v, want a cycle refused", ws, err)
			}
			meta, err := other.Meta(ctx, ws, "X")
			var ok bool
			switch mode {
			case "set":
				ok = errors.Is(err, secrets.ErrNotFound)
			case "info":
				ok = err == nil && !meta.Expand
			case "rollback":
				ok = err == nil && meta.Version == 2
			case "undelete":
				ok = err == nil && !meta.Deleted.IsZero() // still deleted
			}
			if !ok {
				t.Fatalf("%s: X after the refusal: %+v, %v", ws, meta, err)
			}
		}
	})
}

// An expanding value without references cannot close a cycle: its write
// is not held to the workspace's state, so another replica's write of an
// unrelated secret meanwhile does not make it read and check again (a
// review: every expanding write retried on any write of a busy
// workspace).
func TestReferencesNoRefsNotHeld(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		c := newCipher(t)
		ps := &putPause{Store: b.replica(t)}
		a, other := newManager(t, ps, c, nil), newManager(t, b.replica(t), c, nil)
		paused, resume := ps.arm()
		done := make(chan error, 1)
		go func() {
			_, err := a.Set(ctx, "ws", "PLAIN", []byte("no references"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}})
			done <- err
		}()
		<-paused
		mustSet(t, other, "ws", "UNRELATED", "unrelated-value")
		resume()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := ps.puts.Load(); n != 1 {
			t.Fatalf("the write was put %d times, want once", n)
		}
	})
}
