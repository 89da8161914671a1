package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestRestoreAtBigPlan: the plan the preview made of a large workspace
// (10,000 secrets of 60-byte names: 1.3 MB, over the 1 MiB of other
// bodies) comes back to apply and is applied (a data-loss trial: 413);
// a caller who may not diff is still held to the bound of other bodies.
func TestRestoreAtBigPlan(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := secrets.WithActor(context.Background(), editor)
	var b strings.Builder
	name := func(i int) string { return fmt.Sprintf("SERVICE_%s_%05d", strings.Repeat("X", 46), i) }
	for i := range 10_000 {
		fmt.Fprintf(&b, "%s=%s\n", name(i), strings.Repeat("v", 30))
	}
	if _, err := e.m.Import(ctx, ws, []byte(b.String()), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	at := time.Now()
	time.Sleep(10 * time.Millisecond)
	if _, err := e.m.Set(ctx, ws, name(7), []byte("oops-wrong-value"), nil); err != nil {
		t.Fatal(err)
	}
	r := e.do(t, req{actor: editor, method: "POST", path: "/api/restore-at/preview", body: map[string]any{"at": at}}).want(t, 200, "")
	if len(r.body) <= 1<<20 {
		t.Fatalf("the plan takes %d bytes: the test needs one over 1 MiB", len(r.body))
	}
	plan := json.RawMessage(r.body)
	e.do(t, req{actor: viewer, method: "POST", path: "/api/restore-at/apply", body: map[string]any{"plan": plan}}).want(t, 413, "")
	e.do(t, req{actor: editor, method: "POST", path: "/api/restore-at/apply", body: map[string]any{"plan": plan}}).want(t, 200, "")
	if sec, err := e.m.Get(ctx, ws, name(7)); err != nil || string(sec.Value.Reveal()) != strings.Repeat("v", 30) {
		t.Fatalf("after the restore: %v", err)
	}
}
