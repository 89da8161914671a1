// Command secretsctl is the operator's tool for a platform's secrets
// store in Postgres: it generates master keys, migrates the schema, sets,
// lists and removes secrets, rotates data keys, moves workspace keys to a
// new master key, and runs a command with a workspace's secrets.
//
//	secretsctl keygen --out master-key.json
//	export DATABASE_URL=postgres://... SECRETS_MASTER_KEY_FILE=master-key.json
//	secretsctl migrate
//	printf %s "$TOKEN" | secretsctl set ws-1 AUTH_TOKEN     # the value comes from stdin, never argv
//	secretsctl list ws-1
//	secretsctl run ws-1 -- python3 job.py
//	secretsctl rotate --all
//	secretsctl --kms aws-kms://arn:... --old-master-key master-key.json rewrap
//
// Exit status: 0 on success; 1 when an operation fails; 2 for a usage
// error; for run, the command's own status (128+N if signal N ended it).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/kms"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"
)

// opError marks an error of the operation itself (exit 1), as opposed to
// a usage error (exit 2).
type opError struct{ err error }

func (e opError) Error() string { return e.err.Error() }
func (e opError) Unwrap() error { return e.err }

// exitError carries the status of a command run by "run".
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without its process-wide effects, for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.Run(ctx, args)
	var ee exitError
	var oe opError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &oe):
		fmt.Fprintln(stderr, "secretsctl:", oe.err)
		return 1
	default:
		fmt.Fprintln(stderr, "secretsctl:", err)
		fmt.Fprintln(stderr, "run 'secretsctl --help' for usage")
		return 2
	}
}

func defaultActor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.Command {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	return &cli.Command{
		Name:      "secretsctl",
		Usage:     "operate a platform's encrypted secrets store",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are reported by run, which chooses the exit status.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database-url", Usage: "Postgres connection `URL`", Sources: cli.EnvVars("DATABASE_URL")},
			&cli.StringFlag{Name: "schema", Value: "secrets", Usage: "Postgres schema of the store", Sources: cli.EnvVars("SECRETS_SCHEMA")},
			&cli.StringFlag{Name: "master-key", Usage: "master key: a Tink JSON keyset `FILE` (see keygen)", Sources: cli.EnvVars("SECRETS_MASTER_KEY_FILE")},
			&cli.StringFlag{Name: "kms", Usage: "master key: a KMS key `URI` (aws-kms://, gcp-kms://, hcvault://)", Sources: cli.EnvVars("SECRETS_KMS_URI")},
			&cli.StringSliceFlag{Name: "old-master-key", Usage: "a former master key `FILE`, for reading and rewrap (repeatable)"},
			&cli.StringSliceFlag{Name: "old-kms", Usage: "a former KMS key `URI`, for reading and rewrap (repeatable)"},
			&cli.StringFlag{Name: "actor", Value: defaultActor(), Usage: "who is recorded as making changes"},
		},
		Commands: []*cli.Command{
			{
				Name: "keygen", Usage: "print a new local master key (a Tink JSON keyset)",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "out", Usage: "write it to `FILE` (mode 0600, never overwritten) instead of stdout"}},
				Action: a.keygen,
			},
			{Name: "migrate", Usage: "create or upgrade the store's schema", Action: a.migrate},
			{
				Name: "set", Usage: "set a secret; the value is read from stdin or a file, never from the command line",
				ArgsUsage: "WORKSPACE NAME",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "file", Usage: "read the value from `FILE` instead of stdin"},
					&cli.BoolFlag{Name: "keep-newline", Usage: "keep a final newline (by default one is dropped)"},
				},
				Action: a.withManager(2, "WORKSPACE NAME (the value comes from stdin or --file)", a.set),
			},
			{Name: "list", Usage: "list a workspace's secrets (names and metadata, never values)", ArgsUsage: "WORKSPACE", Action: a.withManager(1, "WORKSPACE", a.list)},
			{Name: "rm", Usage: "delete a secret and its history", ArgsUsage: "WORKSPACE NAME", Action: a.withManager(2, "WORKSPACE NAME", a.rm)},
			{
				Name: "rotate", Usage: "rotate the data key of workspaces and re-encrypt their secrets",
				ArgsUsage: "[WORKSPACE...]",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "every workspace"}},
				Action:    a.withManager(-1, "", a.rotate),
			},
			{Name: "rewrap", Usage: "move every workspace key to the current master key (give the former with --old-master-key or --old-kms)", Action: a.withManager(0, "no arguments", a.rewrap)},
			{
				Name: "run", Usage: "run a command with a workspace's secrets in its environment, its output redacted",
				ArgsUsage: "WORKSPACE -- COMMAND [ARG...]",
				Flags:     []cli.Flag{&cli.StringSliceFlag{Name: "pass-env", Usage: "pass this `VARIABLE` of secretsctl's environment on to the command (repeatable); nothing else is passed but a default PATH"}},
				Action:    a.withManager(-1, "", a.runCmd),
			},
			{
				Name: "import", Usage: "import a .env file into a workspace, all or nothing", ArgsUsage: "WORKSPACE",
				Flags:  []cli.Flag{&cli.StringFlag{Name: "file", Usage: "read `FILE` instead of stdin"}},
				Action: a.withManager(1, "WORKSPACE", a.importEnv),
			},
			{Name: "export", Usage: "print a workspace as .env text (reveals every value)", ArgsUsage: "WORKSPACE", Action: a.withManager(1, "WORKSPACE", a.exportEnv)},
		},
	}
}

