package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

// editDoc decodes a backup document as generic JSON, lets edit change its
// secrets (by name) and top-level fields, and encodes it again.
func editDoc(t *testing.T, doc []byte, edit func(top map[string]any, byName map[string]map[string]any)) []byte {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(doc, &top); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, s := range top["secrets"].([]any) {
		s := s.(map[string]any)
		byName[s["name"].(string)] = s
	}
	edit(top, byName)
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An encrypted backup binds each value to its secret: someone who can edit
// the document but holds no identity can neither move a value to another
// name, scope or document nor clear or set a flag (write-only, protected,
// file, expand), nor change a description, expiry or rotation date. Each
// edit is refused with ErrInvalidBackup, into the source workspace and
// into a fresh one, and changes nothing; the unedited document restores.
func TestBackupBindsValues(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		set := func(name, value string, info *secrets.Info) {
			if _, err := m.Set(ctx, "b1", name, []byte(value), &secrets.SetOptions{Info: info}); err != nil {
				t.Fatal(err)
			}
		}
		set("WO", "write-only-canary", &secrets.Info{WriteOnly: true})
		set("PUB", "public-value", nil)
		set("PROT@production", "protected-canary", &secrets.Info{Protected: true})
		later := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
		set("AS_FILE", "file-value", &secrets.Info{File: true, Description: "the deploy kubeconfig", Expires: later, RotateBy: later.Add(-time.Hour)})
		set("EXP", "expand-${PUB}", &secrets.Info{Expand: true})
		id := mustIdentity(t)
		opts := &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}}
		doc, err := m.Backup(ctx, "b1", opts)
		if err != nil {
			t.Fatal(err)
		}
		mustSet(t, m, "b9", "PUB", "other-value")
		otherDoc, err := m.Backup(ctx, "b9", opts)
		if err != nil {
			t.Fatal(err)
		}
		var other map[string]any
		if err := json.Unmarshal(otherDoc, &other); err != nil {
			t.Fatal(err)
		}
		// A second backup of b1 itself: same container, another time.
		second, err := m.Backup(ctx, "b1", opts)
		if err != nil {
			t.Fatal(err)
		}
		var laterDoc map[string]any
		if err := json.Unmarshal(second, &laterDoc); err != nil {
			t.Fatal(err)
		}
		valueOf := func(d map[string]any, name string) any {
			for _, s := range d["secrets"].([]any) {
				if s := s.(map[string]any); s["name"] == name {
					return s["value"]
				}
			}
			t.Fatalf("no %s in the document", name)
			return nil
		}
		cases := map[string]func(top map[string]any, by map[string]map[string]any){
			"values swapped": func(_ map[string]any, by map[string]map[string]any) {
				by["WO"]["value"], by["PUB"]["value"] = by["PUB"]["value"], by["WO"]["value"]
			},
			"write-only cleared": func(_ map[string]any, by map[string]map[string]any) { delete(by["WO"], "write_only") },
			"protected cleared":  func(_ map[string]any, by map[string]map[string]any) { delete(by["PROT@production"], "protected") },
			"file cleared":       func(_ map[string]any, by map[string]map[string]any) { delete(by["AS_FILE"], "file") },
			"expand set":         func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["expand"] = true },
			"write-only set":     func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["write_only"] = true },
			"protected set":      func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["protected"] = true },
			"file set":           func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["file"] = true },
			"scope removed":      func(_ map[string]any, by map[string]map[string]any) { by["PROT@production"]["name"] = "PROT" },
			"scope added":        func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["name"] = "PUB@production" },
			"scope changed":      func(_ map[string]any, by map[string]map[string]any) { by["PROT@production"]["name"] = "PROT@staging" },
			"renamed":            func(_ map[string]any, by map[string]map[string]any) { by["WO"]["name"] = "SHOWN" },
			"container changed":  func(top map[string]any, _ map[string]map[string]any) { top["container"] = "b9" },
			"created changed":    func(top map[string]any, _ map[string]map[string]any) { top["created"] = "2020-01-01T00:00:00Z" },
			// Info besides the flags: an expiry in the past would have
			// restore and jobs skip the secret as expired.
			"description changed": func(_ map[string]any, by map[string]map[string]any) {
				by["AS_FILE"]["description"] = "harmless, delete me"
			},
			"description cleared": func(_ map[string]any, by map[string]map[string]any) { delete(by["AS_FILE"], "description") },
			"description added":   func(_ map[string]any, by map[string]map[string]any) { by["WO"]["description"] = "not secret" },
			"expiry made past": func(_ map[string]any, by map[string]map[string]any) {
				by["AS_FILE"]["expires"] = "2000-01-01T00:00:00Z"
			},
			"expiry cleared": func(_ map[string]any, by map[string]map[string]any) { delete(by["AS_FILE"], "expires") },
			"expiry added":   func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["expires"] = "2000-01-01T00:00:00Z" },
			"rotate_by changed": func(_ map[string]any, by map[string]map[string]any) {
				by["AS_FILE"]["rotate_by"] = later.Add(time.Hour).Format(time.RFC3339)
			},
			"rotate_by cleared": func(_ map[string]any, by map[string]map[string]any) { delete(by["AS_FILE"], "rotate_by") },
			"rotate_by added":   func(_ map[string]any, by map[string]map[string]any) { by["PUB"]["rotate_by"] = "2000-01-01T00:00:00Z" },
			"value of another workspace": func(_ map[string]any, by map[string]map[string]any) {
				by["PUB"]["value"] = valueOf(other, "PUB")
			},
			"value of another backup": func(_ map[string]any, by map[string]map[string]any) {
				by["PUB"]["value"] = valueOf(laterDoc, "PUB")
			},
		}
		ropts := &secrets.RestoreOptions{Identities: []age.Identity{id}}
		for name, edit := range cases {
			bad := editDoc(t, doc, edit)
			if bytes.Equal(bad, editDoc(t, doc, func(map[string]any, map[string]map[string]any) {})) {
				t.Fatalf("%s: the edit changed nothing", name)
			}
			for _, ws := range []string{"b1", "fresh"} {
				before := listAll(t, m, ws)
				_, err := m.PreviewRestore(ctx, ws, bad, ropts)
				if !errors.Is(err, secrets.ErrInvalidBackup) {
					t.Errorf("%s into %s: PreviewRestore: %v, want ErrInvalidBackup", name, ws, err)
				}
				_, err = m.Restore(ctx, ws, bad, secrets.RestorePlan{}, ropts)
				if !errors.Is(err, secrets.ErrInvalidBackup) {
					t.Errorf("%s into %s: Restore: %v, want ErrInvalidBackup", name, ws, err)
				}
				if err != nil && (strings.Contains(err.Error(), "canary") || strings.Contains(err.Error(), "-value")) {
					t.Errorf("%s: the error shows a value: %v", name, err)
				}
				if d := cmp.Diff(before, listAll(t, m, ws)); d != "" {
					t.Errorf("%s into %s: the workspace changed (-before +after):\n%s", name, ws, d)
				}
			}
		}
		plan, err := m.PreviewRestore(ctx, "fresh", doc, ropts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Restore(ctx, "fresh", doc, plan, ropts); err != nil {
			t.Fatal(err)
		}
		got := kept(listAll(t, m, "fresh"))
		if !got["WO"].WriteOnly || !got["PROT@production"].Protected || !got["AS_FILE"].File || !got["EXP"].Expand || len(got) != 5 {
			t.Fatalf("the unedited document restored %+v", got)
		}
		if f := got["AS_FILE"]; f.Description != "the deploy kubeconfig" || !f.Expires.Equal(later) || !f.RotateBy.Equal(later.Add(-time.Hour)) {
			t.Fatalf("the unedited document restored AS_FILE's info as %+v", f)
		}
		env, err := m.EnvFor(ctx, "fresh")
		if err != nil {
			t.Fatal(err)
		}
		if !hasEnv(env, "PUB=public-value") || !hasEnv(env, "EXP=expand-public-value") || !hasEnv(env, "WO=write-only-canary") || hasEnv(env, "PROT=protected-canary") {
			t.Fatalf("the restored workspace's job got the wrong values")
		}
	})
}

