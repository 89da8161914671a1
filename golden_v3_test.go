package secrets_test

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/google/go-cmp/cmp"
)

var updateGoldenV3 = flag.Bool("update-golden-v3", false, "rewrite testdata/golden-v3.json (only when the format changes on purpose)")

const goldenV3Path = "testdata/golden-v3.json"

// TestGoldenV3: data written by format 3 (a scoped or protected version,
// its scope and protection bound) still decrypts, and each job still gets
// what its environment and protection allow.
func TestGoldenV3(t *testing.T) {
	if *updateGoldenV3 {
		writeGolden(t, goldenV3Path, "Written by format version 3 (scoped and protected secrets). Test data only: this master key protects nothing else.", fillGoldenV3)
	}
	m, _ := loadGolden(t, goldenV3Path, 3)
	ctx := context.Background()
	for _, c := range []struct {
		env       string
		protected bool
		want      map[string]string
	}{
		{"production", true, map[string]string{"API_TOKEN": "prod-token-v2", "DEPLOY_KEY": "protected-deploy-key"}},
		{"production", false, map[string]string{}},
		{"review/feature-1", false, map[string]string{"API_TOKEN": "review-token"}},
		{"", false, map[string]string{}},
	} {
		p, err := m.Prepare(ctx, "golden-ws", &secrets.PrepareOptions{Environment: c.env, Protected: c.protected, Base: []string{}})
		if err != nil {
			t.Fatalf("%s protected=%v: %v", c.env, c.protected, err)
		}
		got := map[string]string{}
		for _, kv := range p.Env {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
		p.Close()
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("a job in %q, protected %v (-want +got):\n%s", c.env, c.protected, d)
		}
	}
}

// fillGoldenV3 writes format 3's secrets: two versions of a protected
// production one, a scoped one and a protected one of every environment.
func fillGoldenV3(t *testing.T, m *secrets.Manager) {
	ctx := secrets.WithActor(context.Background(), "user:golden")
	prot := &secrets.SetOptions{Info: &secrets.Info{Protected: true}}
	for _, s := range []struct {
		name, value string
		opts        *secrets.SetOptions
	}{
		{"API_TOKEN@production", "prod-token-v1", prot},
		{"API_TOKEN@production", "prod-token-v2", prot},
		{"API_TOKEN@review/*", "review-token", nil},
		{"DEPLOY_KEY", "protected-deploy-key", prot},
	} {
		if _, err := m.Set(ctx, "golden-ws", s.name, []byte(s.value), s.opts); err != nil {
			t.Fatal(err)
		}
	}
}