type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func usage(format string, args ...any) error { return fmt.Errorf(format, args...) }

func op(err error) error {
	if err == nil {
		return nil
	}
	return opError{err}
}

// cipher loads the master key named by --master-key or --kms.
func loadCipher(ctx context.Context, file, uri string) (secrets.Cipher, error) {
	switch {
	case file != "" && uri != "":
		return nil, usage("give --master-key or --kms, not both")
	case file != "":
		c, err := secrets.LoadLocalCipher(file)
		return c, op(err)
	case uri != "":
		c, err := kms.NewCipher(ctx, uri, nil)
		return c, op(err)
	}
	return nil, usage("no master key: give --master-key FILE or --kms URI (or SECRETS_MASTER_KEY_FILE, SECRETS_KMS_URI)")
}

// manager opens the store and builds a Manager from the global flags.
func (a *app) manager(ctx context.Context, cmd *cli.Command) (*secrets.Manager, *secrets.PostgresStore, func(), error) {
	url := cmd.String("database-url")
	if url == "" {
		return nil, nil, nil, usage("no database: give --database-url or set DATABASE_URL")
	}
	c, err := loadCipher(ctx, cmd.String("master-key"), cmd.String("kms"))
	if err != nil {
		return nil, nil, nil, err
	}
	var old []secrets.Cipher
	for _, f := range cmd.StringSlice("old-master-key") {
		oc, err := loadCipher(ctx, f, "")
		if err != nil {
			return nil, nil, nil, err
		}
		old = append(old, oc)
	}
	for _, u := range cmd.StringSlice("old-kms") {
		oc, err := loadCipher(ctx, "", u)
		if err != nil {
			return nil, nil, nil, err
		}
		old = append(old, oc)
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, nil, nil, op(errors.New("cannot open the database (check --database-url)"))
	}
	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: cmd.String("schema")})
	if err != nil {
		db.Close()
		return nil, nil, nil, usage("%v", err)
	}
	m, err := secrets.New(store, c, &secrets.Config{DecryptOnly: old})
	if err != nil {
		db.Close()
		return nil, nil, nil, op(err)
	}
	return m, store, func() { db.Close() }, nil
}

// managed is a command that works through a Manager.
type managed func(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error

// withManager checks that cmd has n arguments (n < 0: any), named by
// argsUsage in the usage error, builds the Manager and runs fn.
func (a *app) withManager(n int, argsUsage string, fn managed) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		if n >= 0 {
			if err := wantArgs(cmd, n, argsUsage); err != nil {
				return err
			}
		}
		m, store, done, err := a.manager(ctx, cmd)
		if err != nil {
			return err
		}
		defer done()
		return fn(ctx, cmd, m, store)
	}
}

func (a *app) actx(ctx context.Context, cmd *cli.Command) context.Context {
	return secrets.WithActor(ctx, cmd.String("actor"))
}

func wantArgs(cmd *cli.Command, n int, names string) error {
	if cmd.Args().Len() != n {
		return usage("%s: want %s, got %d arguments", cmd.Name, names, cmd.Args().Len())
	}
	return nil
}

func (a *app) keygen(ctx context.Context, cmd *cli.Command) error {
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		return op(err)
	}
	if out := cmd.String("out"); out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return op(err)
		}
		if _, err := f.Write(append(key, '\n')); err != nil {
			f.Close()
			return op(err)
		}
		return op(f.Close())
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", key)
	return op(err)
}

func (a *app) migrate(ctx context.Context, cmd *cli.Command) error {
	url := cmd.String("database-url")
	if url == "" {
		return usage("no database: give --database-url or set DATABASE_URL")
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return op(errors.New("cannot open the database (check --database-url)"))
	}
	defer db.Close()
	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: cmd.String("schema")})
	if err != nil {
		return usage("%v", err)
	}
	if err := store.Migrate(ctx); err != nil {
		return op(err)
	}
	fmt.Fprintf(a.stdout, "schema %s is up to date\n", store.Schema())
	return nil
}

