package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// readCommands are the commands that read one workspace's secrets.
func (a *app) readCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name: "list", Usage: "list a workspace's secrets: names and metadata, never values (no master key needed)",
			ArgsUsage: "WORKSPACE",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "search", Usage: "only names that contain `TEXT` (ignoring case)"},
				&cli.BoolFlag{Name: "deleted", Usage: "list the soft-deleted secrets instead"},
				&cli.IntFlag{Name: "limit", HideDefault: true, Usage: "one page of at most `N` (1 to 1000); without it, every page"},
				&cli.StringFlag{Name: "after", Usage: "the page after `NAME` (the next of the previous page)"},
				scopeFlag(),
				jsonFlag(),
			},
			Description: "SCOPE is each secret's environment scope (* for every environment); NOTES say\n" +
				"protected for a secret only protected jobs get. With --env, only the secrets of exactly\n" +
				"that scope are listed (with --limit, of that page).",
			Action: a.with(1, 1, "WORKSPACE", noKey, a.list),
		},
		{
			Name: "meta", Usage: "show a secret's metadata, live or deleted (no master key needed)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     []cli.Flag{jsonFlag()},
			Action:    a.with(2, 2, "WORKSPACE NAME", noKey, a.meta),
		},
		{
			Name: "versions", Usage: "list a secret's retained value versions, newest first (no master key needed)",
			ArgsUsage: "WORKSPACE NAME",
			Flags:     []cli.Flag{jsonFlag()},
			Action:    a.with(2, 2, "WORKSPACE NAME", noKey, a.versions),
		},
		{
			Name: "get", Usage: "print a secret's value to stdout, exactly (audited as a reveal; write-only secrets are refused)",
			ArgsUsage: "WORKSPACE NAME",
			Flags: []cli.Flag{
				&cli.Int64Flag{Name: "version", HideDefault: true, Usage: "a retained `VERSION` instead of the current one"},
				&cli.BoolFlag{Name: "json", Usage: "print the metadata and the value (as a string) as JSON"},
				scopeFlag(),
			},
			Action: a.with(2, 2, "WORKSPACE NAME", needKey, a.get),
		},
	}
}

func (a *app) list(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	var only string // the scope --env keeps, if any
	if cmd.IsSet("env") {
		sc, err := flagScope(cmd)
		if err != nil {
			return err
		}
		if err := checkScope(s, sc); err != nil {
			return err
		}
		only = sc
	}
	opts := &secrets.ListOptions{Search: cmd.String("search"), Deleted: cmd.Bool("deleted"), After: cmd.String("after"), Limit: 1000}
	onePage := cmd.IsSet("limit")
	if onePage {
		if n := cmd.Int("limit"); n < 1 || n > 1000 {
			return usage("--limit: from 1 to 1000")
		}
		opts.Limit = cmd.Int("limit")
	}
	var all secrets.Page
	all.Secrets = []secrets.Meta{}
	for {
		p, err := s.m.List(ctx, ws, opts)
		if err != nil {
			return err
		}
		for _, m := range p.Secrets {
			if only == "" || m.Scope == only {
				all.Secrets = append(all.Secrets, m)
			}
		}
		all.Next = p.Next
		if onePage || p.Next == "" {
			break
		}
		opts.After = p.Next
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, all)
	}
	now := time.Now()
	tw := table(a.stdout)
	fmt.Fprintln(tw, "NAME\tSCOPE\tREVISION\tVERSION\tUPDATED\tBY\tNOTES")
	for _, m := range all.Secrets {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", printable(m.Name), printable(m.Scope), m.Revision, m.Version, when(m.Updated), printable(m.UpdatedBy), notes(m, now))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if all.Next != "" {
		fmt.Fprintf(a.stderr, "more: --after %s\n", shellWord(all.Next))
	}
	return nil
}

func (a *app) meta(ctx context.Context, cmd *cli.Command, s *session) error {
	m, err := s.m.Meta(ctx, cmd.Args().Get(0), cmd.Args().Get(1))
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, m)
	}
	return printMeta(a.stdout, m)
}

func (a *app) versions(ctx context.Context, cmd *cli.Command, s *session) error {
	vs, err := s.m.Versions(ctx, cmd.Args().Get(0), cmd.Args().Get(1))
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		if vs == nil {
			vs = []secrets.VersionMeta{}
		}
		return writeJSON(a.stdout, vs)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "VERSION\tWRITTEN\tBY\tCURRENT\tPROTECTED")
	for _, v := range vs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", v.Version, when(v.Written), printable(v.WrittenBy), yes(v.Current), yes(v.Protected))
	}
	return tw.Flush()
}

// revealed is get's JSON: the metadata and the value.
type revealed struct {
	secrets.Meta
	Value string `json:"value"`
}

func (a *app) get(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	name, err := scopedName(cmd, cmd.Args().Get(1))
	if err != nil {
		return err
	}
	var sec secrets.Secret
	if cmd.IsSet("version") {
		v := cmd.Int64("version")
		if v < 1 {
			return usage("--version: a version is 1 or more")
		}
		sec, err = s.m.GetVersion(ctx, ws, name, v)
	} else {
		sec, err = s.m.Get(ctx, ws, name)
	}
	if err != nil {
		return err
	}
	v := sec.Value.Reveal()
	defer clear(v)
	if cmd.Bool("json") {
		if !utf8.Valid(v) {
			return fail(exitRefused, "the value of %s is not UTF-8 text, which JSON cannot carry: get it without --json", sec.Name)
		}
		return writeJSON(a.stdout, revealed{sec.Meta, string(v)})
	}
	if isTerminal(a.stdout) && actsOnTerminal(v) {
		return fail(exitRefused, "the value of %s holds control characters (an escape sequence?), which would act on this terminal "+
			"rather than show: nothing was printed; get it into a file or a pipe (| cat -v)", printable(sec.Name))
	}
	if _, err := a.stdout.Write(v); err != nil {
		return err
	}
	// On a terminal, end the line so that the prompt does not hide the
	// value's end; a pipe gets the bytes exactly.
	if isTerminal(a.stdout) && !endsWithNewline(v) {
		fmt.Fprintln(a.stdout)
	}
	return nil
}

// parseVersion reads a version number argument.
func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, usage("%q is not a version (1 or more)", s)
	}
	return v, nil
}
