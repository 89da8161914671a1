package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/dataspace/secrets"
)

// exampleManager returns a Manager on a fresh in-memory store with a
// fresh master key. A real backend loads its master key with
// LoadLocalCipher or uses a KMS.
func exampleManager() *secrets.Manager {
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
	return m
}

func ExampleManager_Set() {
	m := exampleManager()
	ctx := secrets.WithActor(context.Background(), "user:42")

	meta, err := m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta.Name, meta.Version, meta.UpdatedBy)

	_, err = m.Set(ctx, "ws-1", "LD_PRELOAD", []byte("/tmp/x.so"), nil)
	fmt.Println(errors.Is(err, secrets.ErrReservedName))
	// Output:
	// AUTH_TOKEN 1 user:42
	// true
}

func ExampleManager_Set_checkAndSet() {
	m := exampleManager()
	ctx := context.Background()

	// Two editors open the settings panel at version 1.
	seen, _ := m.Set(ctx, "ws-1", "API_KEY", []byte("v1"), nil)
	_, err1 := m.Set(ctx, "ws-1", "API_KEY", []byte("alice"), &secrets.SetOptions{IfRevision: seen.Revision})
	_, err2 := m.Set(ctx, "ws-1", "API_KEY", []byte("bob"), &secrets.SetOptions{IfRevision: seen.Revision})
	fmt.Println(err1 == nil, errors.Is(err2, secrets.ErrConflict))
	// Output: true true
}

func ExampleManager_List() {
	m := exampleManager()
	ctx := secrets.WithActor(context.Background(), "user:7")
	m.Set(ctx, "ws-1", "DB_PASSWORD", []byte("hunter2"), nil)
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"), nil)
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("rotated"), nil)

	list, err := m.List(ctx, "ws-1", nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range list.Secrets {
		fmt.Printf("%s v%d by %s\n", s.Name, s.Version, s.UpdatedBy)
	}
	// Output:
	// AUTH_TOKEN v2 by user:7
	// DB_PASSWORD v1 by user:7
}

func ExampleManager_Get() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"), nil)

	s, err := m.Get(ctx, "ws-1", "AUTH_TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s)                        // safe to log
	fmt.Println(string(s.Value.Reveal())) // an explicit reveal
	// Output:
	// {AUTH_TOKEN v1 value:[redacted]}
	// s3cr3t
}

func ExampleManager_EnvFor() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "B_TOKEN", []byte("b"), nil)
	m.Set(ctx, "ws-1", "A_TOKEN", []byte("a"), nil)

	env, err := m.EnvFor(ctx, "ws-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(env)
	// Output: [A_TOKEN=a B_TOKEN=b]
}

func ExampleManager_Command() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("s3cr3t"), nil)

	// nil base: DefaultBase, never the backend's own environment.
	cmd, err := m.Command(ctx, "ws-1", nil, "/bin/sh", "-c", `echo "token has ${#AUTH_TOKEN} characters"`)
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stdout = os.Stdout
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
	// Output: token has 6 characters
}

func ExampleEnviron() {
	base := []string{"HOME=/home/build", "AUTH_TOKEN=placeholder"}
	fmt.Println(strings.Join(secrets.Environ(base, []string{"AUTH_TOKEN=s3cr3t"}), " "))
	// Output: HOME=/home/build AUTH_TOKEN=s3cr3t
}

func ExampleManager_Rollback() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("good"), nil)
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("bad edit"), nil)

	meta, _ := m.Rollback(ctx, "ws-1", "AUTH_TOKEN", 1, nil)
	s, _ := m.Get(ctx, "ws-1", "AUTH_TOKEN")
	fmt.Println(meta.Version, string(s.Value.Reveal()))
	// Output: 3 good
}

func ExampleNewRedactor() {
	r := secrets.NewRedactor([][]byte{[]byte("tok_live_7d3f9a")}, nil)
	var out strings.Builder
	w := r.NewWriter(&out)
	w.Write([]byte("calling API with tok_li")) // a value split across writes
	w.Write([]byte("ve_7d3f9a, base64 dG9rX2xpdmVfN2QzZjlh\n"))
	w.Close()
	fmt.Print(out.String())
	// Output: calling API with ***, base64 ***
}

