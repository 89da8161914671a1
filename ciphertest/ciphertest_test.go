package ciphertest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/ciphertest"
)

// The suite's own tests: a Cipher with an unauthenticated version byte
// passes only when it says so, and a Cipher that decrypts a changed
// ciphertext to another plaintext never passes. Failing runs of the suite
// happen in a child process (the test binary again), whose output is
// checked.

// versioned prefixes a LocalCipher's ciphertexts with "v1:" and ignores
// the digit, as Transit reads "v0" as version 1.
type versioned struct{ c secrets.Cipher }

func (v versioned) ID() string { return v.c.ID() }

func (v versioned) Encrypt(ctx context.Context, p, ad []byte) ([]byte, error) {
	ct, err := v.c.Encrypt(ctx, p, ad)
	if err != nil {
		return nil, err
	}
	return append([]byte("v1:"), ct...), nil
}

func (v versioned) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	if len(ct) < 3 || ct[0] != 'v' || ct[2] != ':' {
		return nil, secrets.ErrDecrypt
	}
	return v.c.Decrypt(ctx, ct[3:], ad)
}

// malleable is versioned, but a changed version digit changes the
// plaintext it returns.
type malleable struct{ versioned }

func (m malleable) Decrypt(ctx context.Context, ct, ad []byte) ([]byte, error) {
	p, err := m.versioned.Decrypt(ctx, ct, ad)
	if err == nil && ct[1] != '1' {
		p = bytes.ToUpper(p)
	}
	return p, err
}

func newLocal(t *testing.T) secrets.Cipher {
	k, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := secrets.NewLocalCipher(k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var lenient = &ciphertest.Options{UnauthenticatedBytes: true}

func TestUnauthenticatedBytesAllowed(t *testing.T) {
	ciphertest.RunWithOptions(t, func(t *testing.T) secrets.Cipher { return versioned{newLocal(t)} }, lenient)
}

// TestSuiteRefuses runs each case in a child process and expects the
// suite to fail there with the given message.
func TestSuiteRefuses(t *testing.T) {
	for name, want := range map[string]string{
		"StrictUnauthenticated": "byte 1 flipped: Decrypt succeeded",
		"OtherPlaintext":        "byte 1 flipped: Decrypt returned a plaintext other than the one encrypted",
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
			cmd.Env = append(os.Environ(), "CIPHERTEST_CHILD="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed:\n%s", out)
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("the suite did not say %q:\n%s", want, out)
			}
		})
	}
}

// TestChild is the child process of TestSuiteRefuses; it passes at once
// in a normal run.
func TestChild(t *testing.T) {
	switch os.Getenv("CIPHERTEST_CHILD") {
	case "StrictUnauthenticated":
		ciphertest.Run(t, func(t *testing.T) secrets.Cipher { return versioned{newLocal(t)} })
	case "OtherPlaintext":
		ciphertest.RunWithOptions(t, func(t *testing.T) secrets.Cipher { return malleable{versioned{newLocal(t)}} }, lenient)
	}
}
