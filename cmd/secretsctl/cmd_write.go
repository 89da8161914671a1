package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// infoFlags edit a secret's Info, with set and info.
func infoFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "description", Usage: "what the secret is for"},
		&cli.StringFlag{Name: "expires", Usage: "when the value stops being valid: `TIME` (2006-01-02, RFC 3339, or from now: 90d, 12h; never)"},
		&cli.StringFlag{Name: "rotate-by", Usage: "when the value should be replaced: `TIME` (as --expires)"},
		&cli.BoolFlag{Name: "write-only", Usage: "injected into jobs, never revealed (cannot be undone)"},
		&cli.BoolFlag{Name: "as-file", Usage: "delivered to jobs as a file (--as-file=false to stop)"},
		&cli.BoolFlag{Name: "protected", Usage: "delivered only to protected jobs (run --protected); --protected=false to stop"},
		&cli.BoolFlag{Name: "expand", Usage: "jobs get the value with its ${NAME} references expanded ($${ is a literal ${); off, a $ means what it says; --expand=false to stop"},
	}
}

// infoChanged reports whether any info flag is given.
func infoChanged(cmd *cli.Command) bool {
	for _, n := range []string{"description", "expires", "rotate-by", "write-only", "as-file", "protected", "expand"} {
		if cmd.IsSet(n) {
			return true
		}
	}
	return false
}

// flagsChanged reports whether the flags bound into ciphertexts may
// change: that re-encrypts, and needs the master key.
func flagsChanged(cmd *cli.Command) bool {
	return cmd.IsSet("write-only") || cmd.IsSet("as-file") || cmd.IsSet("protected") || cmd.IsSet("expand")
}

// applyInfo sets the fields of info that flags give.
func applyInfo(cmd *cli.Command, info *secrets.Info) error {
	now := time.Now()
	if cmd.IsSet("description") {
		info.Description = cmd.String("description")
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"expires", &info.Expires}, {"rotate-by", &info.RotateBy}} {
		if cmd.IsSet(f.name) {
			t, err := parseTime(f.name, cmd.String(f.name), now)
			if err != nil {
				return err
			}
			*f.t = t
		}
	}
	if cmd.IsSet("write-only") {
		info.WriteOnly = cmd.Bool("write-only")
	}
	if cmd.IsSet("as-file") {
		info.File = cmd.Bool("as-file")
	}
	if cmd.IsSet("protected") {
		info.Protected = cmd.Bool("protected")
	}
	if cmd.IsSet("expand") {
		info.Expand = cmd.Bool("expand")
	}
	return nil
}

// writeCommands are the commands that change one secret.
func (a *app) writeCommands() []*cli.Command {
	yes := func(what string) cli.Flag {
		return &cli.BoolFlag{Name: "yes", Usage: what + " without asking (required when stdin is not a terminal)"}
	}
	return []*cli.Command{
		{
			Name: "set", Usage: "set a secret's value, read from stdin (a prompt without echo on a terminal) or --file, never from the command line",
			ArgsUsage: "WORKSPACE NAME",
			Description: "One trailing newline of piped input or of a file is dropped (printf and echo give the\n" +
				"same value); --raw keeps the bytes exactly. An empty value is refused unless --allow-empty.\n" +
				"--env SCOPE sets the secret of that environment scope (NAME@SCOPE); --protected makes it\n" +
				"reach protected jobs only. A malformed scope exits 2 before the value is read.\n" +
				"--expand makes jobs get the value with its ${NAME} references expanded; references that\n" +
				"form a cycle are refused (exit 5), names no scope defines yet are a warning on stderr.\n" +
				"A terminal line holds 4095 bytes: a typed value that fills it is refused (exit 5), as the\n" +
				"terminal drops what is typed past it; give longer or multi-line values with --file or a pipe.",
			Flags: append([]cli.Flag{
				&cli.StringFlag{Name: "file", Usage: "read the value from `FILE` (- for stdin)"},
				&cli.BoolFlag{Name: "raw", Aliases: []string{"keep-newline"}, Usage: "keep the input exactly: no trailing newline dropped"},
				&cli.BoolFlag{Name: "allow-empty", Usage: "store an empty value"},
				&cli.BoolFlag{Name: "create", Usage: "create only: exit 4 if the name is taken"},
				ifRevisionFlag(),
				jsonFlag(),
				scopeFlag(),
			}, infoFlags()...),
			Action: a.with(2, 2, "WORKSPACE NAME (the value comes from stdin or --file, never the command line)", needKey, a.set),
		},
		{
			Name: "info", Usage: "change a secret's description, dates or flags, keeping its value (no master key needed but for --write-only, --as-file, --protected, --expand, or a secret that expands)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     append([]cli.Flag{ifRevisionFlag(), jsonFlag()}, infoFlags()...),
			Action:    a.with(2, 2, "WORKSPACE NAME", flagsChanged, a.info),
		},
		{
			Name: "rollback", Usage: "make a retained version's value the current one (a new version)",
			ArgsUsage: "WORKSPACE NAME VERSION",
			Flags:     []cli.Flag{ifRevisionFlag(), jsonFlag()},
			Action:    a.with(3, 3, "WORKSPACE NAME VERSION", needKey, a.rollback),
		},
		{
			Name: "rename", Usage: "rename a secret, keeping its value, versions and info (re-encrypts: needs the master key)",
			ArgsUsage: "WORKSPACE NAME NEW_NAME",
			Flags:     []cli.Flag{ifRevisionFlag(), jsonFlag()},
			Action:    a.with(3, 3, "WORKSPACE NAME NEW_NAME", needKey, a.rename),
		},
		{
			Name: "delete", Usage: "soft-delete a secret: no longer injected, restorable with undelete (no master key needed)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     []cli.Flag{ifRevisionFlag(), jsonFlag()},
			Action:    a.with(2, 2, "WORKSPACE NAME", noKey, a.delete),
		},
		{
			Name: "undelete", Usage: "restore a soft-deleted secret (no master key needed)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     []cli.Flag{ifRevisionFlag(), jsonFlag()},
			Action:    a.with(2, 2, "WORKSPACE NAME", noKey, a.undelete),
		},
		{
			Name: "destroy", Usage: "remove a secret, live or deleted, and all its versions, for good (no master key needed)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     []cli.Flag{ifRevisionFlag(), yes("destroy")},
			Action:    a.with(2, 2, "WORKSPACE NAME", noKey, a.destroy),
		},
		{
			Name: "delete-workspace", Usage: "remove every secret, version and the key of a workspace, for good (no master key needed)",
			ArgsUsage: "WORKSPACE",
			Flags:     []cli.Flag{yes("delete")},
			Action:    a.with(1, 1, "WORKSPACE", noKey, a.deleteWorkspace),
		},
	}
}

