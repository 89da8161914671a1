package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// bulkCommands read and write whole workspaces as .env text, one
// environment scope at a time (--env).
func (a *app) bulkCommands() []*cli.Command {
	scopeUsage := "With --env SCOPE, a NAME of the text is the secret NAME@SCOPE, and only that scope's\n" +
		"secrets are compared, changed or removed; a malformed scope exits 2 and changes nothing."
	fileFlag := &cli.StringFlag{Name: "file", Usage: "read the .env text from `FILE` instead of stdin"}
	removeFlag := &cli.BoolFlag{Name: "remove", Usage: "make the workspace the text: soft-delete its live secrets the text does not name"}
	return []*cli.Command{
		{
			Name: "import", Usage: "set every variable of a .env text in a workspace, all or nothing (others are left alone)",
			ArgsUsage:   "WORKSPACE",
			Description: scopeUsage,
			Flags:       []cli.Flag{fileFlag, scopeFlag(), jsonFlag()},
			Action:      a.with(1, 1, "WORKSPACE", needKey, a.importEnv),
		},
		{
			Name: "export", Usage: "print a workspace as .env text, sorted by name (reveals every value but write-only ones; audited)",
			ArgsUsage: "WORKSPACE",
			Description: "With --env SCOPE, the secrets of exactly that scope (protected or not), under their\n" +
				"variables' names: import --env SCOPE reads them back. Without it, those of scope *.",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out", Aliases: []string{"o"},
				Usage: "write it to `FILE` instead of stdout: replaced, readable by its owner only (0600), whatever its mode was; " +
					"refused if it is not a regular file (a link, device, FIFO, directory)"},
				scopeFlag(), allowEmptyFlag()},
			Action: a.with(1, 1, "WORKSPACE", needKey, a.exportEnv),
		},
		{
			Name: "diff", Usage: "preview what apply would change: added, changed, unchanged and removed names, never values",
			ArgsUsage: "WORKSPACE",
			Description: "With --json the output is a plan for apply --plan, which applies exactly that\n" +
				"difference, or nothing if the workspace changed since. The preview names its scope.\n" + scopeUsage,
			Flags:  []cli.Flag{fileFlag, removeFlag, scopeFlag(), jsonFlag()},
			Action: a.with(1, 1, "WORKSPACE", needKey, a.diff),
		},
		{
			Name: "apply", Usage: "apply a .env text to a workspace as one change, after a preview",
			ArgsUsage: "WORKSPACE",
			Description: "The preview is shown and confirmed on a terminal; elsewhere give --yes, or --plan with\n" +
				"the output of diff --json: then the text is applied only if it makes that difference\n" +
				"(the same names added, changed, unchanged and removed, at the same revisions; a plan\n" +
				"holds no values, so a text with other values for the changed names is applied), or\n" +
				"nothing (exit 4) if the workspace changed since. A plan is for the scope of --env\n" +
				"(default *): one of another scope is refused (exit 4).\n" + scopeUsage,
			Flags: []cli.Flag{
				fileFlag, removeFlag, scopeFlag(),
				&cli.StringFlag{Name: "plan", Usage: "apply the difference in `FILE`, from diff --json of the same text"},
				&cli.BoolFlag{Name: "yes", Usage: "apply without asking"},
				jsonFlag(),
			},
			Action: a.with(1, 1, "WORKSPACE", needKey, a.apply),
		},
	}
}

// metaNames returns the names of ms.
func metaNames(ms []secrets.Meta) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

func (a *app) importEnv(ctx context.Context, cmd *cli.Command, s *session) error {
	text, err := a.readText(ctx, cmd.String("file"))
	if err != nil {
		return err
	}
	defer clear(text)
	sc, err := flagScope(cmd)
	if err != nil {
		return err
	}
	metas, err := s.m.Import(ctx, cmd.Args().Get(0), text, &secrets.ImportOptions{Scope: sc})
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		if metas == nil {
			metas = []secrets.Meta{}
		}
		return writeJSON(a.stdout, metas)
	}
	_, err = fmt.Fprintf(a.stdout, "imported %d: %s\n", len(metas), strings.Join(metaNames(metas), " "))
	return err
}

