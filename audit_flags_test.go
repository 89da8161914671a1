package secrets_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dataspace/secrets"
)

// A write that turns a flag bound into the value on or off says so in its
// event's Detail: who unprotected a secret (or made it a file, or
// write-only) is in the trail, not only that it was written (the CLI
// trial's events showed a bare "set").
func TestEventsSayFlagChanges(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		var clock atomic.Int64
		clock.Store(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
		m := newManager(t, b.replica(t), newCipher(t), &secrets.Config{Now: func() time.Time { return time.UnixMicro(clock.Add(1)) }})
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
		var doc []byte
		var restored secrets.RestorePlan
		var at time.Time
		steps = append(steps, []struct {
			what   string
			write  func() error
			detail string
		}{
			{"backed up, then unprotected", func() error {
				var err error
				if doc, err = m.Backup(ctx, "ws", nil); err != nil { // TOK protected
					return err
				}
				clock.Add(int64(time.Minute))
				at = time.UnixMicro(clock.Load())
				clock.Add(int64(time.Minute))
				_, err = m.SetInfo(ctx, "ws", "TOK", secrets.Info{Expand: true}, nil)
				return err
			}, "protected off"},
			// The backup's TOK was protected: restoring it protects TOK
			// again, and the restore's event says which secret.
			{"restored from the backup", func() error {
				var err error
				if restored, err = m.PreviewRestore(ctx, "ws", doc, nil); err != nil {
					return err
				}
				_, err = m.Restore(ctx, "ws", doc, restored, nil)
				return err
			}, "restore: 0 added, 1 changed, 0 unchanged, 0 removed, 0 skipped; a backup that says it is of \"ws\", made %s, sha256 %s; TOK: protected on"},
			{"a new value, unprotected", func() error {
				clock.Add(int64(time.Minute))
				_, err := m.Set(ctx, "ws", "TOK", []byte("value-four"), &secrets.SetOptions{Info: &secrets.Info{Expand: true}})
				return err
			}, "protected off"},
			// At that time, TOK's version was sealed protected.
			{"restored as it was before the first unprotect", func() error {
				plan, err := m.PreviewRestoreAt(ctx, "ws", at)
				if err != nil {
					return err
				}
				_, err = m.RestoreAt(ctx, "ws", plan)
				return err
			}, ""},
			{"made write-only", func() error {
				_, err := m.SetInfo(ctx, "ws", "TOK", secrets.Info{WriteOnly: true, Protected: true}, nil)
				return err
			}, "write-only on, expand off"},
		}...)
		for _, s := range steps {
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			es, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionSet, Newest: true, Limit: 1})
			if err != nil || len(es) != 1 {
				t.Fatalf("%s: events %+v, %v", s.what, es, err)
			}
			want := s.detail
			if s.what == "restored from the backup" {
				want = fmt.Sprintf(want, restored.Created.UTC().Format(time.RFC3339), restored.Digest[:16])
			}
			if s.what == "restored as it was before the first unprotect" {
				want = "restore to " + at.UTC().Format(time.RFC3339Nano) + ": 1 new versions, 0 undeleted, 0 deleted, 0 unchanged, 0 unrestorable; TOK: protected on"
			}
			if es[0].Detail != want {
				t.Errorf("%s: detail %q, want %q", s.what, es[0].Detail, want)
			}
		}
	})
}
