package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden-v2.json (only when the format changes on purpose)")

// goldenV1 is a store's contents written by format 1 (the first
// releases), in their own shape: every later version of the package must
// still decrypt them.
type goldenV1 struct {
	MasterKey json.RawMessage `json:"master_key"`
	Key       struct {
		Workspace, CipherID string
		Ciphertext          []byte
		Updated             time.Time
	} `json:"wrapped_key"`
	Versions []struct {
		Workspace, SecretID, Name string
		Version                   int64
		Ciphertext                []byte
		KeyID                     uint32
		EnvSize                   int64
		Created, Updated          time.Time
		CreatedBy, UpdatedBy      string
	} `json:"versions"`
	Values map[string]string `json:"values"` // "NAME@version" -> value
}

// TestGoldenV1 loads the first format's data into a store: version 1 of
// a secret written under one name, version 2 under its new name.
func TestGoldenV1(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("testdata/golden-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenV1
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(g.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	s := secrets.NewMemoryStore()
	if _, err := s.PutKey(ctx, secrets.WrappedKey{Workspace: g.Key.Workspace, CipherID: g.Key.CipherID, Ciphertext: g.Key.Ciphertext, Updated: g.Key.Updated}, 0); err != nil {
		t.Fatal(err)
	}
	cur := map[string]secrets.Entry{}
	for _, v := range g.Versions {
		ver := secrets.Version{Workspace: v.Workspace, SecretID: v.SecretID, Version: v.Version, Name: v.Name, Format: 1,
			Ciphertext: v.Ciphertext, KeyID: v.KeyID, EnvSize: v.EnvSize, Written: v.Updated, WrittenBy: v.UpdatedBy}
		e, ok := cur[v.SecretID]
		w := secrets.Write{Expect: e.Revision, NewVersion: true, Keep: 10}
		if !ok {
			e = secrets.Entry{Workspace: v.Workspace, SecretID: v.SecretID, Created: v.Created, CreatedBy: v.CreatedBy}
		}
		e.Name, e.Revision, e.Updated, e.UpdatedBy, e.Current = v.Name, e.Revision+1, v.Updated, v.UpdatedBy, ver
		w.Entry = e
		if err := s.Put(ctx, w); err != nil {
			t.Fatal(err)
		}
		cur[v.SecretID] = e
	}
	// The store holds a workspace key but knows no master key, as data of
	// the first releases does: registering this one must be asked for.
	m := newManager(t, s, c, &secrets.Config{AddMasterKey: true})
	got := map[string]string{}
	for _, v := range g.Versions {
		sec, err := m.GetVersion(ctx, v.Workspace, cur[v.SecretID].Name, v.Version)
		if err != nil {
			t.Fatalf("%s v%d: %v", v.Name, v.Version, err)
		}
		got[v.Name+"@"+strconv.FormatInt(v.Version, 10)] = string(sec.Value.Reveal())
	}
	if d := cmp.Diff(g.Values, got); d != "" {
		t.Fatalf("golden values (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"AUTH_TOKEN": "token-v2", "RENAMED": "multi\nline\n"}, envMap(t, m, "golden-ws")); d != "" {
		t.Fatalf("golden EnvFor (-want +got):\n%s", d)
	}
	// A rotation brings every version to the current format.
	if _, err := m.RotateKey(ctx, "golden-ws", nil); err != nil {
		t.Fatal(err)
	}
	if vs, n, _ := s.Stale(ctx, "golden-ws", secrets.StaleQuery{Limit: 10}); n != len(g.Versions) || slices.ContainsFunc(vs, func(v secrets.Version) bool { return v.Format != 2 }) {
		t.Fatalf("after rotation: %d versions, formats %+v", n, vs)
	}
	if d := cmp.Diff(map[string]string{"AUTH_TOKEN": "token-v2", "RENAMED": "multi\nline\n"}, envMap(t, m, "golden-ws")); d != "" {
		t.Fatalf("EnvFor after rotation (-want +got):\n%s", d)
	}
}

// goldenV2 is a store's contents in the current format.
type goldenV2 struct {
	Comment   string                       `json:"comment"`
	MasterKey json.RawMessage              `json:"master_key"`
	Key       secrets.WrappedKey           `json:"wrapped_key"`
	Entries   []secrets.Entry              `json:"entries"`
	History   map[string][]secrets.Version `json:"history"` // secret ID -> versions, oldest first
	Values    map[string]string            `json:"values"`  // "NAME@version" -> value
}

const goldenV2Path = "testdata/golden-v2.json"

// TestGoldenV2: data written by format 2 (flags bound) still decrypts, and
// its flags still hold.
func TestGoldenV2(t *testing.T) {
	if *updateGolden {
		writeGolden(t, goldenV2Path, "Written by format version 2. Test data only: this master key protects nothing else.", fillGoldenV2)
	}
	m, _ := loadGolden(t, goldenV2Path, 2)
	want := map[string]string{"AUTH_TOKEN": "token-v2", "DEPLOY_KEY": "write-only-key", "KUBECONFIG_FILE": "apiVersion: v1\n"}
	if d := cmp.Diff(want, envMap(t, m, "golden-ws")); d != "" {
		t.Fatalf("golden EnvFor (-want +got):\n%s", d)
	}
}

// loadGolden puts a golden file's key and versions into a memory store,
// checks that every version is of format (and of no other) and that each
// one's value (write-only ones aside) is the file's, and returns a
// Manager over it.
func loadGolden(t *testing.T, path string, format int) (*secrets.Manager, goldenV2) {
	t.Helper()
	ctx := context.Background()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenV2
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(g.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	s := secrets.NewMemoryStore()
	if _, err := s.PutKey(ctx, g.Key, 0); err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Entries {
		for i, v := range g.History[e.SecretID] {
			if v.Format != format {
				t.Fatalf("%s v%d of %s is of format %d, not %d", e.Name, v.Version, path, v.Format, format)
			}
			w := e
			w.Revision, w.Current = int64(i+1), v
			if err := s.Put(ctx, secrets.Write{Entry: w, Expect: int64(i), NewVersion: true, Keep: 10}); err != nil {
				t.Fatal(err)
			}
		}
	}
	m := newManager(t, s, c, nil)
	got := map[string]string{}
	for _, e := range g.Entries {
		for _, v := range g.History[e.SecretID] {
			sec, err := m.GetVersion(ctx, e.Workspace, e.Name, v.Version)
			if errors.Is(err, secrets.ErrWriteOnly) {
				continue
			}
			if err != nil {
				t.Fatalf("%s v%d: %v", e.Name, v.Version, err)
			}
			got[e.Name+"@"+strconv.FormatInt(v.Version, 10)] = string(sec.Value.Reveal())
		}
	}
	if d := cmp.Diff(g.Values, got); d != "" {
		t.Fatalf("golden values (-want +got):\n%s", d)
	}
	return m, g
}

// fillGoldenV2 writes format 2's secrets: a renamed one, a write-only one
// and a file.
func fillGoldenV2(t *testing.T, m *secrets.Manager) {
	actx := secrets.WithActor(context.Background(), "user:golden")
	mustSet(t, m, "golden-ws", "TOKEN", "token-v1")
	mustSet(t, m, "golden-ws", "TOKEN", "token-v2")
	if _, err := m.Rename(actx, "golden-ws", "TOKEN", "AUTH_TOKEN", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(actx, "golden-ws", "DEPLOY_KEY", []byte("write-only-key"), &secrets.SetOptions{Info: &secrets.Info{WriteOnly: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Set(actx, "golden-ws", "KUBECONFIG_FILE", []byte("apiVersion: v1\n"), &secrets.SetOptions{Info: &secrets.Info{File: true, Description: "a file"}}); err != nil {
		t.Fatal(err)
	}
}

// writeGolden writes path anew: what fill writes into workspace
// golden-ws, under a new master key, with a clock of its own.
func writeGolden(t *testing.T, path, comment string, fill func(*testing.T, *secrets.Manager)) {
	ctx := context.Background()
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	s := secrets.NewMemoryStore()
	clock := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	m := newManager(t, s, c, &secrets.Config{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	fill(t, m)
	g := goldenV2{Comment: comment, MasterKey: key, History: map[string][]secrets.Version{}, Values: map[string]string{}}
	if g.Key, err = s.Key(ctx, "golden-ws"); err != nil {
		t.Fatal(err)
	}
	es, err := s.List(ctx, "golden-ws", secrets.ListQuery{Limit: 100, Values: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		e.Current.KeyGen = 0
		g.Entries = append(g.Entries, e)
		hist, err := s.History(ctx, "golden-ws", e.SecretID)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			v := hist[i]
			v.KeyGen = 0
			g.History[e.SecretID] = append(g.History[e.SecretID], v)
			if !v.WriteOnly {
				sec, err := m.GetVersion(ctx, "golden-ws", e.Name, v.Version)
				if err != nil {
					t.Fatal(err)
				}
				g.Values[e.Name+"@"+strconv.FormatInt(v.Version, 10)] = string(sec.Value.Reveal())
			}
		}
	}
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
