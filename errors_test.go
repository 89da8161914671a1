package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dataspace/secrets"
)

// classes are every refusal class a Manager returns.
var classes = map[string]error{
	"ErrNotFound": secrets.ErrNotFound, "ErrNoVersion": secrets.ErrNoVersion, "ErrConflict": secrets.ErrConflict,
	"ErrExists": secrets.ErrExists, "ErrInvalidName": secrets.ErrInvalidName, "ErrReservedName": secrets.ErrReservedName,
	"ErrInvalidValue": secrets.ErrInvalidValue, "ErrTooLarge": secrets.ErrTooLarge, "ErrInvalidInfo": secrets.ErrInvalidInfo,
	"ErrInvalidWorkspace": secrets.ErrInvalidWorkspace, "ErrInvalidDotenv": secrets.ErrInvalidDotenv,
	"ErrDecrypt": secrets.ErrDecrypt, "ErrMasterKey": secrets.ErrMasterKey, "ErrForbidden": secrets.ErrForbidden,
	"ErrWriteOnly": secrets.ErrWriteOnly, "ErrExpired": secrets.ErrExpired, "ErrAudit": secrets.ErrAudit,
	"ErrIncomplete": secrets.ErrIncomplete, "ErrKeyChanged": secrets.ErrKeyChanged,
	"ErrInvalidActor": secrets.ErrInvalidActor, "ErrInvalidParents": secrets.ErrInvalidParents,
	"ErrInsecureDir": secrets.ErrInsecureDir, "ErrUnavailable": secrets.ErrUnavailable,
	"ErrMigratePrivilege": secrets.ErrMigratePrivilege, "ErrInvalidIdentifier": secrets.ErrInvalidIdentifier,
	"ErrInvalidBackup": secrets.ErrInvalidBackup, "ErrBackupIdentity": secrets.ErrBackupIdentity,
}

// Each refusal matches exactly one class, and its message is one line with
// one "secrets: " prefix, fit to show an editor.
func TestEachRefusalHasOneClass(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{MaxEnvBytes: 200, KeepVersions: 2,
		Expired: secrets.ExpiredRefuse, Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
	mustSet(t, m, "ws", "TOKEN", "v1")
	mustSet(t, m, "ws", "TOKEN", "v2")
	mustSet(t, m, "ws", "TOKEN", "v3")
	if _, err := m.Set(ctx, "ws", "WO", []byte("w"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	mustSet(t, m, "gone", "DELETED", "d")
	if _, err := m.Delete(ctx, "gone", "DELETED", nil); err != nil {
		t.Fatal(err)
	}
	viewer := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
		Authorize: func(context.Context, secrets.Request) error { return secrets.ErrNotFound }, // a host's error of any kind
	})
	expired := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Expired: secrets.ExpiredRefuse})
	past := time.Now().Add(-time.Hour)
	if _, err := expired.Set(ctx, "ws", "OLD", []byte("x"), &secrets.SetOptions{Info: &secrets.Info{Expires: past}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		want error
		err  error
	}{
		{"missing secret", secrets.ErrNotFound, func() error { _, err := m.Get(ctx, "ws", "NOPE"); return err }()},
		{"deleted secret", secrets.ErrNotFound, func() error { _, err := m.Get(ctx, "gone", "DELETED"); return err }()},
		{"pruned version", secrets.ErrNoVersion, func() error { _, err := m.GetVersion(ctx, "ws", "TOKEN", 1); return err }()},
		{"future version", secrets.ErrNoVersion, func() error { _, err := m.GetVersion(ctx, "ws", "TOKEN", 9); return err }()},
		{"stale revision", secrets.ErrConflict, func() error {
			_, err := m.Set(ctx, "ws", "TOKEN", []byte("x"), &secrets.SetOptions{IfRevision: 1})
			return err
		}()},
		{"create-only of an existing name", secrets.ErrExists, func() error {
			_, err := m.Set(ctx, "ws", "TOKEN", []byte("x"), &secrets.SetOptions{IfAbsent: true})
			return err
		}()},
		{"invalid name", secrets.ErrInvalidName, func() error { _, err := m.Set(ctx, "ws", "9X", []byte("x"), nil); return err }()},
		{"denied name", secrets.ErrReservedName, func() error { _, err := m.Set(ctx, "ws", "LD_PRELOAD", []byte("x"), nil); return err }()},
		{"NUL in value", secrets.ErrInvalidValue, func() error { _, err := m.Set(ctx, "ws", "A", []byte("a\x00"), nil); return err }()},
		{"over budget", secrets.ErrTooLarge, func() error { _, err := m.Set(ctx, "ws", "A", []byte(strings.Repeat("x", 300)), nil); return err }()},
		{"long description", secrets.ErrInvalidInfo, func() error {
			_, err := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{Description: strings.Repeat("x", 5000)}, nil)
			return err
		}()},
		{"bad workspace", secrets.ErrInvalidWorkspace, func() error { _, err := m.EnvFor(ctx, ""); return err }()},
		{"bad .env", secrets.ErrInvalidDotenv, func() error { _, err := m.Import(ctx, "ws", []byte("A='x\n"), nil); return err }()},
		{"bad .env name", secrets.ErrInvalidDotenv, func() error { _, err := m.Import(ctx, "ws", []byte("LD_PRELOAD=x\n"), nil); return err }()},
		{"forbidden", secrets.ErrForbidden, func() error { _, err := viewer.Get(ctx, "ws", "TOKEN"); return err }()},
		{"write-only", secrets.ErrWriteOnly, func() error { _, err := m.Get(ctx, "ws", "WO"); return err }()},
		{"expired", secrets.ErrExpired, func() error { _, err := expired.EnvFor(ctx, "ws"); return err }()},
		{"bad actor", secrets.ErrInvalidActor, func() error {
			_, err := m.Get(secrets.WithActor(ctx, "user\x00"), "ws", "TOKEN")
			return err
		}()},
		{"bad backup", secrets.ErrInvalidBackup, func() error {
			_, err := m.PreviewRestore(ctx, "ws", []byte(`{"format":"secrets-backup","version":9}`), nil)
			return err
		}()},
		{"backup identity", secrets.ErrBackupIdentity, func() error {
			id, _ := age.GenerateX25519Identity()
			doc, _ := m.Backup(ctx, "ws", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
			_, err := m.PreviewRestore(ctx, "ws", doc, nil)
			return err
		}()},
		{"bad parents", secrets.ErrInvalidParents, func() error {
			_, err := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{
				Parents: func(context.Context, string) ([]string, error) { return []string{"ws"}, nil }}).EnvFor(ctx, "ws")
			return err
		}()},
	}
	for _, tc := range cases {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		var matched []string
		for name, c := range classes {
			if errors.Is(tc.err, c) {
				matched = append(matched, name)
			}
		}
		if len(matched) != 1 || !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v matches %v", tc.name, tc.err, matched)
		}
		msg := tc.err.Error()
		if strings.ContainsAny(msg, "\n\r") || strings.Count(msg, "secrets:") != 1 || !strings.HasPrefix(msg, "secrets: ") {
			t.Errorf("%s: message %q is not one line with one prefix", tc.name, msg)
		}
	}
}

