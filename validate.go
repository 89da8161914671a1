package secrets

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxEnvString is the largest "NAME=value" string, counting its final NUL,
// that Linux passes to a new process (MAX_ARG_STRLEN, 32 pages of 4 KiB).
// A longer one makes execve fail with E2BIG, so Set refuses it.
const MaxEnvString = 128 << 10

// maxWorkspaceLen bounds workspace identifiers.
const maxWorkspaceLen = 256

func validWorkspace(ws string) error {
	if ws == "" || len(ws) > maxWorkspaceLen || !utf8.ValidString(ws) || strings.ContainsRune(ws, 0) {
		return fmt.Errorf("secrets: workspace must be 1 to %d bytes of UTF-8 without NUL: %w", maxWorkspaceLen, ErrInvalidWorkspace)
	}
	return nil
}

// validSyntax checks the environment-variable rule. An invalid name is not
// quoted in the error: users paste values into name fields.
func validSyntax(name string, maxLen int) error {
	if name == "" || len(name) > maxLen {
		return fmt.Errorf("secrets: a name must be 1 to %d characters: %w", maxLen, ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return fmt.Errorf("secrets: a name must match [A-Za-z_][A-Za-z0-9_]* (character %d does not): %w", i+1, ErrInvalidName)
		}
	}
	return nil
}

// validName checks the syntax, the host's reserved names and the
// deny-list (denylist.go).
func (m *Manager) validName(name string) error {
	if err := validSyntax(name, m.cfg.MaxNameLength); err != nil {
		return err
	}
	upper := strings.ToUpper(name)
	if m.reserved[upper] {
		return fmt.Errorf("secrets: name %s is reserved by the host: %w", name, ErrReservedName)
	}
	for _, p := range m.reservedPrefixes {
		if strings.HasPrefix(upper, p) {
			return fmt.Errorf("secrets: names starting with %s are reserved by the host: %w", p, ErrReservedName)
		}
	}
	if m.allowed[upper] {
		return nil
	}
	// TODO(integration): pass the Config field StrictNames (the stricter
	// preset of denylist.go) instead of false once Config has it.
	if _, reason, ok := denied(upper, false); ok {
		return fmt.Errorf("secrets: name %s would let its value take over the processes that receive it: %s: %w", name, reason, ErrReservedName)
	}
	return nil
}

func validValue(name string, value []byte) error {
	if bytes.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("secrets: value of %s contains a NUL byte, which no environment can hold: %w", name, ErrInvalidValue)
	}
	if n := envSize(name, len(value)); n > MaxEnvString {
		return fmt.Errorf("secrets: %s=value takes %d bytes, over the %d a process environment string may hold: %w", name, n, MaxEnvString, ErrTooLarge)
	}
	return nil
}

// envSize is the bytes "NAME=value\x00" takes.
func envSize(name string, valueLen int) int64 { return int64(len(name) + valueLen + 2) }