func (a *app) exportEnv(ctx context.Context, cmd *cli.Command, s *session) error {
	sc, err := flagScope(cmd)
	if err != nil {
		return err
	}
	if err := checkOut("export", outFile(cmd)); err != nil {
		return err
	}
	if err := refuseEmpty(ctx, cmd, s, "export"); err != nil {
		return err
	}
	if err := refuseEmptyScope(ctx, cmd, s, sc); err != nil {
		return err
	}
	text, err := s.m.Export(ctx, cmd.Args().Get(0), &secrets.ExportOptions{Scope: sc})
	if err != nil {
		return err
	}
	defer clear(text)
	if out := outFile(cmd); out != "" {
		if err := writePrivate(out, text); err != nil {
			return fail(exitFailed, "export: %v", err)
		}
		return nil
	}
	if isTerminal(a.stdout) && actsOnTerminal(text) {
		return fail(exitRefused, "export: a value holds control characters (an escape sequence?), which would act on this terminal "+
			"rather than show: nothing was printed; export into a file (-o FILE) or a pipe")
	}
	_, err = a.stdout.Write(text)
	return err
}

// allowEmptyFlag lets backup and export write a workspace with no
// secrets.
func allowEmptyFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-empty", Usage: "write it even if the workspace has no secrets (refused otherwise: a mistyped name?)"}
}

// refuseEmpty refuses (exitNotFound) to run a job of, or write a backup
// or an export of, a workspace with no secrets, a mistyped name, unless
// --allow-empty: a nightly backup of a typo would write empty backups
// until the day one is needed. The check reveals nothing but whether
// there is a secret; what follows is audited.
func refuseEmpty(ctx context.Context, cmd *cli.Command, s *session, what string) error {
	if cmd.Bool("allow-empty") {
		return nil
	}
	ws := cmd.Args().Get(0)
	es, err := s.store.List(ctx, ws, secrets.ListQuery{Limit: 1})
	if err != nil {
		return err
	}
	if len(es) == 0 {
		return fail(exitNotFound, "%s: workspace %q has no secrets (mistyped? give --allow-empty to go on anyway)", what, ws)
	}
	return nil
}

// outFile is the file of -o, or "" for standard output (no -o, or -o -,
// as --file - reads standard input: a trial's -o - wrote a file named -
// holding every value).
func outFile(cmd *cli.Command) string {
	if out := cmd.String("out"); out != "-" {
		return out
	}
	return ""
}

// refuseEmptyScope refuses (exitNotFound) an export --env SCOPE of a
// workspace with no live secret of exactly that scope (a mistyped scope
// exported nothing and exited 0), unless --allow-empty. It reads names
// only, as refuseEmpty does.
func refuseEmptyScope(ctx context.Context, cmd *cli.Command, s *session, sc string) error {
	if sc == "*" || cmd.Bool("allow-empty") {
		return nil
	}
	if _, err := s.m.CheckName("X@" + sc); errors.Is(err, secrets.ErrInvalidScope) {
		return nil // Export refuses it, as a usage error
	}
	ws := cmd.Args().Get(0)
	q := secrets.ListQuery{Search: "@" + sc, Limit: 1000}
	for {
		es, err := s.store.List(ctx, ws, q)
		if err != nil {
			return err
		}
		for _, e := range es {
			if _, got := secrets.SplitName(e.Name); got == sc {
				return nil
			}
		}
		if len(es) < q.Limit {
			return fail(exitNotFound, "export: workspace %q has no secrets of scope %q (mistyped? give --allow-empty to go on anyway)", ws, sc)
		}
		q.After = es[len(es)-1].Name
	}
}

// checkOut refuses (a usage error) an -o FILE that exists and is not a
// regular file: a symbolic link (/dev/stdout), a device (/dev/null), a
// FIFO, a socket or a directory. Replacing it would put the secrets in a
// file where a stream or a link was; following a link would write them
// where it points. Standard output is written without -o.
func checkOut(what, file string) error {
	fi, err := os.Lstat(file)
	if err != nil || fi.Mode().IsRegular() {
		return nil // none yet (or not reachable: writePrivate says why)
	}
	kind := "not a regular file"
	switch t := fi.Mode().Type(); {
	case t&fs.ModeSymlink != 0:
		kind = "a symbolic link"
	case t&fs.ModeDir != 0:
		kind = "a directory"
	case t&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		kind = "a device"
	case t&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case t&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return usage("%s: -o %s is %s, not a regular file: nothing was written (write to standard output without -o)", what, file, kind)
}

// writePrivate replaces file by data, readable and writable by its owner
// only (0600), whatever the mode of a file it replaces: data goes to a
// new file of that mode beside it, which is then renamed over it, so no
// one who could read the old file (or who holds it open) reads data.
// Only a regular file is replaced (checkOut); a symbolic link is neither
// followed nor replaced.
func writePrivate(file string, data []byte) (err error) {
	if err := checkOut("", file); err != nil {
		return err // what it became since the caller's check
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), file)
}

