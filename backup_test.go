package secrets_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// backupSource fills ws with one secret of each kind and returns the
// values by name. A deleted secret is not part of it.
func backupSource(t *testing.T, m *secrets.Manager, ws string) map[string]string {
	t.Helper()
	ctx := context.Background()
	day := time.Date(2031, 5, 4, 3, 2, 1, 123456000, time.UTC)
	vals := map[string]string{
		"PLAIN":   "v-plain-1",
		"DATED":   "v-dated-2\nsecond line",
		"HIDDEN":  "v-hidden-3",
		"AS_FILE": "v-file-4",
		"OLD":     "v-expired-5",
		"EMPTY":   "",
	}
	infos := map[string]*secrets.Info{
		"DATED":   {Description: "rotated by ops — ünïcode", Expires: day, RotateBy: day.Add(-time.Hour)},
		"HIDDEN":  {Description: "deploy key", WriteOnly: true},
		"AS_FILE": {File: true, RotateBy: day},
		"OLD":     {Expires: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for name, v := range vals {
		if _, err := m.Set(ctx, ws, name, []byte(v), &secrets.SetOptions{Info: infos[name]}); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(t, m, ws, "PLAIN", "v-plain-1") // a second version: only the current one is kept
	mustSet(t, m, ws, "GONE", "v-gone-6")
	if _, err := m.Delete(ctx, ws, "GONE", nil); err != nil {
		t.Fatal(err)
	}
	return vals
}

// kept is what a restore keeps of a secret: its name and Info.
func kept(ms []secrets.Meta) map[string]secrets.Info {
	out := map[string]secrets.Info{}
	for _, m := range ms {
		out[m.Name] = m.Info
	}
	return out
}

// A backup encrypted to an age recipient restores into another workspace
// every live secret with its description, expiry, rotation date, flags and
// value (write-only ones included); nothing is in the clear in the
// document.
func TestBackupRestoreRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		vals := backupSource(t, m, "src")
		id := mustIdentity(t)
		doc, err := m.Backup(ctx, "src", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if v != "" && (strings.Contains(string(doc), v) || strings.Contains(string(doc), base64.StdEncoding.EncodeToString([]byte(v)))) {
				t.Fatalf("the encrypted backup holds a value in the clear")
			}
		}
		// Every value, the empty one included, is an age file.
		var enc struct{ Secrets []struct{ Value []byte } }
		if err := json.Unmarshal(doc, &enc); err != nil {
			t.Fatal(err)
		}
		for i, s := range enc.Secrets {
			if !bytes.HasPrefix(s.Value, []byte("age-encryption.org/v1\n")) {
				t.Fatalf("secret %d of the encrypted backup is not an age file", i+1)
			}
		}
		if strings.Contains(string(doc), "GONE") {
			t.Fatalf("the backup holds a deleted secret")
		}
		opts := &secrets.RestoreOptions{Identities: []age.Identity{id}}
		plan, err := m.PreviewRestore(ctx, "dst", doc, opts)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(doc)
		want := secrets.RestorePlan{Workspace: "dst", Source: "src", Digest: hex.EncodeToString(sum[:]), Encrypted: true, Added: []string{"AS_FILE", "DATED", "EMPTY", "HIDDEN", "OLD", "PLAIN"},
			Changed: []secrets.RestoreChange{}, Unchanged: []string{}, Removed: []string{}, Skipped: []string{}, Revisions: map[string]int64{}}
		if diff := cmp.Diff(want, plan, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Created" }, cmp.Ignore())); diff != "" {
			t.Fatalf("plan (-want +got):\n%s", diff)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(kept(listAll(t, m, "src")), kept(listAll(t, m, "dst"))); diff != "" {
			t.Fatalf("Info after the restore (-src +dst):\n%s", diff)
		}
		if diff := cmp.Diff(envMap(t, m, "src"), envMap(t, m, "dst")); diff != "" {
			t.Fatalf("values after the restore (-src +dst):\n%s", diff)
		}
		if got := mustGet(t, m, "dst", "OLD"); got != "v-expired-5" {
			t.Fatalf("the expired secret's value: %q", got)
		}
		if _, err := m.Get(ctx, "dst", "HIDDEN"); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("the restored write-only secret is readable: %v", err)
		}
		// Restoring again changes nothing: every secret is unchanged.
		again, err := m.PreviewRestore(ctx, "dst", doc, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Added)+len(again.Removed) != 0 || len(again.Unchanged) != 5 || len(again.Changed) != 1 || again.Changed[0].Name != "HIDDEN" {
			t.Fatalf("second preview: %+v", again)
		}
		// The backup is an export event that lists every secret it holds,
		// the write-only one too (its value is in it, encrypted); the
		// restore one set event.
		ex, err := m.Events(ctx, secrets.EventQuery{Workspace: "src", Action: secrets.ActionExport})
		if err != nil || len(ex) != 1 || len(ex[0].Secrets) != 6 || !slices.ContainsFunc(ex[0].Secrets, func(s secrets.EventSecret) bool { return s.Name == "HIDDEN" && !s.Withheld }) || ex[0].Detail != "backup encrypted to 1 age recipient(s): write-only values included" {
			t.Fatalf("the backup's event: %+v %v", ex, err)
		}
		set, err := m.Events(ctx, secrets.EventQuery{Workspace: "dst", Action: secrets.ActionSet})
		if err != nil || len(set) != 1 || set[0].Detail != fmt.Sprintf("restore: 6 added, 0 changed, 0 unchanged, 0 removed, 0 skipped; a backup that says it is of \"src\", made %s, sha256 %s", plan.Created.UTC().Format(time.RFC3339), plan.Digest[:16]) {
			t.Fatalf("the restore's event: %+v %v", set, err)
		}
	})
}

