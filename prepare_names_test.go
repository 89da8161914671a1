package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// TestPrepareNamesNotForThisJob: a job that names a secret none of whose
// scopes applies to it (another environment's, or protected for an
// unprotected job) is refused as one that names a secret no one has, in
// the same words, as is one whose only secret expired (ExpiredOmit): an
// unprotected job cannot tell a protected name from a
// missing one (a differential tester found the words "does not exist"
// loose for a secret that exists).
func TestPrepareNamesNotForThisJob(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Expired: secrets.ExpiredOmit})
	if _, err := m.Set(ctx, "ws", "PROT", []byte("protected-value"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, m, "ws", "STAGE@staging", "staging-value")
	if _, err := m.Set(ctx, "ws", "OLD", []byte("expired-value"), &secrets.SetOptions{Info: &secrets.Info{Expires: time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	words := map[string]string{}
	for _, n := range []string{"PROT", "STAGE", "OLD", "NOWHERE"} {
		_, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{n}, Environment: "production"})
		if !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("a job naming %s: %v, want ErrNotFound", n, err)
		}
		words[n] = strings.ReplaceAll(err.Error(), n, "NAME")
	}
	if words["PROT"] != words["NOWHERE"] || words["STAGE"] != words["NOWHERE"] || words["OLD"] != words["NOWHERE"] {
		t.Fatalf("the refusals differ: %q", words)
	}
	job, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Names: []string{"PROT"}, Environment: "production", Protected: true})
	if err != nil {
		t.Fatalf("a protected job naming PROT: %v", err)
	}
	job.Close()
}
