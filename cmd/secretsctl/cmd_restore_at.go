package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// restoredAt is restore --at's JSON: the plan applied and the metadata of
// the secrets given versions or undeleted.
type restoredAt struct {
	Plan    secrets.RestoreAtPlan `json:"plan"`
	Secrets []secrets.Meta        `json:"secrets"`
}

// restoreAt runs restore WORKSPACE --at TIME: a preview of the
// workspace as it was at TIME, confirmed (or --yes, or --plan), applied.
func (a *app) restoreAt(ctx context.Context, cmd *cli.Command, s *session) error {
	if err := wantArgs(cmd, 1, 1, "WORKSPACE --at TIME"); err != nil {
		return err
	}
	for _, f := range []string{"identity", "remove", "skip-withheld", "trust-version-1"} {
		if cmd.IsSet(f) {
			return usage("restore --at: --%s is for restoring a backup", f)
		}
	}
	ws, planFile := cmd.Args().Get(0), cmd.String("plan")
	if planFile != "" && cmd.Bool("preview") {
		return usage("restore --at: give --preview or --plan, not both")
	}
	if cmd.Bool("preview") && cmd.Bool("yes") {
		return usage("restore --at: --preview changes nothing and --yes restores: give one")
	}
	if planFile == "" && !cmd.Bool("preview") && !cmd.Bool("yes") && !isTerminal(a.stdin) {
		return usage("restore: give --yes, or --plan FILE from restore --at TIME --preview --json, or run on a terminal to confirm the preview")
	}
	v := strings.TrimSpace(cmd.String("at"))
	_, derr := parseDuration(v)
	relative := derr == nil
	if relative && !strings.HasPrefix(v, "-") {
		v = "-" + v // a bare duration counts back from now
	}
	at, err := parseTime("at", v, time.Now())
	if err != nil {
		return err
	}
	if at.IsZero() {
		return usage("restore --at: give a time")
	}
	var plan secrets.RestoreAtPlan
	if planFile != "" {
		b, err := readPlan(s.m, planFile)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&plan); err != nil || plan.Revisions == nil {
			return fail(exitRefused, "--plan %s: not the output of restore --at --preview --json", planFile)
		}
		// The plan's own time is applied: a duration named it relative to
		// the preview's now, a time must be the same.
		if !relative && !plan.At.Equal(at.UTC().Truncate(time.Microsecond)) {
			return usage("--plan %s: the plan restores to %s, not to --at %s", planFile,
				plan.At.Format(time.RFC3339Nano), at.UTC().Format(time.RFC3339Nano))
		}
	} else {
		if plan, err = s.m.PreviewRestoreAt(ctx, ws, at); err != nil {
			return err
		}
		if cmd.Bool("preview") {
			if cmd.Bool("json") {
				return writeJSON(a.stdout, plan)
			}
			return printAtPlan(a.stdout, ws, plan)
		}
		preview := a.stdout
		if cmd.Bool("json") {
			preview = a.stderr
		}
		if !cmd.Bool("json") || !cmd.Bool("yes") {
			if err := printAtPlan(preview, ws, plan); err != nil {
				return err
			}
		}
		if len(plan.Versions)+len(plan.Undeleted)+len(plan.Deleted) == 0 {
			if cmd.Bool("json") {
				return writeJSON(a.stdout, restoredAt{Plan: plan, Secrets: []secrets.Meta{}})
			}
			return nil
		}
		if err := a.confirm(ctx, cmd.Bool("yes"), "restore", fmt.Sprintf("Restore workspace %s as this says?", printable(ws))); err != nil {
			return err
		}
	}
	metas, err := s.m.RestoreAt(ctx, ws, plan)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, restoredAt{Plan: plan, Secrets: metas})
	}
	_, err = fmt.Fprintf(a.stdout, "restored %s to %s: %d new versions, %d undeleted, %d deleted, %d could not be restored\n",
		printable(ws), plan.At.Format(time.RFC3339), len(plan.Versions), len(plan.Undeleted), len(plan.Deleted), len(plan.Unrestorable))
	return err
}

// unrestorable says why a secret cannot be restored.
var unrestorable = map[string]string{
	secrets.UnrestorablePruned:    "that version is no longer kept",
	secrets.UnrestorableDestroyed: "destroyed",
	secrets.UnrestorableUntracked: "the ledger no longer reaches back that far",
}

// printAtPlan shows a point-in-time restore plan, a name a line, never a
// value.
func printAtPlan(w io.Writer, ws string, p secrets.RestoreAtPlan) error {
	tw := table(w)
	fmt.Fprintf(tw, "restore of %s to %s\n", printable(ws), p.At.Format("2006-01-02 15:04:05.999999Z07:00"))
	for _, c := range p.Versions {
		fmt.Fprintf(tw, "~ %s\t(version %d: a new version with the value of version %d%s)\n", printable(c.Name), c.From, c.To, protects(c))
	}
	for _, c := range p.Undeleted {
		if c.From == c.To {
			fmt.Fprintf(tw, "+ %s\t(undeleted, at version %d)\n", printable(c.Name), c.From)
		} else {
			fmt.Fprintf(tw, "+ %s\t(undeleted, with a new version with the value of version %d%s)\n", printable(c.Name), c.To, protects(c))
		}
	}
	for _, n := range p.Deleted {
		fmt.Fprintf(tw, "- %s\t(soft-deleted: not live then)\n", n)
	}
	for _, u := range p.Unrestorable {
		if u.Version > 0 {
			fmt.Fprintf(tw, "! %s\t(cannot restore version %d: %s)\n", printable(u.Name), u.Version, unrestorable[u.Reason])
		} else {
			fmt.Fprintf(tw, "! %s\t(cannot restore: %s)\n", printable(u.Name), unrestorable[u.Reason])
		}
	}
	for _, r := range p.Renamed {
		fmt.Fprintf(tw, "  %s\t(was %s then; keeps its current name)\n", printable(r.Name), printable(r.Was))
	}
	fmt.Fprintf(tw, "%d new versions, %d undeleted, %d deleted, %d unchanged, %d cannot be restored\n",
		len(p.Versions), len(p.Undeleted), len(p.Deleted), len(p.Unchanged), len(p.Unrestorable))
	return tw.Flush()
}

// protects is a plan line's note that the secret becomes protected.
func protects(c secrets.RestoreAtChange) string {
	if c.Protects {
		return ", which makes it protected"
	}
	return ""
}
