package secrets

import (
	"testing"
	"time"
)

// The defaults the README's limits table gives for a nil Config.
func TestConfigDefaults(t *testing.T) {
	m, err := New(NewMemoryStore(), testCipher(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := m.cfg
	if got.KeepVersions != 10 || got.MaxNameLength != 256 || got.MaxEnvBytes != 1<<20 || got.KeyCacheSize != 1024 ||
		got.KeyCacheTTL != 5*time.Minute || got.DeleteRetention != 30*24*time.Hour || got.EventRetention != 400*24*time.Hour ||
		got.AuditReads != AuditFailClosed || got.Expired != ExpiredInject {
		t.Fatalf("defaults: %+v", got)
	}
}

// testCipher is a LocalCipher with a new key, for the package's internal
// tests.
func testCipher(tb testing.TB) Cipher {
	tb.Helper()
	k, err := GenerateLocalKey()
	if err != nil {
		tb.Fatal(err)
	}
	c, err := NewLocalCipher(k)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
