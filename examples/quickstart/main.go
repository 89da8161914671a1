// Command quickstart shows the library end to end with no setup: an
// in-memory store, a freshly generated master key, secrets saved by an
// editor (one refused), a job that reads them from its environment and
// prints one (masked in its output), a check-and-set conflict, and the
// metadata a viewer sees.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/dataspace/secrets"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// The master key. A real backend loads it once, from a file or a KMS:
	// secrets.LoadLocalCipher("/etc/platform/master-key.json").
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		return err
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		return err
	}
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, nil)
	if err != nil {
		return err
	}

	// An editor saves secrets in the workspace's settings panel.
	editor := secrets.WithActor(ctx, "user:alice")
	token, err := m.Set(editor, "ws-demo", "AUTH_TOKEN", []byte("tok_live_7d3f9a"), nil)
	if err != nil {
		return err
	}
	if _, err := m.Set(editor, "ws-demo", "DB_PASSWORD", []byte("correct horse battery staple"),
		&secrets.SetOptions{Info: &secrets.Info{Description: "read-only replica", WriteOnly: true}}); err != nil {
		return err
	}
	// A dangerous name is refused when it is saved, not when a build runs.
	if _, err := m.Set(editor, "ws-demo", "LD_PRELOAD", []byte("/tmp/x.so"), nil); errors.Is(err, secrets.ErrReservedName) {
		fmt.Fprintln(out, "refused:", err)
	}
	// Two editors changed AUTH_TOKEN from the same page: the second one is
	// told, and nothing is overwritten.
	if _, err := m.Set(editor, "ws-demo", "AUTH_TOKEN", []byte("tok_live_8e4a0b"), &secrets.SetOptions{IfRevision: token.Revision}); err != nil {
		return err
	}
	_, err = m.Set(secrets.WithActor(ctx, "user:bob"), "ws-demo", "AUTH_TOKEN", []byte("tok_live_bob000"), &secrets.SetOptions{IfRevision: token.Revision})
	var conflict *secrets.ConflictError
	if errors.As(err, &conflict) {
		fmt.Fprintln(out, "conflict:", err)
	}

	// The backend runs a job: the child reads $AUTH_TOKEN, starting from a
	// minimal base environment (nothing of this process's own reaches it),
	// and its output is masked before it reaches the build log.
	res, err := m.Run(ctx, "ws-demo", secrets.Job{
		Path:   "/bin/sh",
		Args:   []string{"-c", `echo "job: AUTH_TOKEN has ${#AUTH_TOKEN} characters; careless print: $AUTH_TOKEN"; echo "job: HOME is ${HOME:-unset}"`},
		Stdout: out, Stderr: out,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "job exit status:", res.ExitCode)

	// A viewer sees names and metadata, never values.
	page, err := m.List(ctx, "ws-demo", nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "secrets of ws-demo:")
	for _, s := range page.Secrets {
		fmt.Fprintf(out, "  %-12s version %d, revision %d, by %s, write-only %t\n", s.Name, s.Version, s.Revision, s.UpdatedBy, s.WriteOnly)
	}
	// Values print redacted unless revealed on purpose; write-only ones
	// are never revealed.
	s, err := m.Get(ctx, "ws-demo", "AUTH_TOKEN")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "logged by accident: %v\n", s)
	if _, err := m.Get(ctx, "ws-demo", "DB_PASSWORD"); errors.Is(err, secrets.ErrWriteOnly) {
		fmt.Fprintln(out, "reveal refused:", err)
	}
	return nil
}
