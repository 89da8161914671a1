package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// parentsFlag is --parents of the commands that resolve a workspace's
// secrets across levels (run, resolve). It is a flag of those commands
// only, and has no environment variable: the chain belongs to the
// workspace named on the command line, and a variable left set would
// give it to the next command's workspace as well.
func parentsFlag() cli.Flag {
	return &cli.StringSliceFlag{
		Name: "parents",
		Usage: "the workspace inherits from these `CONTAINER`s, nearest first (comma-separated or repeated; " +
			"at most 8, none twice, not the workspace)",
	}
}

// withParents sets Config.Parents from --parents: the chain for the
// workspace the command acts on (its first argument), none for any
// other. The library checks the chain (ErrInvalidParents, exit 5).
func withParents(cmd *cli.Command, c *secrets.Config) error {
	chain := slices.Clone(cmd.StringSlice("parents"))
	if len(chain) == 0 {
		return nil
	}
	ws := cmd.Args().Get(0)
	c.Parents = func(_ context.Context, w string) ([]string, error) {
		if w != ws {
			return nil, nil
		}
		return slices.Clone(chain), nil
	}
	return nil
}

func (a *app) resolveCommand() *cli.Command {
	return &cli.Command{
		Name: "resolve", Usage: "show what a job of a workspace gets, and from which level, never values (no master key needed)",
		ArgsUsage: "WORKSPACE",
		Description: "Lists every live secret of the workspace and of its --parents, by name, then nearest\n" +
			"level first, then most specific scope first, with its scope and status for a job of --env\n" +
			"(an environment) and --protected: delivered (the job gets it), overridden (a nearer level\n" +
			"or a more specific scope has the name), other-environment (its scope does not match --env),\n" +
			"protected (the job is not --protected), withheld or expired (left out by the host's\n" +
			"policy), refused (the job would get it and is refused for it: a name the rules now refuse,\n" +
			"a secret past its expiry under the host's refuse policy, or a name stored twice by SQL). PROTECTED says yes for a protected secret. It reads as run does and is audited as\n" +
			"a listing of the workspace. A workspace or parent with no secrets (a mistyped name?) is\n" +
			"named on stderr; when no level has any, resolve exits 3. An invalid --parents chain exits 5,\n" +
			"a malformed --env 2.",
		Flags:  append([]cli.Flag{parentsFlag(), jsonFlag()}, jobFlags()...),
		Action: a.withConfig(1, 1, "WORKSPACE", noKey, withParents, a.resolve),
	}
}

func (a *app) resolve(ctx context.Context, cmd *cli.Command, s *session) error {
	environment, err := jobEnvironment(cmd)
	if err != nil {
		return err
	}
	rs, err := s.m.Resolve(ctx, cmd.Args().Get(0), &secrets.ResolveOptions{Environment: environment, Protected: cmd.Bool("protected")})
	if err != nil {
		return err
	}
	// A mistyped name reads as an empty level: say so, as run does (a
	// table of nothing prints nothing, --json an empty list).
	if len(rs) > 0 || cmd.Bool("json") {
		if err := a.printResolved(cmd, rs); err != nil {
			return err
		}
	}
	if len(rs) == 0 {
		return fail(exitNotFound, "resolve: no secrets in %s (mistyped?)", strings.Join(quoteAll(levels(cmd)), ", "))
	}
	for _, c := range emptyLevels(cmd, rs) {
		fmt.Fprintf(a.stderr, "resolve: %q has no secrets (mistyped?)\n", c)
	}
	// The preview reads no value: whether the references of what
	// composes others reach the job is known when the job starts.
	var expanding []string
	for _, r := range rs {
		if r.Expands && r.Status == secrets.ResolvedDelivered {
			expanding = append(expanding, printable(r.Name))
		}
	}
	if len(expanding) > 0 {
		fmt.Fprintf(a.stderr, "resolve: %s compose others (${NAME}): a reference the job does not get fails the job when it starts, which this preview, reading no values, cannot tell\n",
			strings.Join(expanding, ", "))
	}
	return nil
}

// levels are the workspace of the command and its --parents.
func levels(cmd *cli.Command) []string {
	return slices.Concat([]string{cmd.Args().Get(0)}, cmd.StringSlice("parents"))
}

// emptyLevels are the levels that none of rs is from: mistyped names,
// most likely.
func emptyLevels(cmd *cli.Command, rs []secrets.Resolved) []string {
	var out []string
	for _, c := range levels(cmd) {
		if !slices.ContainsFunc(rs, func(r secrets.Resolved) bool { return r.Container == c }) {
			out = append(out, c)
		}
	}
	return out
}

// quoteAll quotes each of ss, as %q would.
func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// printResolved prints rs as a table, or as JSON with --json.
func (a *app) printResolved(cmd *cli.Command, rs []secrets.Resolved) error {
	if cmd.Bool("json") {
		return writeJSON(a.stdout, rs)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "NAME\tSCOPE\tFROM\tVERSION\tPROTECTED\tSTATUS")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", printable(r.Variable), printable(r.Scope), printable(r.Container), r.Version, yes(r.Protected), r.Status)
	}
	return tw.Flush()
}

// emptyLevel returns the first of the workspace and its --parents that
// has no live secret (a mistyped name), or "" if each has one. It reads
// as resolve does, so an invalid chain fails here with
// ErrInvalidParents, before the job starts.
func emptyLevel(ctx context.Context, cmd *cli.Command, s *session) (string, error) {
	rs, err := s.m.Resolve(ctx, cmd.Args().Get(0), nil)
	if err != nil {
		return "", err
	}
	if empty := emptyLevels(cmd, rs); len(empty) > 0 {
		return empty[0], nil
	}
	return "", nil
}
