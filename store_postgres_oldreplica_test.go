package secrets_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataspace/secrets"
	"github.com/lib/pq"
)

// oldRelease is the last commit whose schema was version 1 (0001_init.sql
// alone): the release before the additive migrations 0002 and 0003.
const oldRelease = "befb7ce"

// oldReplica is a program built from oldRelease's code: a replica that
// writes, reveals and injects in a loop, printing "round N" after each
// round, until its standard input closes; then "ok N", or "error: ..." at
// the first error.
const oldReplica = `package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func main() {
	ctx := secrets.WithActor(context.Background(), "replica:old")
	db, err := sqlx.Open("postgres", os.Getenv("DATABASE_URL"))
	if err != nil {
		fail(err)
	}
	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: os.Getenv("SCHEMA")})
	if err != nil {
		fail(err)
	}
	c, err := secrets.LoadLocalCipher(os.Getenv("KEY_FILE"))
	if err != nil {
		fail(err)
	}
	m, err := secrets.New(s, c, &secrets.Config{AddMasterKey: true})
	if err != nil {
		fail(err)
	}
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	for n := 1; ; n++ {
		select {
		case <-stop:
			fmt.Println("ok", n-1)
			return
		default:
		}
		name := fmt.Sprintf("OLD_%d", n%5)
		if _, err := m.Set(ctx, "old-ws", name, []byte(fmt.Sprintf("old-value-%d", n)), nil); err != nil {
			fail(err)
		}
		if _, err := m.Get(ctx, "old-ws", name); err != nil {
			fail(err)
		}
		if _, err := m.EnvFor(ctx, "old-ws"); err != nil {
			fail(err)
		}
		fmt.Println("round", n)
	}
}

func fail(err error) {
	fmt.Println("error:", err)
	os.Exit(1)
}
`

// TestPostgresOldReplicaDuringMigration: a replica built from the release
// before the additive migrations keeps writing, revealing and injecting
// while the new code migrates the schema to the head under it, and the new
// code reads what it wrote. The old code comes from the repository's own
// history (git archive), so the test needs git and the commit.
func TestPostgresOldReplicaDuringMigration(t *testing.T) {
	t.Parallel() // long, and shares nothing with the other parallel tests
	db := pgDB(t)
	ctx := context.Background()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to build the old release: %v", err)
	}
	dir := t.TempDir()
	archive := exec.Command("git", "archive", "--format=tar", oldRelease)
	var tarball, stderr bytes.Buffer
	archive.Stdout, archive.Stderr = &tarball, &stderr
	if err := archive.Run(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("commit %s is not in this checkout: %v %s", oldRelease, err, stderr.String())
		}
		t.Fatalf("git archive %s: %v: %s", oldRelease, err, stderr.String())
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = &tarball
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "oldreplica"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oldreplica", "main.go"), []byte(oldReplica), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "oldreplica.bin"), "./oldreplica")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the old release's replica: %v: %s", err, out)
	}

	s, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: randomSchema("old_")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); dropSchema(t, db, s.Schema()) })
	if err := secrets.MigrateTo(ctx, s, 1); err != nil {
		t.Fatal(err)
	}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "master-key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}

	old := exec.Command(filepath.Join(dir, "oldreplica.bin"))
	old.Env = []string{"DATABASE_URL=" + pgURL(t), "SCHEMA=" + s.Schema(), "KEY_FILE=" + keyFile}
	stdin, err := old.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := old.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	defer old.Process.Kill()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// rounds waits for n more rounds of the old replica.
	rounds := func(n int) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for n > 0 {
			select {
			case l, ok := <-lines:
				if !ok || strings.HasPrefix(l, "error") {
					t.Fatalf("the old replica stopped: %q", l)
				}
				if strings.HasPrefix(l, "round") {
					n--
				}
			case <-timeout:
				t.Fatal("the old replica made no progress")
			}
		}
	}
	rounds(3)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate to the head under the old replica: %v", err)
	}
	// The replica's output may still hold rounds it made before the
	// migration (its pipe buffers them; a CI run read ten such and
	// stopped it before any write on the migrated schema): go on until
	// one of its writes has counted the workspace's secrets, as the
	// first write on the migrated schema does, then ten rounds more.
	sch := pq.QuoteIdentifier(s.Schema())
	for deadline := time.Now().Add(60 * time.Second); ; {
		var counted *int64
		if err := db.QueryRow(`SELECT secret_count FROM ` + sch + `.workspaces WHERE workspace = 'old-ws'`).Scan(&counted); err != nil {
			t.Fatal(err)
		}
		if counted != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no write of the old replica reached the migrated schema")
		}
		rounds(1)
	}
	rounds(10) // on the migrated schema
	stdin.Close()
	var last string
	for l := range lines {
		last = l
	}
	if err := old.Wait(); err != nil || !strings.HasPrefix(last, "ok ") {
		t.Fatalf("the old replica ended with %v, last line %q", err, last)
	}
	io.Copy(io.Discard, stdout)
	// Its writes on the migrated schema went through the previous
	// signatures, which keep migration 9's count of secrets.
	var counted *int64
	var real int64
	if err := db.QueryRow(`SELECT w.secret_count, (SELECT count(*) FROM `+sch+`.secrets x WHERE x.workspace = w.workspace)
		FROM `+sch+`.workspaces w WHERE w.workspace = 'old-ws'`).Scan(&counted, &real); err != nil {
		t.Fatal(err)
	}
	if counted == nil || *counted != real {
		t.Fatalf("the old replica's workspace counts %v secrets, holds %d", counted, real)
	}

	// The new code reads what the old one wrote, and works on.
	c, err := secrets.LoadLocalCipher(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	m := newManager(t, s, c, nil)
	env, err := m.EnvFor(ctx, "old-ws")
	if err != nil || len(env) != 5 {
		t.Fatalf("the new code's EnvFor of what the old one wrote: %d variables, %v", len(env), err)
	}
	for _, kv := range env {
		if !strings.Contains(kv, "=old-value-") {
			t.Fatalf("unexpected %s", strings.SplitN(kv, "=", 2)[0])
		}
	}
	if _, err := m.RotateKey(ctx, "old-ws", nil); err != nil {
		t.Fatal(err)
	}
	evs, err := m.Events(ctx, secrets.EventQuery{Actor: "replica:old", Action: secrets.ActionInject, Limit: 1000})
	if err != nil || len(evs) < 13 {
		t.Fatalf("the old replica's inject events: %d, %v", len(evs), err)
	}
}