// Without a recipient the values are in the clear but write-only ones are
// withheld, and a restore must be told to skip them.
func TestBackupWithheld(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		backupSource(t, m, "src")
		doc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(doc), "v-hidden-3") || strings.Contains(string(doc), base64.StdEncoding.EncodeToString([]byte("v-hidden-3"))) {
			t.Fatalf("a write-only value is in the document")
		}
		var parsed struct {
			Secrets []struct {
				Name     string
				Value    []byte
				Withheld bool
			}
		}
		if err := json.Unmarshal(doc, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, s := range parsed.Secrets {
			if (s.Name == "HIDDEN") != s.Withheld || s.Withheld && len(s.Value) != 0 || s.Name == "PLAIN" && string(s.Value) != "v-plain-1" {
				t.Fatalf("secret %s: withheld %v value %q", s.Name, s.Withheld, s.Value)
			}
		}
		// Its event lists every secret, the write-only one marked
		// withheld, as Export's event marks it.
		ex, err := m.Events(ctx, secrets.EventQuery{Workspace: "src", Action: secrets.ActionExport})
		if err != nil || len(ex) != 1 || len(ex[0].Secrets) != 6 {
			t.Fatalf("the backup's event: %+v %v", ex, err)
		}
		for _, es := range ex[0].Secrets {
			if (es.Name == "HIDDEN") != es.Withheld {
				t.Fatalf("the backup's event lists %s withheld %v", es.Name, es.Withheld)
			}
		}
		_, err = m.PreviewRestore(ctx, "dst", doc, nil)
		if !errors.Is(err, secrets.ErrWriteOnly) || !strings.Contains(err.Error(), "HIDDEN") {
			t.Fatalf("a restore that would lose a write-only secret was not refused: %v", err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, &secrets.RestoreOptions{SkipWithheld: true})
		if err != nil || !cmp.Equal(plan.Skipped, []string{"HIDDEN"}) || len(plan.Added) != 5 {
			t.Fatalf("plan %+v %v", plan, err)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, nil); err != nil {
			t.Fatal(err)
		}
		got := envMap(t, m, "dst")
		if _, ok := got["HIDDEN"]; ok || got["DATED"] != "v-dated-2\nsecond line" || len(got) != 5 {
			t.Fatalf("after the restore: %v names", len(got))
		}
	})
}

