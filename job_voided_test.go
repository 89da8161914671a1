package secrets_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// TestJobVoided: a job whose read recorded its inject event but that got
// nothing after all (its files could not be written, its program not
// started) is recorded so: a failed inject event names the read's event,
// which stays; a job that ran and failed is not voided.
func TestJobVoided(t *testing.T) {
	sh := needProgram(t, "sh")
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		m := newManager(t, b.replica(t), newCipher(t), nil)
		mustSet(t, m, "ws", "TOKEN", "v")
		if _, err := m.Set(ctx, "ws", "CERT", []byte("-----CERT-----"), &secrets.SetOptions{Info: &secrets.Info{File: true}}); err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(t.TempDir(), "no", "such", "folder")
		voids := func() []secrets.Event {
			t.Helper()
			evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ws", Action: secrets.ActionInject, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		check := func(what string, call func() error) {
			t.Helper()
			before := len(voids())
			if err := call(); err == nil {
				t.Fatalf("%s: no error", what)
			}
			evs := voids()[before:]
			if len(evs) != 2 || evs[0].Outcome != secrets.OutcomeOK || evs[1].Outcome != secrets.OutcomeFailed ||
				!strings.Contains(evs[1].Detail, fmt.Sprintf("inject event %d, recorded with the read", evs[0].ID)) || !strings.Contains(evs[1].Detail, "it got nothing") {
				t.Fatalf("%s: events %s", what, describeEvents(evs))
			}
		}
		check("Prepare, files in a folder that does not exist", func() error {
			_, err := m.Prepare(ctx, "ws", &secrets.PrepareOptions{Dir: missing})
			return err
		})
		check("Run of a program that does not exist", func() error {
			_, err := m.Run(ctx, "ws", secrets.Job{Path: filepath.Join(missing, "prog"), Stdout: io.Discard})
			return err
		})
		// A job that ran got its secrets, whatever its exit status.
		before := len(voids())
		res, err := m.Run(ctx, "ws", secrets.Job{Path: sh, Args: []string{"-c", "exit 3"}, Stdout: io.Discard})
		if err != nil || res.ExitCode != 3 {
			t.Fatalf("a job that failed: %+v, %v", res, err)
		}
		if evs := voids()[before:]; len(evs) != 1 || evs[0].Outcome != secrets.OutcomeOK {
			t.Fatalf("a job that ran: events %s", describeEvents(evs))
		}
	})
}
