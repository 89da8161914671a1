//go:build linux

package secrets_test

import (
	"context"
	"testing"

	"github.com/dataspace/secrets"
)

// A job run as another user writes its mask file, which is its own.
func TestRuntimeMaskFileOfAnotherUser(t *testing.T) {
	needRoot(t)
	m := newManager(t, secrets.NewMemoryStore(), newCipher(t), nil)
	mustSet(t, m, "ws", "A", "value-a-1")
	var out lockedBuffer
	script := `echo minted-value-2 >> "$SECRETS_MASK_FILE" && stat -c '%U %a' "$SECRETS_MASK_FILE" && echo "minted-value-2"`
	if _, err := m.Run(context.Background(), "ws", secrets.Job{Path: "/bin/sh", Args: []string{"-c", script}, Dir: "/",
		Files: openDir(t), User: nobody(t), RuntimeMasks: true, Stdout: &out, Stderr: &out}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "nobody 600\n***\n" {
		t.Fatalf("output %q", got)
	}
}
