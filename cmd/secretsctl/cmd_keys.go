package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/dataspace/secrets"
	"github.com/jmoiron/sqlx"
	"github.com/urfave/cli/v3"
)

// keyCommands are the commands of the key lifecycle.
func (a *app) keyCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name: "keygen", Usage: "print a new local master key (a Tink JSON keyset)",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "out", Usage: "write it to `FILE` (mode 0600, never overwritten) instead of stdout"}},
			Action: a.keygen,
		},
		{Name: "migrate", Usage: "create or upgrade the store's schema (no master key needed)", Action: a.migrate},
		{
			Name: "grants", Usage: "print the SQL that splits the store's rights between a migration role and a runtime role",
			Description: "Prints GRANTs for --schema and connects to nothing. The migration role owns the schema\n" +
				"and runs migrate; the runtime role is the one replicas connect as: it reads and writes\n" +
				"through the store, and its Migrate only checks that the schema is current. Run the SQL\n" +
				"as the migration role (or a superuser) after the first migrate.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "migrator", Usage: "the migration `ROLE`, which owns the schema"},
				&cli.StringFlag{Name: "runtime", Usage: "the runtime `ROLE`, which the replicas connect as"},
			},
			Action: a.grants,
		},
		{
			Name: "rotate", Usage: "give workspaces a new data key and re-encrypt their secrets",
			ArgsUsage: "WORKSPACE... | --all",
			Description: "Goes on past a workspace that fails, and reports it; the exit status is that of the\n" +
				"first failure, or 6 if versions were left (listed), which a later rotate finishes.",
			Flags:  []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "every workspace that has a key"}, jsonFlag()},
			Action: a.with(0, -1, "WORKSPACE... or --all", needKey, a.rotate),
		},
		{
			Name: "rewrap", Usage: "move every workspace key to the current master key",
			Description: "Give the former master keys with --old-master-key or --old-kms. The first time a new\n" +
				"master key is used, give --add-master-key to register it in the store (exit 5 without).\n" +
				"Keys that cannot be moved are listed (exit 6); run it again once they can.\n" +
				"With --all, every key is re-wrapped, also those the master key wraps already: after\n" +
				"rotating a KMS key that keeps its name (Transit, Cloud KMS), so old versions can be retired.\n" +
				"With --retire-old, once every key is moved, each --old-master-key/--old-kms is retired:\n" +
				"the store then refuses any new workspace key wrapped by it, from any replica or tool (exit 5\n" +
				"if one still wraps a workspace key, 3 if the store never knew it).",
			Flags: []cli.Flag{jsonFlag(), &cli.BoolFlag{Name: "all", Usage: "re-wrap every workspace key, not only those of other master keys"},
				&cli.BoolFlag{Name: "retire-old", Usage: "after a complete rewrap, retire the former master keys given"}},
			Action: a.with(0, 0, "no arguments", needKey, a.rewrap),
		},
		{
			Name: "keys", Usage: "list the keys of a workspace's data keyset",
			ArgsUsage: "WORKSPACE",
			Flags:     []cli.Flag{jsonFlag()},
			Action:    a.with(1, 1, "WORKSPACE", needKey, a.keys),
		},
		{
			Name: "key", Usage: "enable or disable one data key of a workspace (the kill switch)",
			// Without a subcommand: a usage error, not help and success.
			Action: func(_ context.Context, cmd *cli.Command) error {
				if cmd.Args().Len() > 0 {
					return usage("key: no command %q: give enable or disable, as in: secretsctl key disable WORKSPACE KEY_ID", cmd.Args().First())
				}
				return usage("key: give enable or disable, as in: secretsctl key disable WORKSPACE KEY_ID")
			},
			Commands: []*cli.Command{
				{
					Name: "enable", Usage: "enable a data key again", ArgsUsage: "WORKSPACE KEY_ID",
					Action: a.with(2, 2, "WORKSPACE KEY_ID", needKey, a.keyEnabled(true)),
				},
				{
					Name: "disable", Usage: "disable a data key: what it encrypted fails to decrypt until enabled", ArgsUsage: "WORKSPACE KEY_ID",
					Action: a.with(2, 2, "WORKSPACE KEY_ID", needKey, a.keyEnabled(false)),
				},
			},
		},
	}
}

func (a *app) keygen(ctx context.Context, cmd *cli.Command) error {
	if err := wantArgs(cmd, 0, 0, "no arguments"); err != nil {
		return err
	}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		return err
	}
	defer clear(key)
	if out := outFile(cmd); out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fail(exitFailed, "keygen: %v", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return fail(exitFailed, "keygen: %v", err)
		}
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return fail(exitFailed, "keygen: %v", err)
		}
		return f.Close()
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", key)
	return err
}

