package secrets_test

import (
	"context"
	"testing"

	"github.com/dataspace/secrets"
)

// A write that turns a flag bound into the value on or off says so in its
// event's Detail: who unprotected a secret (or made it a file, or
// write-only) is in the trail, not only that it was written (the CLI
// trial's events showed a bare "set").
func TestEventsSayFlagChanges(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), nil)
		steps := []struct {
			what   string
			write  func() error
			detail string
		}{
			{"a new protected secret", func() error {
				_, err := m.Set(ctx, "ws", "TOK", []byte("value-one"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}})
				return err
			}, ""},
			{"a new value, same flags", func() error {
				_, err := m.Set(ctx, "ws", "TOK", []byte("value-two"), nil)
				return err
			}, ""},
			{"unprotected by SetInfo", func() error {
				_, err := m.SetInfo(ctx, "ws", "TOK", secrets.Info{Description: "d"}, nil)
				return err
			}, "protected off"},
			{"a file, expanded", func() error {
				_, err := m.SetInfo(ctx, "ws", "TOK", secrets.Info{File: true, Expand: true}, nil)
				return err
			}, "file on, expand on"},
			{"protected again by Set, not a file", func() error {
				_, err := m.Set(ctx, "ws", "TOK", []byte("value-three"), &secrets.SetOptions{Info: &secrets.Info{Protected: true, Expand: true}})
				return err
			}, "protected on, file off"},
			{"a description only", func() error {
				_, err := m.SetInfo(ctx, "ws", "TOK", secrets.Info{Protected: true, Expand: true, Description: "e"}, nil)
				return err
			}, ""},
			{"unprotected again", func() error {
				_, err := m.SetInfo(ctx, "ws", "TOK", secrets.Info{Expand: true}, nil)
				return err
			}, "protected off"},
			// Version 1 was sealed protected: the Rollback protects the
			// secret again.
			{"rolled back to version 1", func() error {
				_, err := m.Rollback(ctx, "ws", "TOK", 1, nil)
				return err
			}, "rolled back to version 1; protected on"},
		}
		for _, s := range steps {
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionSet, Newest: true, Limit: 1})
			if err != nil || len(es) != 1 {
				t.Fatalf("%s: events %+v, %v", s.what, es, err)
			}
			if es[0].Detail != s.detail {
				t.Errorf("%s: detail %q, want %q", s.what, es[0].Detail, s.detail)
			}
		}
	})
}