func (a *app) set(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	name, err := scopedName(cmd, cmd.Args().Get(1))
	if err != nil {
		return err
	}
	if _, err := s.m.CheckName(name); err != nil {
		return err // a bad name or scope, before the value is asked for
	}
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	if rev > 0 && cmd.Bool("create") {
		return usage("set: give --create or --if-revision, not both")
	}
	if err := applyInfo(cmd, &secrets.Info{}); err != nil {
		return err // a bad flag, before the value is asked for
	}
	value, err := a.readValue(ctx, name, valueOptions{file: cmd.String("file"), raw: cmd.Bool("raw"), allowEmpty: cmd.Bool("allow-empty")})
	if err != nil {
		return err
	}
	defer clear(value)
	opts := &secrets.SetOptions{IfRevision: rev, IfAbsent: cmd.Bool("create")}
	if infoChanged(cmd) {
		// The flags change some fields of the Info, which Set replaces
		// whole: start from the current one, at the revision it was read.
		info, err := a.currentInfo(ctx, s, ws, name, opts)
		if err != nil {
			return err
		}
		if err := applyInfo(cmd, &info); err != nil {
			return err
		}
		opts.Info = &info
	}
	m, err := s.m.Set(ctx, ws, name, value, opts)
	if err != nil {
		return err
	}
	return a.printWrite(cmd, m, "set")
}

// currentInfo returns the Info of the secret, and makes opts apply only
// to the revision it was read at (or, for a new secret, only if the name
// is still free). It reads the store, not Manager.Meta: the read is part
// of the set, which is audited, and a Meta would record a listing of its
// own (a failed one, "does not exist", for a new secret).
func (a *app) currentInfo(ctx context.Context, s *session, ws, name string, opts *secrets.SetOptions) (secrets.Info, error) {
	if opts.IfAbsent {
		return secrets.Info{}, nil
	}
	cur, err := s.store.Lookup(ctx, ws, name)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		if opts.IfRevision > 0 {
			return secrets.Info{}, &secrets.ConflictError{Name: name, Seen: opts.IfRevision}
		}
		opts.IfAbsent = true
		return secrets.Info{}, nil
	case err != nil:
		return secrets.Info{}, err
	}
	if opts.IfRevision == 0 {
		opts.IfRevision = cur.Revision
	}
	return cur.Info(), nil
}

