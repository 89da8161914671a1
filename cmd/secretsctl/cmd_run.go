package main

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

func (a *app) runCommand() *cli.Command {
	return &cli.Command{
		Name: "run", Usage: "run a command with a workspace's secrets in its environment, its output redacted",
		ArgsUsage: "WORKSPACE -- COMMAND [ARG...]",
		Description: "The command gets a default PATH and the secrets, nothing else of secretsctl's\n" +
			"environment but the variables --pass-env names. These signals secretsctl receives are passed\n" +
			"on to it, and do not end secretsctl: SIGHUP, SIGINT (Ctrl-C), SIGQUIT, SIGABRT, SIGTERM,\n" +
			"SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH; not the stop signals (SIGTSTP, SIGCONT), nor those about\n" +
			"secretsctl's own process (SIGPIPE, SIGCHLD, SIGURG, SIGPROF, SIGXCPU, ...). Run as root,\n" +
			"secretsctl runs the command as --user (default nobody), so that it cannot read secretsctl's\n" +
			"environment, memory or master key file: in a session of its own, with no terminal (what is\n" +
			"typed reaches its stdin through a pipe),\n" +
			"and on Linux in a PID namespace of its own, so that nothing it leaves running outlives it\n" +
			"to read a later command's secrets (--no-pid-namespace where secretsctl lacks CAP_SYS_ADMIN).\n" +
			"Processes of one user read each other through /proc all the same: secretsctl refuses to run\n" +
			"a command as a user that another secretsctl run, or any other process, runs as (a daemon as\n" +
			"nobody, say) unless --shared-user; give such commands users of their own. Run as its own\n" +
			"user, the command gets the terminal while it runs.\n" +
			"With --parents, the workspace inherits those containers' secrets: for each name the nearest\n" +
			"level wins (secretsctl resolve shows which); an invalid chain exits 5 and runs nothing.\n" +
			"A workspace or parent with no secrets (a mistyped name) is refused unless --allow-empty.\n" +
			"--env picks the job's environment (each name gets its most specific matching scope) and\n" +
			"--protected lets it have protected secrets; a job without --protected never gets one.\n" +
			"A malformed --env exits 2 and runs nothing.\n" +
			"Exit status: the command's own (128+N if signal N ended it); 127 if it was not found,\n" +
			"126 if it could not be executed; secretsctl's own otherwise (see secretsctl --help).",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "pass-env", Usage: "pass this `VARIABLE` of secretsctl's environment on (repeatable); " +
				"never secretsctl's own credentials (DATABASE_URL, SECRETS_*, VAULT_*, PGPASSWORD, AWS and Google credentials: exit 2)"},
			&cli.StringFlag{Name: "dir", Usage: "run in `DIR`"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "run even if the workspace has no secrets"},
			&cli.StringFlag{Name: "user", Usage: "run the command as `USER` (a name or numeric ID); as root the default is nobody"},
			&cli.BoolFlag{Name: "no-pid-namespace", Usage: "run another user's command in secretsctl's PID namespace (what it leaves running outlives it)"},
			&cli.BoolFlag{Name: "shared-user", Usage: "run even if another process runs as the command's user (they can read each other)",
				Sources: cli.EnvVars("SECRETS_SHARED_USER")},
			parentsFlag(),
		}, jobFlags()...),
		Action: a.withConfig(1, 1, "WORKSPACE -- COMMAND [ARG...]", needKey, withParents, a.runJob),
	}
}

// splitJob takes the job's command line, after the first "--" that
// follows the command "run", out of args, so that no flag parsing
// touches it.
func splitJob(root *cli.Command, args []string) (head, job []string, dashdash bool) {
	i := commandIndex(root, args)
	if i < 0 || args[i] != "run" {
		return args, nil, false
	}
	for j := i + 1; j < len(args); j++ {
		if args[j] == "--" {
			return args[:j:j], append([]string{}, args[j+1:]...), true
		}
	}
	return args, nil, false
}

