// Command secretsctl is the operator's tool for a platform's secrets store
// in Postgres: it generates master keys, migrates the schema, edits and
// inspects secrets, reads the audit trail, rotates data keys, moves
// workspace keys to a new master key, and runs a command with a
// workspace's secrets.
//
//	secretsctl keygen --out master-key.json
//	export DATABASE_URL=postgres://... SECRETS_MASTER_KEY_FILE=master-key.json
//	secretsctl migrate
//	secretsctl grants --migrator secrets_owner --runtime app   # SQL for a least-privilege runtime role
//	secretsctl set ws-1 AUTH_TOKEN                 # prompts without echo on a terminal
//	printf %s "$TOKEN" | secretsctl set ws-1 AUTH_TOKEN
//	secretsctl list ws-1                           # needs no master key
//	secretsctl events --json ws-1 | jq .
//	secretsctl run ws-1 -- python3 job.py
//	secretsctl resolve ws-1 --parents group:acme,instance   # what a job gets, and from where
//	secretsctl run ws-1 --parents group:acme,instance -- python3 job.py
//	secretsctl rotate --all
//	secretsctl --kms aws-kms://arn:... --old-master-key master-key.json --add-master-key rewrap
//
// Values are read from stdin (with a prompt on a terminal) or a file,
// never from the command line. One trailing newline of piped input or of
// a file is dropped (printf and echo alike give the value), unless --raw.
//
// Every command records its actor (--actor; by default "cli:" and the
// operator's login name) in the audit trail. Commands that decrypt
// nothing (list, meta, versions, info without flag changes, delete,
// undelete, destroy, delete-workspace, resolve, events, due, purge, migrate, grants) need
// no master key. Every command that prints data takes --json; the field
// names are those of the library's types (Meta, VersionMeta, Event,
// Page, Diff, RotateResult, RewrapResult, KeyInfo, PurgeResult, Resolved).
//
// Exit status: see exitHelp in errors.go, printed by secretsctl --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"strings"
	"syscall"

	"github.com/dataspace/secrets"
	_ "github.com/lib/pq"
	"github.com/urfave/cli/v3"
)

func main() {
	// Not dumpable: no process of the operator's user (a job run as it)
	// reads the master key or the database URL from our memory or
	// environment. Elsewhere than on Linux it does nothing.
	secrets.HardenProcess()
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// An interruption is the cause of a command's context that a signal
// ended (Ctrl-C's SIGINT, SIGTERM): the command exits 128+N.
type interruption struct{ sig os.Signal }

func (e *interruption) Error() string {
	if s, ok := e.sig.(syscall.Signal); ok {
		return fmt.Sprintf("interrupted by signal %d (%s)", int(s), s)
	}
	return "interrupted by " + e.sig.String()
}

// code is 128+N for signal N, as shells report a command a signal ended.
func (e *interruption) code() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailed
}

// signalContext returns a context that SIGINT or SIGTERM ends, with an
// *interruption as its cause, and the function that stops listening
// (and waits for its goroutine). Later signals are caught and ignored
// until then: the command in progress ends on the first.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case s := <-sigs:
			cancel(&interruption{sig: s})
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		<-ended
		signal.Stop(sigs)
		cancel(nil)
	}
}

// interrupted returns the interruption that ended ctx, or nil.
func interrupted(ctx context.Context) *interruption {
	var i *interruption
	if errors.As(context.Cause(ctx), &i) {
		return i
	}
	return nil
}

// app holds a run's streams and what commands share.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// job is the command line after "--" of "run", and dashdash whether
	// there was one.
	job      []string
	dashdash bool
	// scrub removes the database URL from what is printed.
	scrub scrubber
}

// run is main without its process-wide effects: it runs the command
// line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.root()
	args, a.job, a.dashdash = splitJob(root, args)
	if databaseURLArg(args) {
		fmt.Fprintln(a.stderr, "secretsctl: warning: --database-url on the command line is visible to every user of this machine (ps, /proc); set DATABASE_URL instead")
	}
	if !a.dashdash && commandName(root, args) == "run" && !wantsHelp(args) {
		return a.report(usage("run: want WORKSPACE -- COMMAND [ARG...] (the -- is needed)"))
	}
	err := root.Run(ctx, args)
	var ce *codedError
	if i := interrupted(ctx); i != nil && err != nil && !(errors.As(err, &ce) && (ce.quiet || ce.code == i.code())) {
		// Whatever failed, a signal stopped it. A job's own status
		// (quiet) is the job's to give; a read of input says itself
		// what the interruption left undone.
		err = &codedError{code: i.code(), msg: i.Error()}
	}
	return a.report(err)
}

// report prints err as one line and returns the exit status.
func (a *app) report(err error) int {
	code := exitCode(err)
	if ce, ok := err.(*codedError); ok && ce.quiet {
		return code
	}
	if err != nil {
		msg := message(err)
		// The library's errors hold no connection string or password
		// (its TestErrorsHoldNoCredentials): they are printed as they
		// are, so that a password that is also a word of them is not
		// told by where "[redacted]" stands (a CLI trial). secretsctl's
		// own, which may quote a driver or URL parser, are scrubbed.
		if !strings.HasPrefix(err.Error(), "secrets: ") {
			if a.scrub == nil {
				a.scrub = newScrubber(os.Getenv("DATABASE_URL"))
			}
			msg = a.scrub.scrub(msg)
		}
		fmt.Fprintln(a.stderr, "secretsctl: "+escapeControls(msg))
	}
	return code
}