// A restore into a workspace that has some of the secrets lists what
// differs, field by field, never a value; Remove removes the others; and
// Restore applies exactly the plan or, if the workspace moved, nothing.
func TestRestorePlanAndConflict(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		backupSource(t, m, "src")
		id := mustIdentity(t)
		doc, err := m.Backup(ctx, "src", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
		if err != nil {
			t.Fatal(err)
		}
		opts := &secrets.RestoreOptions{Identities: []age.Identity{id}, Remove: true}
		mustSet(t, m, "dst", "PLAIN", "v-plain-1")
		mustSet(t, m, "dst", "DATED", "v-other-7")
		mustSet(t, m, "dst", "EXTRA", "v-extra-8")
		if _, err := m.SetInfo(ctx, "dst", "PLAIN", secrets.Info{Description: "local"}, nil); err != nil {
			t.Fatal(err)
		}
		plan, err := m.PreviewRestore(ctx, "dst", doc, opts)
		if err != nil {
			t.Fatal(err)
		}
		wantChanged := []secrets.RestoreChange{
			{Name: "DATED", Fields: []string{"value", "description", "expires", "rotate_by"}},
			{Name: "PLAIN", Fields: []string{"description"}},
		}
		if diff := cmp.Diff(wantChanged, plan.Changed); diff != "" || !cmp.Equal(plan.Removed, []string{"EXTRA"}) {
			t.Fatalf("plan %+v (-want +got changed):\n%s", plan, diff)
		}
		b, _ := json.Marshal(plan)
		if strings.Contains(string(b), "v-") {
			t.Fatalf("the plan shows a value: %s", b)
		}
		// Someone edits a secret of the plan: Restore changes nothing.
		mustSet(t, m, "dst", "DATED", "v-meanwhile-9")
		before := listAll(t, m, "dst")
		if _, err := m.Restore(ctx, "dst", doc, plan, opts); !errors.Is(err, secrets.ErrConflict) {
			t.Fatalf("Restore after a change: %v", err)
		}
		if diff := cmp.Diff(before, listAll(t, m, "dst")); diff != "" {
			t.Fatalf("a refused Restore changed the workspace:\n%s", diff)
		}
		if plan, err = m.PreviewRestore(ctx, "dst", doc, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "dst", doc, plan, opts); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(kept(listAll(t, m, "src")), kept(listAll(t, m, "dst"))); diff != "" {
			t.Fatalf("Info after the restore (-src +dst):\n%s", diff)
		}
		if meta, err := m.Meta(ctx, "dst", "EXTRA"); err != nil || meta.Deleted.IsZero() {
			t.Fatalf("EXTRA after a restore with Remove: %+v %v", meta, err)
		}
		if vs, _ := m.Versions(ctx, "dst", "PLAIN"); len(vs) != 1 {
			t.Fatalf("a secret whose value did not change got %d versions", len(vs))
		}
		// A name held by a deleted secret, or spelled otherwise, is taken.
		mustSet(t, m, "other", "plain", "v-x")
		mustSet(t, m, "other", "OLD", "v-y")
		if _, err := m.Delete(ctx, "other", "OLD", nil); err != nil {
			t.Fatal(err)
		}
		var ex *secrets.ExistsError
		if _, err := m.PreviewRestore(ctx, "other", doc, opts); !errors.As(err, &ex) {
			t.Fatalf("restore over another spelling: %v", err)
		}
		if err := m.Destroy(ctx, "other", "plain", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.PreviewRestore(ctx, "other", doc, opts); !errors.As(err, &ex) || !ex.Deleted {
			t.Fatalf("restore over a deleted secret: %v", err)
		}
		// A write-only secret is never made readable by a restore.
		if _, err := m.SetInfo(ctx, "dst", "PLAIN", secrets.Info{WriteOnly: true}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.PreviewRestore(ctx, "dst", doc, opts); !errors.Is(err, secrets.ErrWriteOnly) {
			t.Fatalf("restore over a write-only secret: %v", err)
		}
	})
}

func mustIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A bad document gets a typed error that holds no value, and changes
// nothing.
func TestRestoreBadDocuments(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		mustSet(t, m, "src", "TOKEN", "v-secret-value-1")
		id, other := mustIdentity(t), mustIdentity(t)
		enc, err := m.Backup(ctx, "src", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
		if err != nil {
			t.Fatal(err)
		}
		clearDoc, err := m.Backup(ctx, "src", nil)
		if err != nil {
			t.Fatal(err)
		}
		edit := func(old, new string) []byte {
			if !strings.Contains(string(clearDoc), old) {
				t.Fatalf("no %q in the document", old)
			}
			return []byte(strings.Replace(string(clearDoc), old, new, 1))
		}
		val := `"value": "di1zZWNyZXQtdmFsdWUtMQ=="` // base64 of the value
		cases := []struct {
			name  string
			doc   []byte
			ids   []age.Identity
			max   int64
			class error
		}{
			{"not json", []byte("TOKEN=v-secret-value-1"), nil, 0, secrets.ErrInvalidBackup},
			{"truncated", clearDoc[:len(clearDoc)/2], nil, 0, secrets.ErrInvalidBackup},
			{"trailing data", append(clearDoc, "{}"...), nil, 0, secrets.ErrInvalidBackup},
			{"not a backup", []byte(`{"format":"other","version":1,"encryption":"none","secrets":[]}`), nil, 0, secrets.ErrInvalidBackup},
			{"unknown version", edit(`"version": 2,`, `"version": 3,`), nil, 0, secrets.ErrInvalidBackup},
			{"unknown field", edit(`"name": "TOKEN",`, `"name": "TOKEN", "scope": "prod",`), nil, 0, secrets.ErrInvalidBackup},
			{"wrong type", edit(`"name": "TOKEN"`, `"name": 7`), nil, 0, secrets.ErrInvalidBackup},
			{"bad name", edit(`"name": "TOKEN"`, `"name": "v-secret-value-1 x"`), nil, 0, secrets.ErrInvalidBackup},
			{"reserved name", edit(`"name": "TOKEN"`, `"name": "LD_PRELOAD"`), nil, 0, secrets.ErrInvalidBackup},
			{"NUL in value", edit(val, `"value": "AHYtc2VjcmV0LXZhbHVlLTE="`), nil, 0, secrets.ErrInvalidBackup},
			{"bad base64", edit(val, `"value": "!!v-secret-value-1"`), nil, 0, secrets.ErrInvalidBackup},
			{"twice", edit(`"secrets": [`, `"secrets": [{"name": "token", "version": 1, "value": ""},`), nil, 0, secrets.ErrInvalidBackup},
			{"bad withheld", edit(val, val+`, "withheld": true`), nil, 0, secrets.ErrInvalidBackup},
			{"no identity", enc, nil, 0, secrets.ErrBackupIdentity},
			{"wrong identity", enc, []age.Identity{other}, 0, secrets.ErrBackupIdentity},
			{"damaged age", []byte(strings.Replace(string(enc), `"value": "YWdl`, `"value": "YWdk`, 1)), []age.Identity{id}, 0, secrets.ErrInvalidBackup},
			{"too large", clearDoc, nil, int64(len(clearDoc) - 1), secrets.ErrTooLarge},
		}
		for _, c := range cases {
			opts := &secrets.RestoreOptions{Identities: c.ids, MaxBytes: c.max}
			_, err := m.PreviewRestore(ctx, "dst", c.doc, opts)
			if !errors.Is(err, c.class) {
				t.Errorf("%s: PreviewRestore: %v, want %v", c.name, err, c.class)
			}
			_, err = m.Restore(ctx, "dst", c.doc, secrets.RestorePlan{}, opts)
			if !errors.Is(err, c.class) {
				t.Errorf("%s: Restore: %v, want %v", c.name, err, c.class)
			}
			if err != nil && strings.Contains(err.Error(), "secret-value") {
				t.Errorf("%s: the error shows the value: %v", c.name, err)
			}
		}
		if got := listAll(t, m, "dst"); len(got) != 0 {
			t.Fatalf("bad documents changed the workspace: %v", got)
		}
	})
}

