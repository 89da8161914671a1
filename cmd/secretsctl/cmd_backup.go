package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// backupCommands make and restore lossless backups of a workspace.
func (a *app) backupCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name: "backup", Usage: "write a lossless backup of a workspace: every live secret with its details, flags and value (audited as an export)",
			ArgsUsage: "WORKSPACE",
			Description: "With --recipient every value is encrypted to that age public key (age1...), write-only\n" +
				"ones included: restore needs the matching identity. Without it the values are in the\n" +
				"clear, except write-only ones, which are left out.",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "recipient", Aliases: []string{"r"}, Usage: "encrypt every value to the age `RECIPIENT` (age1...; repeatable)"},
				&cli.StringFlag{Name: "out", Aliases: []string{"o"},
					Usage: "write it to `FILE` instead of stdout: replaced, readable by its owner only (0600); " +
						"refused if it is not a regular file (a link, device, FIFO, directory)"},
				allowEmptyFlag(),
			},
			Action: a.with(1, 1, "WORKSPACE", needKey, a.backup),
		},
		{
			Name: "restore", Usage: "restore a backup into a workspace, or the workspace as it was at a time (--at), as one change, after a preview",
			ArgsUsage: "WORKSPACE FILE | WORKSPACE --at TIME",
			Description: "The preview (names and what changes, never values) is shown and confirmed on a\n" +
				"terminal; elsewhere give --yes, or --plan with the output of restore --preview --json:\n" +
				"then exactly that plan is applied, or nothing (exit 4) if the workspace changed since.\n\n" +
				"With --at, the workspace gets back what it delivered at TIME, within the retained\n" +
				"versions: old values as new versions, secrets deleted since undeleted, secrets\n" +
				"created since soft-deleted. Pruned versions and destroyed secrets cannot come back\n" +
				"(listed with !); renames and changes of details are not undone.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "age identity `FILE` (as age-keygen writes it) that opens an encrypted backup"},
				&cli.BoolFlag{Name: "remove", Usage: "make the workspace the backup: soft-delete its live secrets the backup does not name"},
				&cli.BoolFlag{Name: "skip-withheld", Usage: "restore a backup made without --recipient, leaving its write-only secrets as they are"},
				&cli.BoolFlag{Name: "trust-version-1", Usage: "restore an encrypted backup of version 1, whose values are not bound to their names and flags (only one no one could have edited)"},
				&cli.BoolFlag{Name: "preview", Usage: "print the plan and change nothing"},
				&cli.StringFlag{Name: "at", Usage: "restore the workspace as it was at `TIME` (2006-01-02, RFC 3339, or a duration back: 2h, 7d) instead of a backup"},
				&cli.StringFlag{Name: "plan", Usage: "apply the plan in `FILE`, from restore --preview --json of the same backup (or --at)"},
				&cli.BoolFlag{Name: "yes", Usage: "restore without asking"},
				jsonFlag(),
			},
			Action: a.with(1, 2, "WORKSPACE FILE or WORKSPACE --at TIME", needKey, a.restore),
		},
	}
}

func (a *app) backup(ctx context.Context, cmd *cli.Command, s *session) error {
	var o secrets.BackupOptions
	for _, r := range cmd.StringSlice("recipient") {
		rec, err := age.ParseX25519Recipient(strings.TrimSpace(r))
		if err != nil {
			return usage("backup: --recipient: not an age X25519 recipient (age1...)")
		}
		o.Recipients = append(o.Recipients, rec)
	}
	if err := checkOut("backup", outFile(cmd)); err != nil {
		return err
	}
	if err := refuseEmpty(ctx, cmd, s, "backup"); err != nil {
		return err
	}
	doc, err := s.m.Backup(ctx, cmd.Args().Get(0), &o)
	if err != nil {
		return err
	}
	defer clear(doc)
	if out := outFile(cmd); out != "" {
		if err := writePrivate(out, doc); err != nil {
			return fail(exitFailed, "backup: %v", err)
		}
		return nil
	}
	_, err = a.stdout.Write(doc)
	return err
}

// maxBackup is the largest backup the library restores with m's limits:
// its default RestoreOptions.MaxBytes, 4 × Config.MaxEnvBytes + 4 MiB
// (64 MiB when unbounded).
func maxBackup(m *secrets.Manager) int64 {
	if env := m.Limits().MaxEnvBytes; env > 0 {
		return 4*env + 4<<20
	}
	return 64 << 20
}

// backupReadMargin is how much more than maxBackup restore reads: a file
// a little over it gets the library's error, which says its size; a
// larger one (/dev/zero) is refused without reading more.
const backupReadMargin = 64 << 10

// restored is restore's JSON: the plan applied and the metadata of the
// secrets it added and changed.
type restored struct {
	Plan    secrets.RestorePlan `json:"plan"`
	Secrets []secrets.Meta      `json:"secrets"`
}

