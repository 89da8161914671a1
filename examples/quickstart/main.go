// Command quickstart shows the library end to end with no setup: an
// in-memory store, a freshly generated master key, a secret saved by an
// editor, a child process that reads it from its environment, and the
// metadata listing a viewer sees.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dataspace/secrets"
)

func main() {
	ctx := context.Background()

	// The master key. A real backend loads it once, from a file or a KMS:
	// secrets.LoadLocalCipher("/etc/platform/master-key.json").
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, nil)
	if err != nil {
		log.Fatal(err)
	}

	// An editor saves a token in the workspace's settings panel.
	editor := secrets.WithActor(ctx, "user:alice")
	if _, err := m.Set(editor, "ws-demo", "AUTH_TOKEN", []byte("tok_live_7d3f9a"), nil); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Set(editor, "ws-demo", "DB_PASSWORD", []byte("correct horse battery staple"), nil); err != nil {
		log.Fatal(err)
	}
	// A dangerous name is refused when it is saved, not when a build runs.
	if _, err := m.Set(editor, "ws-demo", "LD_PRELOAD", []byte("/tmp/x.so"), nil); err != nil {
		fmt.Println("refused:", err)
	}

	// The backend starts a job: the child reads os.environ['AUTH_TOKEN'].
	// Its environment is the secrets on top of a minimal base; nothing of
	// this process's own environment reaches it.
	cmd, err := m.Command(ctx, "ws-demo", nil, "/bin/sh", "-c",
		`echo "job sees AUTH_TOKEN: ${AUTH_TOKEN:+set} (${#AUTH_TOKEN} characters)"; echo "job sees HOME: ${HOME:-unset}"`)
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}

	// A viewer sees names and metadata, never values.
	list, err := m.List(ctx, "ws-demo", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("secrets of ws-demo:")
	for _, s := range list.Secrets {
		fmt.Printf("  %-12s v%d  updated %s by %s\n", s.Name, s.Version, s.Updated.Format("2006-01-02 15:04:05"), s.UpdatedBy)
	}

	// Values print redacted unless revealed on purpose.
	s, err := m.Get(ctx, "ws-demo", "AUTH_TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("logged: %v\n", s)
}
