package secrets_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dataspace/secrets"
)

// TestRedactWith: a child masks its parent's values and its own; the
// parent, and a sibling, do not mask the child's.
func TestRedactWith(t *testing.T) {
	base := secrets.NewRedactor([][]byte{[]byte("workspace-secret")}, &secrets.RedactConfig{Mask: "[x]"})
	jobA := base.With([]byte("job-a-token-123"))
	jobB := base.With([]byte("job-b-token-456"))
	text := "workspace-secret job-a-token-123 job-b-token-456"
	for r, want := range map[*secrets.Redactor]string{
		base: "[x] job-a-token-123 job-b-token-456",
		jobA: "[x] [x] job-b-token-456",
		jobB: "[x] job-a-token-123 [x]",
	} {
		if got := r.RedactString(text); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// Added to the parent later: the children mask it too.
	base.Add([]byte("rotated-secret"))
	if got := jobA.RedactString("rotated-secret job-a-token-123"); got != "[x] [x]" {
		t.Errorf("a value added to the parent: %q", got)
	}
	// A grandchild sees all three levels.
	if got := jobA.With([]byte("step-token-789")).RedactString("workspace-secret job-a-token-123 step-token-789"); got != "[x] [x] [x]" {
		t.Errorf("grandchild: %q", got)
	}
}

// TestRedactAddWhileWriting: a value added while a writer runs is masked
// from the writer's next Write on, also in the bytes it held back at the
// time of the Add; bytes already written stay as they were.
func TestRedactAddWhileWriting(t *testing.T) {
	base := secrets.NewRedactor([][]byte{[]byte("zz-token-AAAA-BBBB")}, nil)
	job := base.With()
	var out bytes.Buffer
	w := job.NewWriter(&out)
	w.Write([]byte("late-token-1 and zz-token-AAAA-")) // the end may start the base value
	if out.String() != "late-token-1 and " {
		t.Fatalf("written %q", out.String())
	}
	job.Add([]byte("token-AAAA"), []byte("late-token-1"))
	w.Write([]byte("CCCC late-token-1\n"))
	w.Close()
	if want := "late-token-1 and zz-***-CCCC ***\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	// The base and its other children are unchanged.
	if got := base.RedactString("token-AAAA late-token-1"); got != "token-AAAA late-token-1" {
		t.Fatalf("the parent masks its child's values: %q", got)
	}
}

// TestRedactAddConcurrent: values are added while writers of the same
// Redactor run in other goroutines (run with -race); once Add returns, a
// writer's next Write masks the value.
func TestRedactAddConcurrent(t *testing.T) {
	job := secrets.NewRedactor([][]byte{[]byte("first-secret")}, nil).With()
	var wg sync.WaitGroup
	start := make(chan struct{})
	var added sync.WaitGroup
	added.Add(1)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			w := job.NewWriter(&out)
			<-start
			for i := range 200 {
				fmt.Fprintf(w, "goroutine %d line %d first-secret added-secret-%d\n", g, i, i%3)
			}
			added.Wait()
			fmt.Fprintf(w, "after: added-secret-0 added-secret-1 added-secret-2\n")
			w.Close()
			if strings.Contains(out.String(), "first-secret") {
				t.Errorf("goroutine %d: a value shows", g)
			}
			last := out.String()[strings.LastIndex(strings.TrimSuffix(out.String(), "\n"), "\n")+1:]
			if last != "after: *** *** ***\n" {
				t.Errorf("goroutine %d: after Add: %q", g, last)
			}
		}()
	}
	close(start)
	for i := range 3 {
		job.Add([]byte(fmt.Sprintf("added-secret-%d", i)))
	}
	added.Done()
	wg.Wait()
}