func (a *app) migrate(ctx context.Context, cmd *cli.Command) error {
	if err := wantArgs(cmd, 0, 0, "no arguments"); err != nil {
		return err
	}
	dsn := cmd.String("database-url")
	a.scrub = newScrubber(dsn)
	if dsn == "" {
		return usage("no database: give --database-url or set DATABASE_URL")
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return usage("cannot open the database: check --database-url")
	}
	defer db.Close()
	store, err := secrets.NewPostgresStore(db, &secrets.PostgresConfig{Schema: cmd.String("schema")})
	if err != nil {
		return usage("--schema: %s", message(err))
	}
	defer store.Close()
	before, err := store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	after, err := store.SchemaVersion(ctx)
	switch {
	case err != nil:
		return err
	case before == after:
		_, err = fmt.Fprintf(a.stdout, "schema %s is up to date (version %d)\n", store.Schema(), after)
	case before == 0:
		// Not "created": another run may have made it meanwhile, or an
		// administrator made the schema empty beforehand (an SRE trial).
		_, err = fmt.Fprintf(a.stdout, "schema %s is at version %d (it had no tables when this run began)\n", store.Schema(), after)
	default:
		_, err = fmt.Fprintf(a.stdout, "schema %s migrated from version %d to %d\n", store.Schema(), before, after)
	}
	return err
}

// grants prints secrets.PostgresGrants for the schema and the roles.
func (a *app) grants(_ context.Context, cmd *cli.Command) error {
	if err := wantArgs(cmd, 0, 0, "no arguments"); err != nil {
		return err
	}
	if cmd.String("migrator") == "" || cmd.String("runtime") == "" {
		return usage("grants: give --migrator ROLE and --runtime ROLE")
	}
	sql, err := secrets.PostgresGrants(cmd.String("schema"), cmd.String("migrator"), cmd.String("runtime"))
	if err != nil {
		return usage("grants: %s", message(err))
	}
	_, err = io.WriteString(a.stdout, sql)
	return err
}

// rotated is one workspace's outcome in rotate --json.
type rotated struct {
	Workspace string `json:"workspace"`
	secrets.RotateResult
	Error string `json:"error,omitempty"`
	// stopped: the rotation ended before it disabled the former keys (see
	// rotationStopped).
	stopped bool
}

// rotationStopped tells a rotation that ended with err before it
// disabled the former keys (interrupted, the database gone) from one that
// finished and then failed (its audit event, the deletion of former keys:
// a review) and from one that left versions (ErrIncomplete, listed): a
// finished rotation always disables the former primary.
func rotationStopped(res secrets.RotateResult, err error) bool {
	return err != nil && !errors.Is(err, secrets.ErrIncomplete) && len(res.Disabled) == 0
}

func (a *app) rotate(ctx context.Context, cmd *cli.Command, s *session) error {
	all := cmd.Bool("all")
	if all == (cmd.Args().Len() > 0) {
		return usage("rotate: give WORKSPACE... or --all")
	}
	workspaces := cmd.Args().Slice()
	if all {
		for after := ""; ; {
			page, err := s.store.Workspaces(ctx, secrets.WorkspacesQuery{After: after, Limit: 1000})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			workspaces = append(workspaces, page...)
			after = page[len(page)-1]
		}
		if len(workspaces) == 0 {
			fmt.Fprintln(a.stderr, "rotate: no workspace has a key")
		}
	}
	out := []rotated{}
	var first, last error // the first failure other than incomplete; the last error
	failed, incomplete := 0, 0
	for _, ws := range workspaces {
		p := a.progress("rotate " + printable(ws))
		res, err := s.m.RotateKey(ctx, ws, p.update)
		r := rotated{Workspace: ws, RotateResult: res, stopped: rotationStopped(res, err)}
		if r.stopped && p.total > 0 {
			// What the call re-encrypted, which the last progress call
			// before it stopped may not have counted yet (a CLI trial:
			// "2400/6000 stopped", then "stopped after 2600").
			p.done = max(p.done, res.Reencrypted)
		}
		p.finish(r.stopped)
		if err != nil {
			last = err
		}
		switch {
		case errors.Is(err, secrets.ErrIncomplete):
			incomplete++
		case err != nil:
			failed++
			if first == nil {
				first = err
			}
		}
		if err != nil {
			r.Error = message(err)
			if len(workspaces) > 1 {
				fmt.Fprintf(a.stderr, "secretsctl: rotate %s: %s\n", printable(ws), r.Error)
			}
		}
		out = append(out, r)
		if !cmd.Bool("json") && (err == nil || len(res.Left) > 0 || res.Reencrypted > 0) {
			a.printRotated(r)
		}
		if ctx.Err() != nil {
			break // interrupted: what is done stays done
		}
	}
	if cmd.Bool("json") {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	}
	switch {
	case len(workspaces) == 1 && last != nil:
		return last // its own message, printed once
	case failed > 0:
		return fail(exitCode(first), "rotate: %d of %d workspaces failed", failed, len(workspaces))
	case incomplete > 0:
		return fail(exitIncomplete, "rotate: %d of %d workspaces left versions (listed); rotate them again once those are fixed or destroyed", incomplete, len(workspaces))
	}
	return nil
}

