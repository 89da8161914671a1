package secrets_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden-v1.json (only when the format changes on purpose)")

// golden is a store's contents written by version 1 of the format. Every
// later version of the package must still decrypt it.
type golden struct {
	Comment   string             `json:"comment"`
	MasterKey json.RawMessage    `json:"master_key"` // test-only Tink keyset
	Key       secrets.WrappedKey `json:"wrapped_key"`
	Versions  []secrets.Version  `json:"versions"`
	Values    map[string]string  `json:"values"` // "NAME@version" -> value
}

const goldenPath = "testdata/golden-v1.json"

func TestGoldenCiphertexts(t *testing.T) {
	ctx := context.Background()
	if *updateGolden {
		writeGolden(t)
	}
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(g.MasterKey)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != g.Key.CipherID {
		t.Fatalf("master key ID %s, golden file says %s", c.ID(), g.Key.CipherID)
	}
	s := secrets.NewMemoryStore()
	if err := s.PutKey(ctx, g.Key, 0); err != nil {
		t.Fatal(err)
	}
	expect := map[string]int64{}
	for _, v := range g.Versions {
		if err := s.Put(ctx, secrets.Write{Version: v, Expect: expect[v.SecretID], Keep: 10}); err != nil {
			t.Fatal(err)
		}
		expect[v.SecretID] = v.Version
	}
	m := newManager(t, s, c, nil)
	cur, err := s.Current(ctx, "golden-ws")
	if err != nil {
		t.Fatal(err)
	}
	currentName := map[string]string{} // secret ID -> current name
	for _, v := range cur {
		currentName[v.SecretID] = v.Name
	}
	got := map[string]string{}
	for _, v := range g.Versions {
		name := currentName[v.SecretID]
		sec, err := m.GetVersion(ctx, v.Workspace, name, v.Version)
		if err != nil {
			t.Fatalf("%s v%d: %v", v.Name, v.Version, err)
		}
		got[v.Name+"@"+itoa(v.Version)] = string(sec.Value.Reveal())
	}
	if d := cmp.Diff(g.Values, got); d != "" {
		t.Fatalf("golden values (-want +got):\n%s", d)
	}
	env, err := m.EnvFor(ctx, "golden-ws")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"AUTH_TOKEN=token-v2", "RENAMED=multi\nline\n"}, env); d != "" {
		t.Fatalf("golden EnvFor (-want +got):\n%s", d)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func writeGolden(t *testing.T) {
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
	clock := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	m := newManager(t, s, c, &secrets.Config{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	actx := secrets.WithActor(ctx, "user:golden")
	for _, w := range []struct{ name, value string }{
		{"AUTH_TOKEN", "token-v1"}, {"AUTH_TOKEN", "token-v2"}, {"TO_RENAME", "multi\nline\n"},
	} {
		if _, err := m.Set(actx, "golden-ws", w.name, []byte(w.value)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Rename(actx, "golden-ws", "TO_RENAME", "RENAMED"); err != nil {
		t.Fatal(err)
	}
	g := golden{
		Comment:   "Written by format version 1. Test data only: this master key protects nothing else.",
		MasterKey: key,
		Values:    map[string]string{},
	}
	if g.Key, err = s.Key(ctx, "golden-ws"); err != nil {
		t.Fatal(err)
	}
	cur, err := s.Current(ctx, "golden-ws")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cur {
		hist, err := s.History(ctx, "golden-ws", c.SecretID)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(hist) - 1; i >= 0; i-- {
			v := hist[i]
			g.Versions = append(g.Versions, v)
			sec, err := m.GetVersion(ctx, "golden-ws", c.Name, v.Version)
			if err != nil {
				t.Fatal(err)
			}
			g.Values[v.Name+"@"+itoa(v.Version)] = string(sec.Value.Reveal())
		}
	}
	out, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenPath, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