func (a *app) readInput(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		return b, op(err)
	}
	b, err := io.ReadAll(bufio.NewReader(a.stdin))
	return b, op(err)
}

func (a *app) set(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	value, err := a.readInput(cmd.String("file"))
	if err != nil {
		return err
	}
	defer clear(value)
	if !cmd.Bool("keep-newline") {
		value = trimNewline(value)
	}
	meta, err := m.Set(a.actx(ctx, cmd), cmd.Args().Get(0), cmd.Args().Get(1), value)
	if err != nil {
		return op(err)
	}
	fmt.Fprintf(a.stdout, "%s: version %d\n", meta.Name, meta.Version)
	return nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func (a *app) list(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	list, err := m.List(ctx, cmd.Args().Get(0))
	if err != nil {
		return op(err)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tUPDATED\tBY")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, s.Version, s.Updated.Format("2006-01-02 15:04:05Z"), s.UpdatedBy)
	}
	return op(tw.Flush())
}

func (a *app) rm(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	if err := m.Delete(a.actx(ctx, cmd), cmd.Args().Get(0), cmd.Args().Get(1)); err != nil {
		return op(err)
	}
	fmt.Fprintf(a.stdout, "deleted %s\n", cmd.Args().Get(1))
	return nil
}

// bar returns a progress callback drawing a bar on stderr.
func (a *app) bar(what string) (func(done, total int), func()) {
	var b *progressbar.ProgressBar
	update := func(done, total int) {
		if b == nil {
			b = progressbar.NewOptions(total, progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
		}
		b.ChangeMax(total)
		b.Set(done)
	}
	return update, func() {
		if b != nil {
			b.Finish()
		}
	}
}

func (a *app) rotate(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	if cmd.Bool("all") == (cmd.Args().Len() > 0) {
		return usage("rotate: give WORKSPACE... or --all")
	}
	workspaces := cmd.Args().Slice()
	if cmd.Bool("all") {
		for after := ""; ; {
			page, err := store.Workspaces(ctx, after, 1000)
			if err != nil {
				return op(err)
			}
			if len(page) == 0 {
				break
			}
			workspaces = append(workspaces, page...)
			after = page[len(page)-1]
		}
	}
	for _, ws := range workspaces {
		progress, finish := a.bar("rotate " + ws)
		res, err := m.RotateKey(ctx, ws, progress)
		finish()
		if err != nil {
			return op(err)
		}
		note := ""
		if res.Resumed {
			note = " (finished an interrupted rotation)"
		}
		fmt.Fprintf(a.stdout, "%s: key %d is primary, %d versions re-encrypted, %d old keys disabled%s\n",
			ws, res.Primary, res.Reencrypted, len(res.Disabled), note)
	}
	return nil
}

func (a *app) rewrap(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	progress, finish := a.bar("rewrap")
	n, err := m.Rewrap(ctx, progress)
	finish()
	if err != nil {
		return op(err)
	}
	fmt.Fprintf(a.stdout, "%d workspace keys re-wrapped\n", n)
	return nil
}

func (a *app) runCmd(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	args := cmd.Args().Slice()
	if len(args) < 2 {
		return usage("run: want WORKSPACE -- COMMAND [ARG...]")
	}
	base := secrets.DefaultBase()
	for _, name := range cmd.StringSlice("pass-env") {
		if v, ok := os.LookupEnv(name); ok {
			base = append(base, name+"="+v)
		}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	// The job gets the signals and decides; only it ends secretsctl.
	res, err := m.Run(context.WithoutCancel(ctx), args[0], secrets.Job{
		Path: args[1], Args: args[2:], Base: base,
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Signals: sigs,
	})
	if err != nil {
		return op(err)
	}
	if res.Signal != nil {
		if s, ok := res.Signal.(syscall.Signal); ok {
			return exitError{128 + int(s)}
		}
		return exitError{1}
	}
	if res.ExitCode != 0 {
		return exitError{res.ExitCode}
	}
	return nil
}

func (a *app) importEnv(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	text, err := a.readInput(cmd.String("file"))
	if err != nil {
		return err
	}
	defer clear(text)
	metas, err := m.Import(a.actx(ctx, cmd), cmd.Args().Get(0), text)
	if err != nil {
		return op(err)
	}
	names := make([]string, len(metas))
	for i, meta := range metas {
		names[i] = meta.Name
	}
	fmt.Fprintf(a.stdout, "imported %d: %s\n", len(metas), strings.Join(names, " "))
	return nil
}

func (a *app) exportEnv(ctx context.Context, cmd *cli.Command, m *secrets.Manager, store *secrets.PostgresStore) error {
	text, err := m.Export(ctx, cmd.Args().Get(0))
	if err != nil {
		return op(err)
	}
	defer clear(text)
	_, err = a.stdout.Write(text)
	return op(err)
}
