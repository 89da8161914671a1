package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dataspace/secrets"
	"github.com/urfave/cli/v3"
)

// actions are the audit trail's actions, for --action: every Action
// constant of the library.
var actions = []secrets.Action{
	secrets.ActionList, secrets.ActionReveal, secrets.ActionSet, secrets.ActionDiff,
	secrets.ActionDelete, secrets.ActionDestroy, secrets.ActionRename, secrets.ActionInject,
	secrets.ActionExport, secrets.ActionRotate, secrets.ActionDeleteWorkspace, secrets.ActionPurge,
	secrets.ActionAudit, secrets.ActionUnprotect, secrets.ActionExportWriteOnly,
}

// auditCommands read the audit trail and act on dates.
func (a *app) auditCommands() []*cli.Command {
	actionNames := make([]string, len(actions))
	for i, ac := range actions {
		actionNames[i] = string(ac)
	}
	return []*cli.Command{
		{
			Name: "events", Usage: "read the audit trail, newest first (no master key needed)",
			ArgsUsage: "[WORKSPACE]",
			Description: "Without WORKSPACE, events of every workspace (and of rewrap and purge, which span them).\n" +
				"A page holds --limit events; the next page is --before the last ID shown (--after with --oldest).",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "by", Usage: "only events of `ACTOR`"},
				&cli.StringFlag{Name: "action", Usage: "only events of `ACTION`: " + strings.Join(actionNames, ", ")},
				&cli.StringFlag{Name: "name", Usage: "only events that touched or delivered the secret `NAME`"},
				&cli.StringFlag{Name: "fingerprint", Usage: "with `-`: only events that involved the value read from stdin, or typed at a prompt (needs --audit-key)"},
				&cli.StringFlag{Name: "since", Usage: "only events from `TIME` on (a time, a date, or a duration back: 24h, 7d)"},
				&cli.StringFlag{Name: "until", Usage: "only events before `TIME` (as --since)"},
				&cli.IntFlag{Name: "limit", Value: 100, Usage: "at most `N` events (1 to 1000)"},
				&cli.Int64Flag{Name: "before", HideDefault: true, Usage: "newest first from before event `ID` (the next page)"},
				&cli.BoolFlag{Name: "oldest", Usage: "oldest first"},
				&cli.Int64Flag{Name: "after", HideDefault: true, Usage: "with --oldest, from after event `ID` (the next page)"},
				jsonFlag(),
			},
			Action: a.with(0, 1, "[WORKSPACE]", noKey, a.events),
		},
		{
			Name: "due", Usage: "list secrets whose expiry or rotation date is near, of one workspace or --all (no master key needed)",
			ArgsUsage: "WORKSPACE | --all",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "all", Usage: "every workspace"},
				&cli.StringFlag{Name: "within", Value: "7d", Usage: "due within `DURATION` from now (30d, 12h); expired ones included"},
				&cli.StringFlag{Name: "before", Usage: "due before `TIME` instead (a date or RFC 3339 time)"},
				jsonFlag(),
			},
			Action: a.with(0, 1, "WORKSPACE or --all", noKey, a.due),
		},
		{
			Name: "purge", Usage: "destroy secrets deleted longer ago than the retention, and drop old audit events (no master key needed)",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "retention", Value: "30d", Usage: "destroy secrets soft-deleted more than `DURATION` ago"},
				&cli.StringFlag{Name: "event-retention", Usage: "also drop audit events older than `DURATION` (default: keep them)"},
				&cli.BoolFlag{Name: "yes", Usage: "purge without asking when a retention is shorter than 7 days"},
				jsonFlag(),
			},
			Action: a.withConfig(0, 0, "no arguments", noKey, purgeConfig, a.purge),
		},
	}
}

// secretsWidth is the widest the events table's SECRETS column grows
// (but for one name longer than that).
const secretsWidth = 60

// eventsPage is events' JSON: a page of events and where the next starts
// (for --before, or --after with --oldest); no next on the last page.
type eventsPage struct {
	Events []secrets.Event `json:"events"`
	Next   int64           `json:"next,omitempty"`
}

