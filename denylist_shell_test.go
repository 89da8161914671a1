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
// bash in POSIX mode, dash (Debian's /bin/sh), BusyBox's sh, mksh, ksh93,
// and zsh without startup files.
var sourceShells = [][]string{{"bash"}, {"bash", "--posix"}, {"dash"}, {"busybox", "sh"}, {"mksh"}, {"ksh93"}, {"zsh", "-f"}}

// TestHijackShellAssignments is the evidence for denylist_shell.go: for
// every name Export will not assign, a real shell sourcing
// NAME='a[$(touch marker)]' or NAME='PWD[$(touch marker)]' (set -a;
// . file) runs the command, stops reading the file, complains, or does
// not keep the value. Set refuses each name but the exportOnly ones, in
// any case, as ErrReservedName; it accepts those, which bash and dash
// read back exactly.
func TestHijackShellAssignments(t *testing.T) {
	m, err := New(NewMemoryStore(), testCipher(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	only := map[string]bool{}
	for _, h := range exportOnly {
		only[h.name] = true
	}
	for name := range sourceUnsafe {
		for _, n := range []string{name, strings.ToLower(name)} {
			err := m.validName(n)
			if only[name] && err != nil {
				t.Errorf("%s: validName = %v, want nil: only an export leaves it out", n, err)
			}
			if !only[name] && !errors.Is(err, ErrReservedName) {
				t.Errorf("%s: validName = %v, want ErrReservedName", n, err)
			}
		}
	}
	for _, sh := range sourceShells {
		if _, err := exec.LookPath(sh[0]); err != nil {
			// As needProgram (an external test's): scripts/test installs them.
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing in CI", sh[0])
			}
			t.Skipf("%s is not installed", sh[0])
		}
	}
	// A name per subtest, in parallel: each runs its shells one after
	// another in a folder of its own.
	for name := range sourceUnsafe {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			var harms []string
			for _, sh := range sourceShells {
				for _, index := range []string{"a", "PWD"} {
					harm := sourceHarm(t, sh, dir, name, index+"[$(touch "+marker+")]")
					if fileExists(marker) {
						harm = "ran the command"
					}
					_ = os.Remove(marker)
					if harm == "" {
						continue
					}
					harm = strings.Join(sh, " ") + " " + harm + " (" + index + "[…])"
					harms = append(harms, harm)
					if only[name] && (sh[0] == "bash" || sh[0] == "dash") {
						t.Errorf("%s: %s, yet Set accepts it as bash and dash take it as any variable", name, harm)
					}
				}
			}
			if len(harms) == 0 {
				t.Errorf("%s: every shell sourced it as any variable; it need not be left out", name)
			} else {
				t.Logf("%s: %s", name, strings.Join(harms, "; "))
			}
		})
	}
}

// sourceHarm sources NAME='value' and AFTER='ok' with shell sh (set -a;
// . file) and says what went wrong: "stopped sourcing", "refused the
// value", "did not keep the value", or "" for nothing.
func sourceHarm(t *testing.T, sh []string, dir, name, value string) string {
	t.Helper()
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
	case err != nil || !strings.HasPrefix(stdout.String(), "ok\n"):
		return "stopped sourcing"
	case stderr.Len() > 0:
		return "refused the value"
	case got != value:
		return "did not keep the value"
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