func ExampleManager_Run() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "AUTH_TOKEN", []byte("tok_live_7d3f9a"), nil)

	res, err := m.Run(ctx, "ws-1", secrets.Job{
		Path:   "/bin/sh",
		Args:   []string{"-c", `echo "using $AUTH_TOKEN"; exit 3`},
		Stdout: os.Stdout, // what the build log gets: redacted
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exit code", res.ExitCode)
	// Output:
	// using ***
	// exit code 3
}

func ExampleManager_Import() {
	m := exampleManager()
	ctx := context.Background()
	metas, err := m.Import(ctx, "ws-1", []byte("# from the old CI\nexport API_URL=https://api.example.com\nAPI_KEY='it'\\''s secret'\n"), nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range metas {
		fmt.Println(s.Name, s.Version)
	}
	text, _ := m.Export(ctx, "ws-1", nil)
	fmt.Print(string(text))
	// Output:
	// API_KEY 1
	// API_URL 1
	// API_KEY='it'\''s secret'
	// API_URL='https://api.example.com'
}

// A panel asks before saving: a denied name is refused, a name shaped like
// a program's start-up file is accepted with a warning to show the editor.
func ExampleManager_CheckName() {
	m := exampleManager()
	for _, name := range []string{"AUTH_TOKEN", "PSQLRC", "MYTOOLRC"} {
		warnings, err := m.CheckName(name)
		switch {
		case err != nil:
			fmt.Println(name, "refused:", errors.Is(err, secrets.ErrReservedName))
		case len(warnings) > 0:
			fmt.Println(name, "accepted, warning:", warnings[0].Pattern)
		default:
			fmt.Println(name, "accepted")
		}
	}
	// Output:
	// AUTH_TOKEN accepted
	// PSQLRC refused: true
	// MYTOOLRC accepted, warning: *RC
}

// A platform that wants only its own names gives the Manager an allowlist.
func ExampleMatchNames() {
	only, err := secrets.MatchNames("APP_*", "DEPLOY_KEY")
	if err != nil {
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
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, &secrets.Config{OnlyNames: only})
	if err != nil {
		log.Fatal(err)
	}
	_, err = m.Set(context.Background(), "ws-1", "app_token", []byte("s3cr3t"), nil)
	fmt.Println(err)
	_, err = m.Set(context.Background(), "ws-1", "OTHER_TOKEN", []byte("s3cr3t"), nil)
	fmt.Println(errors.Is(err, secrets.ErrReservedName))
	// Output:
	// <nil>
	// true
}

// A secret's scope is part of its name; a job names its environment and
// whether it is protected, and gets, for each variable, the most specific
// scope that applies to it.
func ExampleManager_Prepare_scopes() {
	m := exampleManager()
	ctx := context.Background()
	m.Set(ctx, "ws-1", "API_TOKEN", []byte("dev-token"), nil)
	m.Set(ctx, "ws-1", "API_TOKEN@review/*", []byte("review-token"), nil)
	m.Set(ctx, "ws-1", "API_TOKEN@production", []byte("prod-token"), &secrets.SetOptions{Info: &secrets.Info{Protected: true}})

	for _, o := range []secrets.PrepareOptions{
		{Environment: "review/fix-1"},
		{Environment: "production", Protected: true},
		{Environment: "production"}, // not protected: the protected value is absent for it
	} {
		o.Base = []string{}
		job, err := m.Prepare(ctx, "ws-1", &o)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(o.Environment, o.Protected, []string(job.Env))
		job.Close()
	}
	rs, _ := m.Resolve(ctx, "ws-1", &secrets.ResolveOptions{Environment: "production"})
	for _, r := range rs {
		fmt.Println(r.Name, r.Status)
	}
	// Output:
	// review/fix-1 false [API_TOKEN=review-token]
	// production true [API_TOKEN=prod-token]
	// production false [API_TOKEN=dev-token]
	// API_TOKEN@production protected
	// API_TOKEN delivered
	// API_TOKEN@review/* other-environment
}
