package secrets_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/dataspace/secrets"
)

// A hook that refuses a job a secret by its stored name cannot be got
// round by naming it in another case: the hook is told the variables as
// the levels store them, whether the secret is the workspace's, a
// parent's, or of a scope only. A hook that allows it lets the job have
// it.
func TestInjectNamesAsStored(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		refuse := true
		var asked [][]string
		m := newManager(t, s, newCipher(t), &secrets.Config{
			Parents: chain(map[string][]string{"child": {"group"}}),
			Authorize: func(_ context.Context, r secrets.Request) error {
				if r.Action == secrets.ActionInject {
					asked = append(asked, slices.Clone(r.Names))
					if refuse && slices.Contains(r.Names, "DEPLOY_KEY") {
						return errors.New("not DEPLOY_KEY")
					}
				}
				return nil
			}})
		mustSet(t, m, "plain", "DEPLOY_KEY", "deploy-value-1")
		mustSet(t, m, "group", "DEPLOY_KEY", "deploy-value-2")
		mustSet(t, m, "child", "OWN", "own-value")
		mustSet(t, m, "scoped", "DEPLOY_KEY@production", "deploy-value-3")
		for _, c := range []struct {
			ws, env string
		}{{"plain", ""}, {"child", ""}, {"scoped", "production"}} {
			for _, spelling := range []string{"DEPLOY_KEY", "deploy_key", "Deploy_Key"} {
				refuse = true
				opts := &secrets.PrepareOptions{Names: []string{spelling}, Environment: c.env, Base: []string{}}
				if p, err := m.Prepare(ctx, c.ws, opts); !errors.Is(err, secrets.ErrForbidden) {
					if p != nil {
						p.Close()
					}
					t.Fatalf("%s, names %q: %v, want ErrForbidden (asked %q)", c.ws, spelling, err, asked[len(asked)-1])
				}
				refuse = false
				p, err := m.Prepare(ctx, c.ws, opts)
				if err != nil {
					t.Fatalf("%s, names %q, allowed: %v", c.ws, spelling, err)
				}
				if len(p.Env) != 1 {
					t.Fatalf("%s, names %q: %d variables", c.ws, spelling, len(p.Env))
				}
				p.Close()
			}
		}
	})
}

// Prepare asks the hook before it checks the job's names: a refused
// caller gets ErrForbidden whatever it names; an allowed one gets the
// names' own errors.
func TestPrepareAsksFirst(t *testing.T) {
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		Authorize: func(ctx context.Context, r secrets.Request) error {
			if secrets.ActorFrom(ctx) == "user:refused" {
				return errors.New("no")
			}
			return nil
		}})
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", "value-1")
	for name, opts := range map[string]*secrets.PrepareOptions{
		"an invalid name":     {Names: []string{"not a name"}},
		"a scoped name":       {Names: []string{"TOKEN@production"}},
		"no names":            {Names: []string{}},
		"NoSecrets and names": {Names: []string{"TOKEN"}, NoSecrets: true},
	} {
		if _, err := m.Prepare(secrets.WithActor(ctx, "user:refused"), "ws", opts); !errors.Is(err, secrets.ErrForbidden) {
			t.Errorf("%s, refused: %v, want ErrForbidden", name, err)
		}
		if _, err := m.Prepare(secrets.WithActor(ctx, "user:allowed"), "ws", opts); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("%s, allowed: %v, want ErrInvalidName", name, err)
		}
	}
}
