package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// TestPostgresRetriesTransientFailures: a serialization failure or a
// deadlock (made here by a trigger that raises one, once, where a real
// one would come from) is retried inside the store, for writes and for
// audited reads: the caller sees success, and the write and its event
// happen once.
func TestPostgresRetriesTransientFailures(t *testing.T) {
	for _, code := range secrets.TransientSQLStates {
		t.Run(code, func(t *testing.T) {
			db := pgDB(t)
			s := newPGStore(t, db)
			m := newManager(t, s, newCipher(t), nil)
			ctx := context.Background()
			mustSet(t, m, "ws", "TOKEN", "first-value")
			sch := pq.QuoteIdentifier(s.Schema())
			// Every audit insert (a write's event and an injection's) fails
			// once with code, then passes: the sequence is not rolled back.
			for _, q := range []string{
				`CREATE SEQUENCE ` + sch + `.failures`,
				`CREATE FUNCTION ` + sch + `.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF nextval('` + sch + `.failures') % 2 = 1 THEN
						RAISE EXCEPTION 'injected transient failure' USING ERRCODE = '` + code + `';
					END IF;
					RETURN NEW;
				END $$`,
				`CREATE TRIGGER fail_once BEFORE INSERT ON ` + sch + `.audit FOR EACH ROW EXECUTE FUNCTION ` + sch + `.fail_once()`,
			} {
				db.MustExec(q)
			}
			meta, err := m.Set(ctx, "ws", "TOKEN", []byte("second-value"), &secrets.SetOptions{IfRevision: 1})
			if err != nil || meta.Version != 2 {
				t.Fatalf("Set through a %s: %+v %v", code, meta, err)
			}
			env, err := m.EnvFor(ctx, "ws")
			if err != nil || len(env) != 1 || env[0] != "TOKEN=second-value" {
				t.Fatalf("EnvFor through a %s: %v", code, err)
			}
			var failures int
			db.Get(&failures, `SELECT last_value FROM `+sch+`.failures`)
			if failures != 4 {
				t.Fatalf("%d audit inserts tried, want 4 (two failed, two retried)", failures)
			}
			events := mustEvents(t, m)
			sets, injects := 0, 0
			for _, e := range events {
				switch {
				case e.Action == secrets.ActionSet && e.Outcome == secrets.OutcomeOK:
					sets++
				case e.Action == secrets.ActionInject:
					injects++
				}
			}
			if sets != 2 || injects != 1 {
				t.Fatalf("events: %d sets, %d injects: %+v", sets, injects, events)
			}
		})
	}
}

// TestPostgresPartialRestore: a versions table restored from a later
// backup than the secrets table holds a version the secret does not know
// yet. A Set then fails at once with an error that says so, changing
// nothing; it is not a taken name, nor a race to retry.
func TestPostgresPartialRestore(t *testing.T) {
	db := pgDB(t)
	s := newPGStore(t, db)
	puts := &putCounter{Store: s}
	m := newManager(t, puts, newCipher(t), nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", "first-value")
	sch := pq.QuoteIdentifier(s.Schema())
	db.MustExec(`INSERT INTO ` + sch + `.versions SELECT workspace, secret_id, 2, name, flags, format, ciphertext, key_id, env_size, fingerprint, written, written_by
		FROM ` + sch + `.versions WHERE workspace = 'ws' AND version = 1`)
	start := time.Now()
	_, err := m.Set(ctx, "ws", "TOKEN", []byte("second-value"), nil)
	if err == nil || errors.Is(err, secrets.ErrExists) || errors.Is(err, secrets.ErrConflict) || puts.n.Load() != 2 {
		t.Fatalf("Set over a restored version: %v after %d writes in %v", err, puts.n.Load(), time.Since(start))
	}
	t.Logf("Set over a restored version: %v", err)
	if !strings.Contains(err.Error(), "version") || strings.Contains(err.Error(), "second-value") {
		t.Fatalf("the error does not say what is wrong: %v", err)
	}
	if got := mustGet(t, m, "ws", "TOKEN"); got != "first-value" {
		t.Fatalf("TOKEN holds %q", got)
	}
}