// A conflict says what the secret is at now.
func TestConflictCarriesCurrentRevision(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "TOKEN", "v1")
	mustSet(t, m, "ws", "TOKEN", "v2")
	cur, _ := m.SetInfo(ctx, "ws", "TOKEN", secrets.Info{Description: "d"}, nil)
	_, err := m.Set(ctx, "ws", "TOKEN", []byte("x"), &secrets.SetOptions{IfRevision: 1})
	var ce *secrets.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("not a *ConflictError: %v", err)
	}
	if ce.Name != "TOKEN" || ce.Seen != 1 || ce.Revision != cur.Revision || ce.Version != 2 || ce.Deleted {
		t.Fatalf("ConflictError %+v, current revision %d", ce, cur.Revision)
	}
	if !strings.Contains(err.Error(), "revision 3") {
		t.Fatalf("message: %v", err)
	}
	if err := m.Destroy(ctx, "ws", "TOKEN", nil); err != nil {
		t.Fatal(err)
	}
	_, err = m.Set(ctx, "ws", "TOKEN", []byte("x"), &secrets.SetOptions{IfRevision: cur.Revision})
	if !errors.As(err, &ce) || ce.Revision != 0 {
		t.Fatalf("write to a destroyed secret from a revision seen: %v", err)
	}
}

// The authorizer is asked before anything is validated: a viewer learns
// nothing of what is wrong with the input, and the refusal is audited.
func TestAuthorizeBeforeValidation(t *testing.T) {
	ctx := secrets.WithActor(context.Background(), "viewer:1")
	s := secrets.NewMemoryStore()
	var asked []secrets.Request
	m := newManager(t, s, newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		asked = append(asked, r)
		if r.Actor == "viewer:1" && r.Action != secrets.ActionList {
			return errors.New("viewers may only list")
		}
		return nil
	}})
	for what, err := range map[string]error{
		"invalid name":  func() error { _, err := m.Set(ctx, "ws", "9 bad", []byte("v"), nil); return err }(),
		"denied name":   func() error { _, err := m.Set(ctx, "ws", "LD_PRELOAD", []byte("v"), nil); return err }(),
		"NUL value":     func() error { _, err := m.Set(ctx, "ws", "A", []byte("\x00"), nil); return err }(),
		"bad .env":      func() error { _, err := m.Import(ctx, "ws", []byte("A=1\nB='unterminated\n"), nil); return err }(),
		"bad .env diff": func() error { _, err := m.Diff(ctx, "ws", []byte("1A=x"), nil); return err }(),
		"bad info":      func() error { _, err := m.SetInfo(ctx, "ws", "A", secrets.Info{Description: "\x00"}, nil); return err }(),
		"bad rename":    func() error { _, err := m.Rename(ctx, "ws", "A", "9X", nil); return err }(),
	} {
		if !errors.Is(err, secrets.ErrForbidden) {
			t.Errorf("%s by a viewer: %v, want ErrForbidden", what, err)
		}
		if strings.Contains(err.Error(), "9 bad") || strings.Contains(err.Error(), "line") {
			t.Errorf("%s: the refusal tells about the input: %v", what, err)
		}
	}
	for _, r := range asked {
		for _, n := range r.Names {
			if n == "9 bad" || n == "1A" || n == "9X" {
				t.Errorf("the authorizer was shown the invalid name %q", n)
			}
		}
	}
	denied, err := m.Events(context.Background(), secrets.EventQuery{Actor: "viewer:1"})
	if err != nil || len(denied) != 7 {
		t.Fatalf("%d denied events, want 7: %v", len(denied), err)
	}
	for _, e := range denied {
		if e.Outcome != secrets.OutcomeDenied {
			t.Errorf("event %s outcome %s", e.Action, e.Outcome)
		}
	}
}