// Backup is authorized as an export, a preview as a diff and Restore as a
// set (and a delete of what it removes); a refusal changes nothing.
func TestBackupRestoreAuthorized(t *testing.T) {
	ctx := context.Background()
	var asked []string
	deny := map[secrets.Action]bool{}
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		asked = append(asked, string(r.Action)+":"+strings.Join(r.Names, ","))
		if deny[r.Action] {
			return errors.New("no")
		}
		return nil
	}})
	mustSet(t, m, "src", "A", "v-a")
	mustSet(t, m, "dst", "B", "v-b")
	asked = nil
	doc, err := m.Backup(ctx, "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := &secrets.RestoreOptions{Remove: true}
	plan, err := m.PreviewRestore(ctx, "dst", doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	deny[secrets.ActionDelete] = true
	if _, err := m.Restore(ctx, "dst", doc, plan, opts); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatalf("Restore with a refused delete: %v", err)
	}
	if got := envMap(t, m, "dst"); !cmp.Equal(got, map[string]string{"B": "v-b"}) {
		t.Fatalf("a refused restore changed the workspace")
	}
	// PreviewRestore asks for the delete of what it would remove before it
	// names it; Restore asks again.
	want := []string{"export:", "diff:A", "delete:B", "set:A", "delete:B"}
	if diff := cmp.Diff(want, asked[:5]); diff != "" {
		t.Fatalf("asked (-want +got):\n%s", diff)
	}
	deny[secrets.ActionExport] = true
	if _, err := m.Backup(ctx, "src", nil); !errors.Is(err, secrets.ErrForbidden) {
		t.Fatalf("a refused backup: %v", err)
	}
}