// printDiff shows a difference, a name a line. A write-only secret of
// Changed (Uncompared) was not compared: it may or may not change.
func printDiff(w io.Writer, d secrets.Diff) error {
	tw := table(w)
	uncompared := make(map[string]bool, len(d.Uncompared))
	for _, n := range d.Uncompared {
		uncompared[n] = true
	}
	for _, g := range []struct {
		mark, what string
		names      []string
	}{{"+", "added", d.Added}, {"~", "changed", d.Changed}, {"-", "removed", d.Removed}} {
		for _, n := range g.names {
			what := g.what
			if g.mark == "~" && uncompared[n] {
				what = "not compared: write-only, may or may not change"
			}
			fmt.Fprintf(tw, "%s %s\t(%s)\n", g.mark, printable(n), what)
		}
	}
	notCompared := ""
	if len(d.Uncompared) > 0 {
		notCompared = fmt.Sprintf(" (%d of them write-only, not compared)", len(d.Uncompared))
	}
	fmt.Fprintf(tw, "%d added, %d changed%s, %d removed, %d unchanged%s\n", len(d.Added), len(d.Changed), notCompared,
		len(d.Removed), len(d.Unchanged), inScope(d.Scope))
	return tw.Flush()
}

// inScope says which scope a difference is for, unless it is that of
// every environment (whose names have no @SCOPE).
func inScope(sc string) string {
	if sc == "" || sc == "*" {
		return ""
	}
	return " in scope " + sc
}

// empty reports whether applying d changes nothing.
func empty(d secrets.Diff) bool { return len(d.Added)+len(d.Changed)+len(d.Removed) == 0 }

func (a *app) diff(ctx context.Context, cmd *cli.Command, s *session) error {
	text, err := a.readText(ctx, cmd.String("file"))
	if err != nil {
		return err
	}
	defer clear(text)
	sc, err := flagScope(cmd)
	if err != nil {
		return err
	}
	d, err := s.m.Diff(ctx, cmd.Args().Get(0), text, &secrets.DiffOptions{Remove: cmd.Bool("remove"), Scope: sc})
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, d)
	}
	return printDiff(a.stdout, d)
}

// applied is apply's JSON: the difference applied and the metadata of
// the secrets the text names.
type applied struct {
	Diff    secrets.Diff   `json:"diff"`
	Secrets []secrets.Meta `json:"secrets"`
}

func (a *app) apply(ctx context.Context, cmd *cli.Command, s *session) error {
	ws := cmd.Args().Get(0)
	sc, err := flagScope(cmd)
	if err != nil {
		return err
	}
	plan := cmd.String("plan")
	if plan != "" && cmd.IsSet("remove") {
		return usage("apply: --remove comes with the plan (diff --remove --json); give one or the other")
	}
	fromStdin := cmd.String("file") == "" || cmd.String("file") == "-"
	if plan == "" && !cmd.Bool("yes") && (fromStdin || !isTerminal(a.stdin)) {
		return usage("apply: give --yes, or --plan FILE from diff --json, or --file on a terminal to confirm the preview")
	}
	var want secrets.Diff
	if plan != "" {
		b, err := readPlan(s.m, plan)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			return fail(exitRefused, "--plan %s: not the output of diff --json: %v", plan, err)
		}
		if planned := cmp.Or(want.Scope, "*"); planned != sc {
			if err := checkScope(s, sc); err != nil {
				return err
			}
			return fail(exitConflict, "--plan %s is for scope %s, not %s (--env): nothing applied", printable(plan), printable(planned), printable(sc))
		}
	}
	text, err := a.readText(ctx, cmd.String("file"))
	if err != nil {
		return err
	}
	defer clear(text)
	if plan == "" {
		if want, err = s.m.Diff(ctx, ws, text, &secrets.DiffOptions{Remove: cmd.Bool("remove"), Scope: sc}); err != nil {
			return err
		}
		preview := a.stdout
		if cmd.Bool("json") {
			preview = a.stderr
		}
		if !cmd.Bool("json") || !cmd.Bool("yes") {
			if err := printDiff(preview, want); err != nil {
				return err
			}
		}
		if empty(want) {
			if cmd.Bool("json") {
				return writeJSON(a.stdout, applied{Diff: want, Secrets: []secrets.Meta{}})
			}
			return nil
		}
		if err := a.confirm(ctx, cmd.Bool("yes"), "apply", fmt.Sprintf("Apply this to workspace %s%s?", printable(ws), inScope(want.Scope))); err != nil {
			return err
		}
	}
	metas, err := s.m.Apply(ctx, ws, text, want)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		if metas == nil {
			metas = []secrets.Meta{}
		}
		return writeJSON(a.stdout, applied{Diff: want, Secrets: metas})
	}
	_, err = fmt.Fprintf(a.stdout, "applied to %s%s: %d added, %d changed, %d removed\n", printable(ws), inScope(want.Scope), len(want.Added), len(want.Changed), len(want.Removed))
	return err
}
