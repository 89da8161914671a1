package secrets

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sourceShells are the shells an export is sourced with in tests: bash,
// bash in POSIX mode, and dash (Debian's /bin/sh).
var sourceShells = [][]string{{"bash"}, {"bash", "--posix"}, {"dash"}}

// TestHijackShellAssignments is the evidence for denylist_shell.go: for
// every name Export will not assign, a real shell sourcing
// NAME='a[$(touch marker)]' (set -a; . file) runs the command, stops
// reading the file, complains, or does not keep the value; and Set
// refuses each name, in any case, as ErrReservedName.
func TestHijackShellAssignments(t *testing.T) {
	m, err := New(NewMemoryStore(), testCipher(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name := range sourceUnsafe {
		for _, n := range []string{name, strings.ToLower(name)} {
			if err := m.validName(n); !errors.Is(err, ErrReservedName) {
				t.Errorf("%s: validName = %v, want ErrReservedName", n, err)
			}
		}
	}
	dir := t.TempDir()
	for name := range sourceUnsafe {
		var harms []string
		for _, sh := range sourceShells {
			if _, err := exec.LookPath(sh[0]); err != nil {
				t.Fatalf("%s is not installed: %v", sh[0], err)
			}
			marker := filepath.Join(dir, "ran")
			value := "a[$(touch " + marker + ")]"
			file := filepath.Join(dir, "x.env")
			text := name + "='" + value + "'\nAFTER='ok'\n"
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(sh[0], append(sh[1:], "-c", `set -a; . "$1"; printf '%s\n' "$AFTER"; eval 'printf %s "${'"$2"'}"'`, "sh", file, name)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			got, _ := strings.CutPrefix(stdout.String(), "ok\n")
			switch {
			case fileExists(marker):
				harms = append(harms, strings.Join(sh, " ")+" ran the command")
			case err != nil || !strings.HasPrefix(stdout.String(), "ok\n"):
				harms = append(harms, strings.Join(sh, " ")+" stopped sourcing")
			case stderr.Len() > 0:
				harms = append(harms, strings.Join(sh, " ")+" refused the value")
			case got != value:
				harms = append(harms, strings.Join(sh, " ")+" did not keep the value")
			}
			_ = os.Remove(marker)
		}
		if len(harms) == 0 {
			t.Errorf("%s: every shell sourced it as any variable; it need not be denied", name)
		} else {
			t.Logf("%s: %s", name, strings.Join(harms, "; "))
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