func (a *app) runJob(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	if len(a.job) == 0 {
		return usage("run: want WORKSPACE -- COMMAND [ARG...]: no command after --")
	}
	for _, name := range cmd.StringSlice("pass-env") {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			// A variable's name, not NAME=VALUE (a CLI trial: it was
			// taken silently, and passed nothing).
			return usage("run: --pass-env %s: give a variable's name, such as --pass-env HOME; a value comes from secretsctl's environment", printable(name))
		}
		if ownCredential(name) {
			// The name only: never its value.
			return usage("run: --pass-env %s: secretsctl reads its own credentials or keys from it, and a job never gets them "+
				"(store what the job needs as a secret of the workspace)", name)
		}
	}
	environment, err := jobEnvironment(cmd)
	if err != nil {
		return err
	}
	if dir := cmd.String("dir"); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return usage("--dir %s: not a directory", dir)
		}
	}
	switch {
	case cmd.Bool("allow-empty"):
	case len(cmd.StringSlice("parents")) > 0:
		// Refuse a mistyped workspace or parent, and an invalid chain,
		// before the job starts. The check reveals no value and is
		// audited as a listing.
		c, err := emptyLevel(ctx, cmd, s)
		if err != nil {
			return err
		}
		if c != "" {
			return fail(exitNotFound, "run: %q has no secrets (mistyped? give --allow-empty to run it anyway)", c)
		}
	default:
		// Refuse a mistyped workspace rather than run without secrets.
		if err := refuseEmpty(ctx, cmd, s, "run"); err != nil {
			return err
		}
	}
	u, err := jobUser(cmd.String("user"))
	if err != nil {
		return err
	}
	if u != nil {
		release, err := claimUser(u, cmd.Bool("shared-user"))
		if err != nil {
			return err
		}
		defer release()
	}
	base := secrets.DefaultBase()
	for _, name := range cmd.StringSlice("pass-env") {
		if v, ok := os.LookupEnv(name); ok {
			base = append(base, name+"="+v)
		}
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	// The job gets the signals and decides; only its end ends secretsctl.
	res, err := s.m.Run(context.WithoutCancel(ctx), ws, secrets.Job{
		Path: a.job[0], Args: a.job[1:], Dir: cmd.String("dir"), Base: base,
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Signals: sigs, User: u, NoPIDNamespace: cmd.Bool("no-pid-namespace"),
		Environment: environment, Protected: cmd.Bool("protected"),
	})
	if err != nil {
		if u != nil && !cmd.Bool("no-pid-namespace") && runtime.GOOS == "linux" && os.Geteuid() == 0 && errors.Is(err, syscall.EPERM) {
			return fail(exitNoExec, "run: %s: cannot start as another user in a PID namespace of its own, which takes CAP_SYS_ADMIN "+
				"(in a container, grant it; or give --no-pid-namespace, and each command a user of its own)", a.job[0])
		}
		who := ""
		if u != nil {
			who = cmp.Or(cmd.String("user"), defaultJobUser)
		}
		return startError(a.job[0], who, cmd.String("dir"), err)
	}
	switch {
	case res.Signal != nil:
		if sig, ok := res.Signal.(syscall.Signal); ok {
			return &codedError{code: 128 + int(sig), quiet: true}
		}
		return &codedError{code: exitFailed, msg: "run: the command ended by " + res.Signal.String()}
	case res.ExitCode != 0:
		return &codedError{code: res.ExitCode, quiet: true}
	}
	return nil
}

// ownCredential reports whether --pass-env of name would hand the job
// secretsctl's own credentials or keys: the database URL (and
// lib/pq's password and key variables), the master, KMS and audit keys
// (SECRETS_*), and what the KMS clients authenticate with (Vault's,
// AWS's and Google's variables). The job is to see none of them.
func ownCredential(name string) bool {
	switch name {
	case "DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGSSLKEY", "PGSERVICEFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"GOOGLE_APPLICATION_CREDENTIALS":
		return true
	}
	return strings.HasPrefix(name, "SECRETS_") || strings.HasPrefix(name, "VAULT_")
}

// defaultJobUser is whom secretsctl, run as root, runs a job as unless
// --user says otherwise: root's job could read the master key file and
// secretsctl's environment (the database URL).
const defaultJobUser = "nobody"

// jobUser returns the user of --user; without it, nobody when secretsctl
// runs as root; nil (the job runs as secretsctl's user, and gets the
// terminal) when that is secretsctl's own.
func jobUser(name string) (*secrets.OSUser, error) {
	if name == "" {
		if os.Geteuid() != 0 {
			return nil, nil
		}
		name = defaultJobUser
	}
	u, err := secrets.LookupUser(name)
	if err != nil {
		return nil, usage("--user %s: no such user", name)
	}
	if int(u.UID) == os.Geteuid() {
		return nil, nil // secretsctl's own user: the job is no other's
	}
	return u, nil
}

// startError maps a job that could not start to the statuses shells
// use: 127 for a program not found, 126 for one that cannot be executed.
// The latter names the program as found in secretsctl's PATH and the user
// the job was to run as (who, "" for secretsctl's own): a program under a
// folder of root's that other users cannot enter is a common cause. With
// --dir, a folder the job's user cannot enter fails the start the same
// way (the kernel's error does not say which step), so the message names
// both (a CLI trial: it blamed the program).
func startError(path, who, dir string, err error) error {
	var ee *exec.Error
	var pe *fs.PathError
	switch {
	case errors.As(err, &ee) && errors.Is(ee.Err, exec.ErrNotFound),
		errors.As(err, &pe) && errors.Is(pe.Err, fs.ErrNotExist):
		return fail(exitNoCommand, "run: %s: command not found", path)
	case errors.As(err, &ee), errors.As(err, &pe):
		what := path
		if pe != nil && pe.Path != "" && pe.Path != path {
			what += " (" + pe.Path + ")"
		}
		if who != "" {
			what += " as user " + who
		}
		if dir != "" {
			return fail(exitNoExec, "run: %s cannot be executed, or --dir %s cannot be entered: %s", what, printable(dir), oneLine(causeOf(err)))
		}
		return fail(exitNoExec, "run: %s cannot be executed: %s", what, oneLine(causeOf(err)))
	}
	return err
}

// causeOf returns the innermost error's text.
func causeOf(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