// hasEnv reports whether env holds the variable kv.
func hasEnv(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

// An encrypted document of version 1 (its values encrypted alone) is
// refused unless RestoreOptions.TrustVersion1 says it was kept where no one
// could edit it; an unencrypted one of version 1 restores as before.
func TestBackupVersion1(t *testing.T) {
	ctx := context.Background()
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	id := mustIdentity(t)
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("v1-secret-value")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	v1 := func(encryption string, value []byte) []byte {
		doc, err := json.Marshal(map[string]any{"format": "secrets-backup", "version": 1, "container": "old",
			"created": "2026-11-01T00:00:00Z", "encryption": encryption,
			"secrets": []map[string]any{{"name": "TOKEN", "version": 4, "value": value}}})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	enc := v1("age", sealed.Bytes())
	ropts := &secrets.RestoreOptions{Identities: []age.Identity{id}}
	if _, err := m.PreviewRestore(ctx, "ws", enc, ropts); !errors.Is(err, secrets.ErrInvalidBackup) || !strings.Contains(err.Error(), "TrustVersion1") {
		t.Fatalf("an encrypted version-1 document: %v, want ErrInvalidBackup naming TrustVersion1", err)
	}
	if _, err := m.Restore(ctx, "ws", enc, secrets.RestorePlan{}, ropts); !errors.Is(err, secrets.ErrInvalidBackup) {
		t.Fatalf("Restore of an encrypted version-1 document: %v, want ErrInvalidBackup", err)
	}
	if got := listAll(t, m, "ws"); len(got) != 0 {
		t.Fatalf("a refused document changed the workspace: %v", got)
	}
	ropts.TrustVersion1 = true
	plan, err := m.PreviewRestore(ctx, "ws", enc, ropts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, "ws", enc, plan, ropts); err != nil {
		t.Fatal(err)
	}
	if v, err := m.Get(ctx, "ws", "TOKEN"); err != nil || string(v.Value.Reveal()) != "v1-secret-value" {
		t.Fatalf("Get after a trusted version-1 restore: %v", err)
	}
	// A version-2 document whose version was edited to 1, so that restore
	// would skip the headers' check: refused even with TrustVersion1.
	if _, err := m.Set(ctx, "src", "WO", []byte("wo-canary-value"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	v2, err := m.Backup(ctx, "src", &secrets.BackupOptions{Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	downgraded := editDoc(t, v2, func(top map[string]any, by map[string]map[string]any) {
		top["version"] = 1
		delete(by["WO"], "write_only")
	})
	if _, err := m.PreviewRestore(ctx, "ws3", downgraded, ropts); !errors.Is(err, secrets.ErrInvalidBackup) || !strings.Contains(err.Error(), "version was edited") {
		t.Fatalf("a version-2 document edited to version 1: %v, want ErrInvalidBackup", err)
	}
	clearDoc := v1("none", []byte("v1-clear-value"))
	plan, err = m.PreviewRestore(ctx, "ws2", clearDoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Restore(ctx, "ws2", clearDoc, plan, nil); err != nil {
		t.Fatal(err)
	}
	if v, err := m.Get(ctx, "ws2", "TOKEN"); err != nil || string(v.Value.Reveal()) != "v1-clear-value" {
		t.Fatalf("Get after an unencrypted version-1 restore: %v", err)
	}
}

// A Backup with recipients of a workspace that holds write-only secrets
// is asked as ActionExportWriteOnly too, with their names: the caller
// chooses the recipients, so whoever may do it can read those values. A
// refusal gives no document and is recorded; a backup without recipients
// (write-only values withheld) or of a workspace without write-only
// secrets is not asked.
func TestBackupWriteOnlyAuthorized(t *testing.T) {
	ctx := context.Background()
	var asked []string
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), &secrets.Config{Authorize: func(_ context.Context, r secrets.Request) error {
		asked = append(asked, string(r.Action)+":"+strings.Join(r.Names, ","))
		if r.Action == secrets.ActionExportWriteOnly {
			return errors.New("operators only")
		}
		return nil
	}})
	mustSet(t, m, "plain", "A", "v-a")
	mustSet(t, m, "wo", "A", "v-a")
	if _, err := m.Set(ctx, "wo", "HIDDEN", []byte("hidden-canary"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	opts := &secrets.BackupOptions{Recipients: []age.Recipient{mustIdentity(t).Recipient()}}
	asked = nil
	doc, err := m.Backup(ctx, "wo", opts)
	if !errors.Is(err, secrets.ErrForbidden) || doc != nil {
		t.Fatalf("an encrypted backup with a write-only secret, export-write-only refused: %v, %d bytes", err, len(doc))
	}
	if want := []string{"export:", "export-write-only:HIDDEN"}; !slices.Equal(asked, want) {
		t.Fatalf("asked %q, want %q", asked, want)
	}
	evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "wo", Action: secrets.ActionExportWriteOnly})
	if err != nil || len(evs) != 1 || evs[0].Outcome != secrets.OutcomeDenied {
		t.Fatalf("the refusal's event: %+v, %v", evs, err)
	}
	asked = nil
	if _, err := m.Backup(ctx, "wo", nil); err != nil {
		t.Fatalf("a backup that withholds write-only values: %v", err)
	}
	if _, err := m.Backup(ctx, "plain", opts); err != nil {
		t.Fatalf("an encrypted backup without write-only secrets: %v", err)
	}
	if want := []string{"export:", "export:"}; !slices.Equal(asked, want) {
		t.Fatalf("asked %q, want %q", asked, want)
	}
}