func (a *app) events(ctx context.Context, cmd *cli.Command, s *session) error {
	now := time.Now()
	q := secrets.EventQuery{
		Workspace: cmd.Args().Get(0),
		Actor:     cmd.String("by"),
		Action:    secrets.Action(cmd.String("action")),
		Name:      cmd.String("name"),
		Newest:    !cmd.Bool("oldest"),
		Before:    cmd.Int64("before"),
		After:     cmd.Int64("after"),
		Limit:     cmd.Int("limit"),
	}
	if q.Action != "" && !slices.Contains(actions, q.Action) {
		return usage("--action: %q is not an action", q.Action)
	}
	if cmd.IsSet("fingerprint") {
		fp, err := a.fingerprint(ctx, cmd, s)
		if err != nil {
			return err
		}
		q.Fingerprints = fp
	}
	if q.Limit < 1 || q.Limit > 1000 {
		return usage("--limit: from 1 to 1000")
	}
	if q.Newest && cmd.IsSet("after") || !q.Newest && cmd.IsSet("before") {
		return usage("events: --before pages newest first, --after with --oldest")
	}
	var err error
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.From}, {"until", &q.To}} {
		if v := cmd.String(f.name); v != "" {
			// A bare duration counts back from now.
			if !strings.HasPrefix(v, "-") {
				if _, derr := parseDuration(v); derr == nil {
					v = "-" + v
				}
			}
			if *f.t, err = parseTime(f.name, v, now); err != nil {
				return err
			}
		}
	}
	evs, err := s.m.Events(ctx, q)
	if err != nil {
		return err
	}
	page := eventsPage{Events: evs}
	if page.Events == nil {
		page.Events = []secrets.Event{}
	}
	if len(evs) == q.Limit {
		page.Next = evs[len(evs)-1].ID
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, page)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "ID\tTIME\tACTOR\tACTION\tWORKSPACE\tOUTCOME\tSECRETS\tDETAIL")
	for _, e := range evs {
		names := make([]string, len(e.Secrets))
		for i, s := range e.Secrets {
			names[i] = s.String() // as the library's log lines write it
		}
		// A long list goes on lines of its own under the column, so that
		// one event does not widen it for every row.
		lines := wrapList(names, secretsWidth)
		if e.SecretsOmitted {
			// Not a job that got nothing: the page listed its bound of
			// secrets before this event (secrets.MaxEventPageSecrets).
			lines = []string{fmt.Sprintf("(too many on this page to list: --oldest --after %d --limit 1 lists them)", e.ID-1)}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, when(e.Time), printable(e.Actor), printable(string(e.Action)),
			printable(e.Workspace), printable(string(e.Outcome)), lines[0], strings.TrimSuffix(jobOf(e)+printableText(e.Detail), " "))
		for _, l := range lines[1:] {
			fmt.Fprintf(tw, "\t\t\t\t\t\t%s\t\n", l)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		flag := "--before"
		if !q.Newest {
			flag = "--oldest --after"
		}
		fmt.Fprintf(a.stderr, "more: %s %d\n", flag, page.Next)
	}
	return nil
}

// jobOf says, for the DETAIL column, which job an event's was: its
// environment (quoted when it holds a comma, a bracket or a quote, so
// that "prod,protected" does not read as two things) and whether it was
// protected ("" for neither).
func jobOf(e secrets.Event) string {
	var parts []string
	if e.Environment != "" {
		parts = append(parts, "environment "+quoteField(e.Environment))
	}
	if e.Protected {
		parts = append(parts, "protected")
	}
	if len(parts) == 0 {
		return ""
	}
	return "[" + strings.Join(parts, ", ") + "] "
}

// quoteField returns s as it is, or quoted (strconv.Quote) when it is
// empty or holds what would part it from what follows in a list: a space,
// a comma, a quote, a backslash, a bracket, or a character printable
// would escape.
func quoteField(s string) string {
	if s == "" || printable(s) != s || strings.ContainsAny(s, " ,\"\\[]") {
		return strconv.Quote(s)
	}
	return s
}

