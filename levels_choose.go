package secrets

// Which of a snapshot's secrets a job gets: the rule of internal/scope,
// Config.Withhold, and an export's exact scope.

import (
	"context"
	"slices"
	"strings"

	"github.com/dataspace/secrets/internal/scope"
)

// A choice is what the rule and the host decided of a snapshot of
// several levels, as indexes into its entries.
type choice struct {
	delivered, withheld []int
	// extra are winners the job did not name (PrepareOptions.Names) but
	// may use as ingredients: read when a named one opted in to
	// expansion (Info.Expand).
	extra []int
	// raw: an export's choice, whose values are never expanded.
	raw     bool
	absent  []bool   // left out as expired (ExpiredOmit)
	expired []string // PreparedJob.Expired: got, or (ExpiredOmit) would have got
	// twice are entries of a level, name and scope an earlier one has
	// (see scope.Result.Twice): the job is refused.
	twice []int
}

// only keeps of c the secrets of the variables names (compared ignoring
// case); the other winners become extra if a kept one is expanded.
func (c *choice) only(snap Snapshot, names []string) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	keep := func(name string) bool { return want[strings.ToLower(variableOf(name))] }
	var delivered, rest []int
	expanded := false
	for _, i := range c.delivered {
		if keep(snap.Entries[i].Name) {
			delivered = append(delivered, i)
			expanded = expanded || snap.Entries[i].Expand
		} else {
			rest = append(rest, i)
		}
	}
	c.delivered = delivered
	if expanded {
		c.extra = rest
	}
	c.withheld = slices.DeleteFunc(c.withheld, func(i int) bool { return !keep(snap.Entries[i].Name) })
	c.expired = slices.DeleteFunc(c.expired, func(n string) bool { return !keep(n) })
}

// choose applies the rule of internal/scope to a snapshot for job (its
// environment and protection) and asks Config.Withhold, with job, about
// each winner.
func (m *Manager) choose(ctx context.Context, job Request, containers []string, snap Snapshot) choice {
	now := m.now()
	expired := func(i int) bool { return snap.Entries[i].expired(now) }
	cands := make([]scope.Candidate, len(snap.Entries))
	for i := range snap.Entries {
		en := &snap.Entries[i]
		variable, sc := SplitName(en.Name)
		cands[i] = scope.Candidate{Level: en.Level, Name: variable, Scope: sc, Protected: en.Protected}
	}
	sj := scope.Job{Environment: job.Environment, Protected: job.Protected}
	c := choice{absent: make([]bool, len(cands))}
	if m.cfg.Expired == ExpiredOmit {
		// The expired secrets the job would have got are absent: a
		// farther level's or a wider scope's value of the name applies
		// instead.
		for _, i := range scope.Resolve(cands, sj).Delivered {
			if expired(i) {
				c.expired = append(c.expired, snap.Entries[i].Name)
			}
		}
		for i := range cands {
			cands[i].Absent, c.absent[i] = expired(i), expired(i)
		}
	}
	res := scope.Resolve(cands, sj)
	c.twice = res.Twice
	for _, i := range slices.Concat(res.Delivered, res.Withheld) {
		en := &snap.Entries[i]
		if m.cfg.Withhold != nil && m.cfg.Withhold(ctx, job, offer(containers[en.Level], en)) {
			c.withheld = append(c.withheld, i)
			continue
		}
		c.delivered = append(c.delivered, i)
		if m.cfg.Expired != ExpiredOmit && expired(i) {
			c.expired = append(c.expired, en.Name)
		}
	}
	return c
}

// chooseScope picks the workspace's secrets of exactly scope sc, applying
// Config.Expired as a job does; write-only secrets, and those named as a
// shell's own variables (sourceUnsafe), which an export leaves out, are
// withheld (and so listed as such in its event).
func (m *Manager) chooseScope(snap Snapshot, sc string) choice {
	now := m.now()
	c := choice{absent: make([]bool, len(snap.Entries)), raw: true}
	seen := map[string]bool{}
	for i := range snap.Entries {
		en := &snap.Entries[i]
		if _, s := SplitName(en.Name); en.Level != 0 || s != sc {
			continue
		}
		if k := sameNameKey(en.Name); seen[k] {
			c.twice = append(c.twice, i)
		} else {
			seen[k] = true
		}
		if en.expired(now) {
			c.expired = append(c.expired, en.Name)
			if m.cfg.Expired == ExpiredOmit {
				c.absent[i] = true
				continue
			}
		}
		if v, _ := SplitName(en.Name); en.WriteOnly || sourceUnsafe[v] {
			c.withheld = append(c.withheld, i)
		} else {
			c.delivered = append(c.delivered, i)
		}
	}
	return c
}

// offer is what Config.Withhold is told of en, of container c.
func offer(c string, en *EnvEntry) Offer {
	variable, sc := SplitName(en.Name)
	return Offer{Container: c, Name: en.Name, Variable: variable, Scope: sc, Protected: en.Protected}
}