func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// root builds the command tree.
func (a *app) root() *cli.Command {
	root := &cli.Command{
		Name:  "secretsctl",
		Usage: "operate a platform's encrypted secrets store",
		Description: "Values are read from stdin or --file, never from the command line; one trailing\n" +
			"newline of piped input or of a file is dropped unless --raw.\n" +
			"Commands that decrypt nothing need no master key.\n\n" + exitHelp,
		Writer:    a.stdout,
		ErrWriter: a.stderr,
		// Errors are reported by run, which chooses the exit status.
		ExitErrHandler: func(context.Context, *cli.Command, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "database-url", Usage: "Postgres connection `URL`", Sources: cli.EnvVars("DATABASE_URL")},
			&cli.StringFlag{Name: "schema", Value: "secrets", Usage: "Postgres schema of the store", Sources: cli.EnvVars("SECRETS_SCHEMA")},
			&cli.StringFlag{Name: "master-key", Usage: "master key: a Tink JSON keyset `FILE` (see keygen)", Sources: cli.EnvVars("SECRETS_MASTER_KEY_FILE")},
			&cli.StringFlag{Name: "kms", Usage: "master key: a KMS key `URI` (aws-kms://, gcp-kms://, hcvault://)", Sources: cli.EnvVars("SECRETS_KMS_URI")},
			&cli.StringSliceFlag{Name: "old-master-key", Usage: "a former master key `FILE`, to read and rewrap (repeatable)"},
			&cli.StringSliceFlag{Name: "old-kms", Usage: "a former KMS key `URI`, to read and rewrap (repeatable)"},
			&cli.BoolFlag{Name: "add-master-key", Usage: "register the master key in a store that does not know it yet (a new key: rewrap to it)"},
			&cli.StringFlag{Name: "audit-key", Usage: "audit key `FILE` (Tink JSON keyset) the platform fingerprints values with", Sources: cli.EnvVars("SECRETS_AUDIT_KEY_FILE")},
			&cli.StringFlag{Name: "actor", Value: defaultActor(), Usage: "who is recorded in the audit trail as acting"},
		},
	}
	for _, cmds := range [][]*cli.Command{
		a.keyCommands(), a.readCommands(), a.writeCommands(), a.bulkCommands(), a.backupCommands(),
		a.auditCommands(), {a.resolveCommand(), a.runCommand()},
	} {
		root.Commands = append(root.Commands, cmds...)
	}
	onUsage := func(_ context.Context, _ *cli.Command, err error, _ bool) error {
		return usage("%v", err)
	}
	var walk func(c *cli.Command)
	walk = func(c *cli.Command) {
		c.OnUsageError = onUsage
		if c != root {
			// No "help" subcommand below the root: "help" is a valid
			// workspace, and `delete-workspace --yes help` printed help
			// and exited 0 (an identifier trial). -h and --help remain,
			// and `secretsctl help COMMAND`.
			c.HideHelpCommand = true
		}
		if len(c.Commands) > 0 && c.Action == nil {
			c.Action = unknownCommand
		}
		for _, sub := range c.Commands {
			walk(sub)
		}
	}
	walk(root)
	return root
}

// unknownCommand is the action of a command that has subcommands: it
// shows the help, or refuses a name that is none of them.
func unknownCommand(ctx context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return usage("no command %q (%s --help lists them)", cmd.Args().First(), cmd.FullName())
	}
	if cmd.Root() == cmd {
		return cli.ShowRootCommandHelp(cmd)
	}
	return cli.ShowSubcommandHelp(cmd)
}

// commandName returns the first argument of args that is not a global
// flag or a global flag's value: the command's name ("" if none).
func commandName(root *cli.Command, args []string) string {
	i := commandIndex(root, args)
	if i < 0 {
		return ""
	}
	return args[i]
}

func commandIndex(root *cli.Command, args []string) int {
	takesValue := map[string]bool{}
	for _, f := range root.Flags {
		if _, ok := f.(*cli.BoolFlag); !ok {
			for _, n := range f.Names() {
				takesValue[n] = true
			}
		}
	}
	for i := 1; i < len(args); i++ {
		s := args[i]
		switch {
		case s == "--":
			return -1
		case len(s) > 1 && s[0] == '-':
			name := s[1:]
			if name[0] == '-' {
				name = name[1:]
			}
			if takesValue[name] {
				i++ // its value
			}
		default:
			return i
		}
	}
	return -1
}

// databaseURLArg reports whether args (after the program's name, up to
// "--") give --database-url: a command line, password included, is
// visible to every user of the machine, an environment variable is not.
func databaseURLArg(args []string) bool {
	for _, s := range args[min(1, len(args)):] {
		if s == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(s, "-"), "=")
		if strings.HasPrefix(s, "-") && name == "database-url" {
			return true
		}
	}
	return false
}

// wantsHelp reports whether args ask for help.
func wantsHelp(args []string) bool {
	for _, s := range args[1:] {
		if s == "--" {
			return false
		}
		if s == "-h" || s == "--help" {
			return true
		}
	}
	return false
}
