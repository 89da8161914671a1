// Command postgres is the quickstart against a real database: it migrates
// the store's schema, saves secrets, runs a child process with them, and
// lists their metadata.
//
//	DATABASE_URL=postgres://user:pass@localhost/db?sslmode=disable go run ./examples/postgres
//
// It uses the schema "secrets_example" and a master key generated at each
// run, so its data is unreadable after it exits; a real backend loads its
// master key with secrets.LoadLocalCipher or uses a KMS.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the host registers the driver, not the library
)

func main() {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		log.Fatal("set DATABASE_URL, e.g. postgres://user:pass@localhost/db?sslmode=disable")
	}
	ctx := context.Background()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: "secrets_example"})
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // safe from every replica at start-up
		log.Fatal(err)
	}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	m, err := secrets.New(store, cipher, nil)
	if err != nil {
		log.Fatal(err)
	}

	ws := fmt.Sprintf("example-%d", os.Getpid())
	editor := secrets.WithActor(ctx, "user:alice")
	if _, err := m.Set(editor, ws, "AUTH_TOKEN", []byte("tok_live_7d3f9a"), nil); err != nil {
		log.Fatal(err)
	}
	cmd, err := m.Command(ctx, ws, nil, "/bin/sh", "-c", `echo "job sees AUTH_TOKEN: ${AUTH_TOKEN:+set} (${#AUTH_TOKEN} characters)"`)
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
	list, err := m.List(ctx, ws, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range list.Secrets {
		fmt.Printf("%s v%d by %s (stored encrypted in schema %s)\n", s.Name, s.Version, s.UpdatedBy, store.Schema())
	}
	if err := m.Destroy(ctx, ws, "AUTH_TOKEN", nil); err != nil {
		log.Fatal(err)
	}
}