func (a *app) printRotated(r rotated) {
	if r.stopped {
		// Stopped (interrupted, the database gone): the former keys are
		// still enabled and open what was not re-encrypted.
		fmt.Fprintf(a.stdout, "%s: rotation stopped after %d versions re-encrypted: the former keys are still enabled; run rotate again to finish it\n",
			printable(r.Workspace), r.Reencrypted)
		return
	}
	note := ""
	if r.Resumed {
		// No new key: the primary is the one a rotation cut off (or the
		// current one, with rows restored under a former key enabled).
		note = fmt.Sprintf(" (finished an earlier rotation with its key; run rotate again to replace key %d too)", r.Primary)
	}
	if len(r.Deleted) > 0 {
		note += fmt.Sprintf(", %d former keys deleted", len(r.Deleted))
	}
	fmt.Fprintf(a.stdout, "%s: key %d is primary, %d versions re-encrypted, %d old keys disabled%s\n",
		printable(r.Workspace), r.Primary, r.Reencrypted, len(r.Disabled), note)
	for _, l := range r.Left {
		fmt.Fprintf(a.stdout, "%s: left %s version %d: %s\n", printable(r.Workspace), printable(l.Name), l.Version, printableText(cliWords(l.Reason)))
	}
}

func (a *app) rewrap(ctx context.Context, cmd *cli.Command, s *session) error {
	retire := cmd.Bool("retire-old")
	if retire && len(s.old) == 0 {
		return usage("--retire-old: give the former master keys with --old-master-key or --old-kms")
	}
	p := a.progress("rewrap")
	res, err := s.m.Rewrap(ctx, &secrets.RewrapOptions{All: cmd.Bool("all"), Progress: p.update})
	p.finish(err != nil && !errors.Is(err, secrets.ErrIncomplete))
	if errors.Is(err, secrets.ErrMasterKey) {
		return err // nothing was moved: no result to print
	}
	if cmd.Bool("json") {
		if werr := writeJSON(a.stdout, res); werr != nil {
			return werr
		}
	} else {
		fmt.Fprintf(a.stdout, "%d workspace keys re-wrapped\n", res.Rewrapped)
		for _, l := range res.Left {
			fmt.Fprintf(a.stdout, "left: workspace %s: %s\n", printable(l.Workspace), printableText(cliWords(l.Reason)))
		}
	}
	if err != nil || !retire {
		return err
	}
	for _, id := range s.old {
		if err := s.m.RetireMasterKey(ctx, id); err != nil {
			return err
		}
		if !cmd.Bool("json") {
			fmt.Fprintf(a.stdout, "master key %s retired\n", id)
		}
	}
	return nil
}

func (a *app) keys(ctx context.Context, cmd *cli.Command, s *session) error {
	keys, err := s.m.Keys(ctx, cmd.Args().Get(0))
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		if keys == nil {
			keys = []secrets.KeyInfo{}
		}
		return writeJSON(a.stdout, keys)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "KEY\tPRIMARY\tENABLED")
	yesNo := map[bool]string{true: "yes", false: "no"}
	for _, k := range keys {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", k.ID, yesNo[k.Primary], yesNo[k.Enabled])
	}
	return tw.Flush()
}

func (a *app) keyEnabled(enabled bool) action {
	return func(ctx context.Context, cmd *cli.Command, s *session) error {
		ws := cmd.Args().Get(0)
		id, err := strconv.ParseUint(cmd.Args().Get(1), 10, 32)
		if err != nil {
			return usage("%q is not a key ID (see keys %s)", cmd.Args().Get(1), ws)
		}
		if err := s.m.SetKeyEnabled(ctx, ws, uint32(id), enabled); err != nil {
			return err
		}
		state := map[bool]string{true: "enabled", false: "disabled"}[enabled]
		_, err = fmt.Fprintf(a.stdout, "workspace %s: key %d %s\n", printable(ws), id, state)
		return err
	}
}