// fingerprint reads the value of events --fingerprint - from stdin, or
// from the terminal without echo, and returns its audit fingerprints, by
// every key of the audit keyset (which may have been rotated). The value
// is never taken from an argument, which other users see in ps.
func (a *app) fingerprint(ctx context.Context, cmd *cli.Command, s *session) ([][]byte, error) {
	if cmd.String("fingerprint") != "-" {
		// Not quoted back: it may be the value itself.
		return nil, usage("--fingerprint: give --fingerprint - and the value on stdin (an argument shows in ps)")
	}
	if cmd.String("audit-key") == "" {
		return nil, usage("--fingerprint: give --audit-key, the key the platform fingerprints values with")
	}
	v, err := a.readValue(ctx, "", valueOptions{allowEmpty: true, prompt: "Value to look for (not echoed): "})
	if err != nil {
		return nil, err
	}
	defer clear(v)
	if len(v) == 0 {
		return nil, usage("--fingerprint: the value read is empty")
	}
	return s.m.Fingerprints(v), nil
}

func (a *app) due(ctx context.Context, cmd *cli.Command, s *session) error {
	all := cmd.Bool("all")
	if all == (cmd.Args().Len() > 0) {
		return usage("due: give WORKSPACE or --all")
	}
	now := time.Now()
	var before time.Time
	if b := cmd.String("before"); b != "" {
		if cmd.IsSet("within") {
			return usage("due: give --within or --before, not both")
		}
		t, err := parseTime("before", b, now)
		if err != nil {
			return err
		}
		before = t
	} else {
		d, err := durationFlag("within", cmd.String("within"))
		if err != nil {
			return err
		}
		before = now.Add(d)
	}
	out := []secrets.DueSecret{}
	if all {
		var after secrets.DueSecret
		for {
			page, err := s.m.DueAll(ctx, before, &secrets.DueOptions{After: after, Limit: 1000})
			if err != nil {
				return err
			}
			out = append(out, page...)
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1]
		}
	} else {
		ws := cmd.Args().Get(0)
		ms, err := s.m.Due(ctx, ws, before)
		if err != nil {
			return err
		}
		for _, m := range ms {
			out = append(out, secrets.DueSecret{Workspace: ws, Meta: m})
		}
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, out)
	}
	tw := table(a.stdout)
	fmt.Fprintln(tw, "WORKSPACE\tNAME\tEXPIRES\tROTATE BY\tSTATE")
	for _, d := range out {
		state := "due"
		if d.Expired(now) {
			state = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printable(d.Workspace), printable(d.Name), when(d.Expires), when(d.RotateBy), state)
	}
	return tw.Flush()
}

// purgeConfig sets the retentions of purge.
func purgeConfig(cmd *cli.Command, c *secrets.Config) error {
	d, err := durationFlag("retention", cmd.String("retention"))
	if err != nil {
		return err
	}
	if d <= 0 {
		return usage("--retention: more than 0")
	}
	c.DeleteRetention = d
	// Without --event-retention, events are kept, as its help says (the
	// library's default would drop those older than 400 days).
	c.EventRetention = -1
	if v := cmd.String("event-retention"); v != "" {
		if c.EventRetention, err = durationFlag("event-retention", v); err != nil {
			return err
		}
		if c.EventRetention <= 0 {
			return usage("--event-retention: more than 0")
		}
	}
	return nil
}

// shortRetention is the retention under which purge asks first: a typo
// (1ns, 1h for 1d) would destroy every soft-deleted secret or drop the
// whole audit trail.
const shortRetention = 7 * 24 * time.Hour

func (a *app) purge(ctx context.Context, cmd *cli.Command, s *session) error {
	var short []string
	for _, f := range []string{"retention", "event-retention"} {
		if v := cmd.String(f); v != "" {
			if d, err := durationFlag(f, v); err == nil && d < shortRetention {
				short = append(short, "--"+f+" "+v)
			}
		}
	}
	if len(short) > 0 {
		if err := a.confirm(ctx, cmd.Bool("yes"), "purge", fmt.Sprintf("Purge with %s, shorter than 7 days, for good?", strings.Join(short, " and "))); err != nil {
			return err
		}
	}
	res, err := s.m.Purge(ctx)
	if err != nil {
		return err
	}
	if cmd.Bool("json") {
		return writeJSON(a.stdout, res)
	}
	_, err = fmt.Fprintf(a.stdout, "%d deleted secrets destroyed, %d audit events dropped\n", res.Destroyed, res.EventsDropped)
	return err
}