func (a *app) restore(ctx context.Context, cmd *cli.Command, s *session) error {
	if cmd.IsSet("at") {
		return a.restoreAt(ctx, cmd, s)
	}
	if err := wantArgs(cmd, 2, 2, "WORKSPACE FILE"); err != nil {
		return err
	}
	ws, file := cmd.Args().Get(0), cmd.Args().Get(1)
	planFile := cmd.String("plan")
	if planFile != "" && cmd.Bool("preview") {
		return usage("restore: give --preview or --plan, not both")
	}
	if planFile != "" && (cmd.IsSet("remove") || cmd.IsSet("skip-withheld")) {
		return usage("restore: --remove and --skip-withheld come with the plan (restore --preview --json); give one or the other")
	}
	if cmd.Bool("preview") && cmd.Bool("yes") {
		return usage("restore: --preview changes nothing and --yes restores: give one")
	}
	if planFile == "" && !cmd.Bool("preview") && !cmd.Bool("yes") && !isTerminal(a.stdin) {
		return usage("restore: give --yes, or --plan FILE from restore --preview --json, or run on a terminal to confirm the preview")
	}
	o := &secrets.RestoreOptions{Remove: cmd.Bool("remove"), SkipWithheld: cmd.Bool("skip-withheld"), TrustVersion1: cmd.Bool("trust-version-1")}
	if id := cmd.String("identity"); id != "" {
		ids, err := readIdentities(id)
		if err != nil {
			return err
		}
		o.Identities = ids
	}
	doc, err := readLimited(openFile(file), maxBackup(s.m)+backupReadMargin)
	if errors.Is(err, errTooLong) {
		return fail(exitRefused, "restore: the backup is over the %d bytes allowed %s", maxBackup(s.m), backupLimitWords)
	}
	if err != nil {
		return fail(exitFailed, "restore: reading the backup: %v", err)
	}
	defer clear(doc)
	var plan secrets.RestorePlan
	if planFile != "" {
		b, err := readPlan(s.m, planFile)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plan); err != nil {
			return fail(exitRefused, "--plan %s: not the output of restore --preview --json", planFile)
		}
	} else {
		if plan, err = s.m.PreviewRestore(ctx, ws, doc, o); err != nil {
			return err
		}
		if cmd.Bool("preview") {
			if cmd.Bool("json") {
				return writeJSON(a.stdout, plan)
			}
			return printPlan(a.stdout, plan)
		}
		preview := a.stdout
		if cmd.Bool("json") {
			preview = a.stderr
		}
		if !cmd.Bool("json") || !cmd.Bool("yes") {
			if err := printPlan(preview, plan); err != nil {
				return err
			}
		}
		if len(plan.Added)+len(plan.Changed)+len(plan.Removed) == 0 {
			if cmd.Bool("json") {
				return writeJSON(a.stdout, restored{Plan: plan, Secrets: []secrets.Meta{}})
			}
			return nil
		}
		if err := a.confirm(ctx, cmd.Bool("yes"), "restore", fmt.Sprintf("Restore this into workspace %s?", printable(ws))); err != nil {
			return err
		}
	}
	metas, err := s.m.Restore(ctx, ws, doc, plan, o)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, restored{Plan: plan, Secrets: metas})
	}
	_, err = fmt.Fprintf(a.stdout, "restored into %s: %d added, %d changed, %d removed, %d skipped\n",
		printable(ws), len(plan.Added), len(plan.Changed), len(plan.Removed), len(plan.Skipped))
	return err
}

// readIdentities reads an age identity file; its content is never
// quoted in an error.
func readIdentities(file string) ([]age.Identity, error) {
	b, err := readLimited(openFile(file), 1<<20)
	if err != nil {
		return nil, fail(exitFailed, "--identity: %v", err)
	}
	defer clear(b)
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, usage("--identity %s: not an age identity file", file)
	}
	return ids, nil
}

// printPlan shows a restore plan, a name a line, never a value. What
// comes from the document is shown quoted if it holds a character that
// is not printable (an escape sequence could hide the plan).
func printPlan(w io.Writer, p secrets.RestorePlan) error {
	tw := table(w)
	fmt.Fprintf(tw, "backup of %s made %s, %s\n", printable(p.Source), p.Created.Format("2006-01-02 15:04:05Z07:00"), encryptedNote(p.Encrypted))
	for _, n := range p.Added {
		fmt.Fprintf(tw, "+ %s\t(added)\n", printable(n))
	}
	for _, c := range p.Changed {
		fields := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = printable(f)
		}
		fmt.Fprintf(tw, "~ %s\t(changed: %s)\n", printable(c.Name), strings.Join(fields, ", "))
	}
	for _, n := range p.Removed {
		fmt.Fprintf(tw, "- %s\t(removed)\n", printable(n))
	}
	for _, n := range p.Skipped {
		fmt.Fprintf(tw, "! %s\t(skipped: write-only, no value in the backup)\n", printable(n))
	}
	fmt.Fprintf(tw, "%d added, %d changed, %d removed, %d unchanged, %d skipped\n",
		len(p.Added), len(p.Changed), len(p.Removed), len(p.Unchanged), len(p.Skipped))
	return tw.Flush()
}

func encryptedNote(encrypted bool) string {
	if encrypted {
		return "encrypted (age)"
	}
	return "NOT encrypted (anyone who could write it could have set its names and values)"
}
