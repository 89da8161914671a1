package secrets_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// backupDoc makes an unencrypted backup document of the given secrets,
// each a JSON object's fields without the braces.
func backupDoc(secretsJSON ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"format":"secrets-backup","version":2,"container":"src","created":"2026-01-01T00:00:00Z","encryption":"none","secrets":[`)
	for i, s := range secretsJSON {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("{" + s + "}")
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// backupValue is a secret of a document with its value.
func backupValue(name, value string) string {
	return fmt.Sprintf(`"name":%q,"version":1,"value":%q`, name, base64.StdEncoding.EncodeToString([]byte(value)))
}

// TestRestoreEnvBytesBound: no plan is made that Restore would refuse for
// its size: a document whose environment takes exactly MaxEnvBytes is
// accepted and restored, one byte more is ErrTooLarge.
func TestRestoreEnvBytesBound(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		const limit = 100
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxEnvBytes: limit})
		// "A" + "=" + value + NUL: len(value)+3 bytes.
		over := backupDoc(backupValue("A", strings.Repeat("x", limit-2)))
		if _, err := m.PreviewRestore(ctx, "dst", over, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("PreviewRestore of MaxEnvBytes+1 bytes: %v, want ErrTooLarge", err)
		}
		exact := backupDoc(backupValue("A", strings.Repeat("x", limit-3)))
		p, err := m.PreviewRestore(ctx, "dst", exact, nil)
		if err != nil {
			t.Fatalf("PreviewRestore of MaxEnvBytes bytes: %v", err)
		}
		if _, err := m.Restore(ctx, "dst", exact, p, nil); err != nil {
			t.Fatalf("Restore of MaxEnvBytes bytes: %v", err)
		}
		if got := mustGet(t, m, "dst", "A"); len(got) != limit-3 {
			t.Fatalf("A restored with %d bytes", len(got))
		}
	})
}

// TestRestoreSecretsBound: a document with more secrets than a workspace
// may hold (Config.MaxSecrets) is ErrTooLarge; exactly as many is
// accepted.
func TestRestoreSecretsBound(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		const most = 5
		m := newManager(t, s, newCipher(t), &secrets.Config{MaxSecrets: most})
		doc := func(n int) []byte {
			var ss []string
			for i := range n {
				ss = append(ss, backupValue(fmt.Sprint("S_", i), "v"))
			}
			return backupDoc(ss...)
		}
		if _, err := m.PreviewRestore(ctx, "dst", doc(most+1), nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("PreviewRestore of %d secrets: %v, want ErrTooLarge", most+1, err)
		}
		if _, err := m.Restore(ctx, "dst", doc(most+1), secrets.RestorePlan{}, nil); !errors.Is(err, secrets.ErrTooLarge) {
			t.Fatalf("Restore of %d secrets: %v, want ErrTooLarge", most+1, err)
		}
		p, err := m.PreviewRestore(ctx, "dst", doc(most), nil)
		if err != nil || len(p.Added) != most {
			t.Fatalf("PreviewRestore of %d secrets: %+v %v", most, p, err)
		}
		if _, err := m.Restore(ctx, "dst", doc(most), p, nil); err != nil {
			t.Fatalf("Restore of %d secrets: %v", most, err)
		}
		if got := listAll(t, m, "dst"); len(got) != most {
			t.Fatalf("%d secrets restored", len(got))
		}
	})
}

// TestRestoreWithheldNotWriteOnly: only a write-only secret may be
// withheld: a withheld secret without a value that is not write-only is
// ErrInvalidBackup, with or without SkipWithheld, and nothing changes.
func TestRestoreWithheldNotWriteOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ctx := context.Background()
		m := newManager(t, s, newCipher(t), nil)
		bad := backupDoc(backupValue("B", "b"), `"name":"A","version":1,"withheld":true`)
		for _, skip := range []bool{false, true} {
			opts := &secrets.RestoreOptions{SkipWithheld: skip}
			if _, err := m.PreviewRestore(ctx, "dst", bad, opts); !errors.Is(err, secrets.ErrInvalidBackup) {
				t.Fatalf("skip %t: PreviewRestore of a withheld secret that is not write-only: %v, want ErrInvalidBackup", skip, err)
			}
			if _, err := m.Restore(ctx, "dst", bad, secrets.RestorePlan{}, opts); !errors.Is(err, secrets.ErrInvalidBackup) {
				t.Fatalf("skip %t: Restore of a withheld secret that is not write-only: %v, want ErrInvalidBackup", skip, err)
			}
		}
		// The same secret write-only is a document a restore takes (with
		// SkipWithheld).
		good := backupDoc(backupValue("B", "b"), `"name":"A","version":1,"write_only":true,"withheld":true`)
		if _, err := m.PreviewRestore(ctx, "dst", good, &secrets.RestoreOptions{SkipWithheld: true}); err != nil {
			t.Fatalf("PreviewRestore of a withheld write-only secret: %v", err)
		}
		if got := listAll(t, m, "dst"); len(got) != 0 {
			t.Fatalf("the refusals changed the workspace: %v", got)
		}
	})
}
