package secrets

import (
	"testing"
	"time"
)

// The defaults the README's limits table gives for a nil Config.
func TestConfigDefaults(t *testing.T) {
	raw, err := GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewLocalCipher(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(NewMemoryStore(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.cfg
	if got.KeepVersions != 10 || got.MaxNameLength != 256 || got.MaxEnvBytes != 1<<20 || got.KeyCacheSize != 1024 ||
		got.KeyCacheTTL != 5*time.Minute || got.DeleteRetention != 30*24*time.Hour || got.EventRetention != 0 ||
		got.AuditReads != AuditBestEffort || got.Expired != ExpiredInject {
		t.Fatalf("defaults: %+v", got)
	}
}