func (a *app) info(ctx context.Context, cmd *cli.Command, s *session) error {
	ws, name := cmd.Args().Get(0), cmd.Args().Get(1)
	if !infoChanged(cmd) {
		return usage("info: nothing to change: give --description, --expires, --rotate-by, --write-only, --as-file, --protected or --expand (meta shows the info)")
	}
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	cur, err := s.m.Meta(ctx, ws, name)
	if err != nil {
		return err
	}
	if rev == 0 {
		rev = cur.Revision
	}
	if cur.Expand && !flagsChanged(cmd) {
		// A change of an expanding secret's info reads its value to
		// check its references: that one needs the master key.
		ks, err := a.open(ctx, cmd, true, nil)
		if err != nil {
			var ce *codedError
			if errors.As(err, &ce) && ce.code == exitUsage {
				return usage("info: %s expands ${…} references, which a change of its info checks: %s", cur.Name, ce.msg)
			}
			return err
		}
		defer ks.close()
		s = ks
	}
	info := cur.Info
	if err := applyInfo(cmd, &info); err != nil {
		return err
	}
	m, err := s.m.SetInfo(ctx, ws, name, info, &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return a.printWrite(cmd, m, "info changed")
}

func (a *app) rollback(ctx context.Context, cmd *cli.Command, s *session) error {
	version, err := parseVersion(cmd.Args().Get(2))
	if err != nil {
		return err
	}
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	m, err := s.m.Rollback(ctx, cmd.Args().Get(0), cmd.Args().Get(1), version, &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	what := fmt.Sprintf("rolled back to version %d's value", version)
	if m.Protected {
		// Said whether or not it was before: a rollback to a version
		// sealed protected protects the secret again.
		what += " (protected)"
	}
	return a.printWrite(cmd, m, what)
}

func (a *app) rename(ctx context.Context, cmd *cli.Command, s *session) error {
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	ws, from, to := cmd.Args().Get(0), cmd.Args().Get(1), cmd.Args().Get(2)
	m, err := s.m.Rename(ctx, ws, from, to, &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return a.printWrite(cmd, m, "renamed from "+cmd.Args().Get(1))
}

func (a *app) delete(ctx context.Context, cmd *cli.Command, s *session) error {
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	m, err := s.m.Delete(ctx, cmd.Args().Get(0), cmd.Args().Get(1), &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return a.printWrite(cmd, m, "deleted (undelete restores it)")
}

func (a *app) undelete(ctx context.Context, cmd *cli.Command, s *session) error {
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	m, err := s.m.Undelete(ctx, cmd.Args().Get(0), cmd.Args().Get(1), &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return a.printWrite(cmd, m, "restored")
}

func (a *app) destroy(ctx context.Context, cmd *cli.Command, s *session) error {
	ws, name := cmd.Args().Get(0), cmd.Args().Get(1)
	rev, err := ifRevision(cmd)
	if err != nil {
		return err
	}
	// An invalid name (maybe a value pasted into its place) is refused as
	// Destroy would refuse it, before the prompt could show it.
	if _, err := s.m.CheckName(name); errors.Is(err, secrets.ErrInvalidName) || errors.Is(err, secrets.ErrInvalidScope) {
		return err
	}
	if err := a.confirm(ctx, cmd.Bool("yes"), "destroy",
		fmt.Sprintf("Destroy %s of workspace %s and all its versions, for good?", printable(name), printable(ws))); err != nil {
		return err
	}
	if err := s.m.Destroy(ctx, ws, name, &secrets.WriteOptions{IfRevision: rev}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s destroyed\n", printable(name))
	return err
}

func (a *app) deleteWorkspace(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	if err := a.confirm(ctx, cmd.Bool("yes"), "delete-workspace",
		fmt.Sprintf("Delete every secret, version and the key of workspace %s, for good?", printable(ws))); err != nil {
		return err
	}
	// Whether there is anything to delete, read first so that the line
	// printed is true (deleting a workspace with nothing is no error to
	// the library, and a mistyped name is worth saying). It is printed
	// only once the delete, which is authorized and audited, succeeded;
	// an error of the read (an invalid name) is the delete's to report.
	had, herr := workspaceHolds(ctx, s.store, ws)
	if err := s.m.DeleteWorkspace(ctx, ws); err != nil {
		return err
	}
	var err error
	if herr == nil && !had {
		_, err = fmt.Fprintf(a.stdout, "workspace %s had nothing to delete (no secret, no key: mistyped?)\n", printable(ws))
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "workspace %s deleted\n", printable(ws))
	return err
}

// workspaceHolds reports whether the store holds anything of ws: a key,
// a live secret or a deleted one.
func workspaceHolds(ctx context.Context, st secrets.Store, ws string) (bool, error) {
	if _, err := st.Key(ctx, ws); err == nil {
		return true, nil
	} else if !errors.Is(err, secrets.ErrNotFound) {
		return false, err
	}
	for _, deleted := range []bool{false, true} {
		es, err := st.List(ctx, ws, secrets.ListQuery{Deleted: deleted, Limit: 1})
		if err != nil || len(es) > 0 {
			return len(es) > 0, err
		}
	}
	return false, nil
}
