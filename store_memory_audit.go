package secrets

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ledgerMargin is how long a superseded ledger entry outlives the events
// dropped before it, to absorb clock differences between replicas.
const ledgerMargin = 24 * time.Hour

// appendEvents stores copies of events, assigning IDs. s.mu must be held.
func (s *MemoryStore) appendEvents(events ...*Event) {
	for _, e := range events {
		if e == nil {
			continue
		}
		c := cloneEvent(*e)
		s.lastID++
		c.ID, e.ID = s.lastID, s.lastID
		if len(s.events) >= memoryEvents {
			// Drop the oldest tenth at once, so that trimming is rare.
			s.events = append(s.events[:0:0], s.events[memoryEvents/10:]...)
		}
		s.events = append(s.events, c)
	}
}

func cloneEvent(e Event) Event {
	e.Parents = slices.Clone(e.Parents)
	e.Secrets = slices.Clone(e.Secrets) // keeps an empty subset apart from nil
	for i := range e.Secrets {
		e.Secrets[i].Fingerprint = bytes.Clone(e.Secrets[i].Fingerprint)
	}
	if e.Expanded != nil {
		e.Expanded = slices.Clone(e.Expanded)
		for i := range e.Expanded {
			e.Expanded[i] = bytes.Clone(e.Expanded[i])
		}
	}
	return e
}

// Record implements Store.
func (s *MemoryStore) Record(ctx context.Context, events []Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		s.appendEvents(&events[i])
	}
	return nil
}

// recordRelaxed records one event: the memory store has no flush to skip.
func (s *MemoryStore) recordRelaxed(ctx context.Context, e *Event) error {
	events := []Event{*e}
	err := s.Record(ctx, events)
	e.ID = events[0].ID
	return err
}

// delivers reports whether events of action a deliver values, and so are
// recorded by state.
func delivers(a Action) bool { return a == ActionInject || a == ActionExport }

// delivered returns what the delivering event e received: for each
// secret, the ledger entry current at e.State, if it was delivered (an
// export leaves write-only secrets out; such an event, of a job without
// an environment, protection or parents, got no scoped or protected
// secret), restricted to the names e recorded, if any. s.mu must be held.
func (s *MemoryStore) delivered(e Event) []EventSecret {
	cur := map[string]ledgerEntry{}
	for _, l := range s.ledger[e.Workspace] {
		if l.state > e.State {
			break
		}
		cur[l.secretID] = l
	}
	var want map[string]bool
	if e.Secrets != nil { // a subset, perhaps of no name
		want = map[string]bool{}
		for _, es := range e.Secrets {
			want[strings.ToLower(es.Name)] = true
		}
	}
	var out []EventSecret
	for _, l := range cur {
		if l.version == 0 || want != nil && !want[strings.ToLower(l.name)] || e.Action == ActionExport && l.writeOnly ||
			l.protected || strings.IndexByte(l.name, '@') >= 0 {
			continue
		}
		out = append(out, EventSecret{Name: l.name, Version: l.version, Fingerprint: bytes.Clone(l.fingerprint)})
	}
	slices.SortFunc(out, func(a, b EventSecret) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Events implements Store.
func (s *MemoryStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Event{}
	listed := 0 // secrets the page's events list, omitted ones included
	fps := q.fingerprints()
	n := len(s.events)
	for i := range n {
		if len(out) == max(q.Limit, 1) {
			break
		}
		e := s.events[i]
		if q.Newest {
			e = s.events[n-1-i]
		}
		if !q.matches(e) {
			continue
		}
		e = cloneEvent(e)
		if delivers(e.Action) && e.Outcome == OutcomeOK && e.State > 0 && e.Parents == nil {
			e.Secrets = s.delivered(e)
		}
		if q.Name != "" && !slices.ContainsFunc(e.Secrets, func(es EventSecret) bool { return strings.EqualFold(es.Name, q.Name) }) {
			continue
		}
		if fps != nil && !hasFingerprint(&e, fps) {
			continue
		}
		if listed += len(e.Secrets); listed > MaxEventPageSecrets && len(out) > 0 && len(e.Secrets) > 0 {
			e.Secrets, e.SecretsOmitted = nil, true
		}
		out = append(out, e)
	}
	return out, nil
}

// matches applies the query's plain filters (not Name or Fingerprint,
// which need the delivered secrets).
func (q EventQuery) matches(e Event) bool {
	return (q.Workspace == "" || e.Workspace == q.Workspace) && (q.Actor == "" || e.Actor == q.Actor) &&
		(q.Action == "" || e.Action == q.Action) && (q.After == 0 || e.ID > q.After) && (q.Before == 0 || e.ID < q.Before) &&
		(!q.SkipLists || e.Action != ActionList || e.Outcome != OutcomeOK) &&
		(q.From.IsZero() || !e.Time.Before(q.From)) && (q.To.IsZero() || e.Time.Before(q.To))
}

// DropEvents implements Purger.
func (s *MemoryStore) DropEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.events) && n < limit && s.events[n].Time.Before(before) {
		n++
	}
	s.events = append(s.events[:0:0], s.events[n:]...)
	if n == limit {
		return n, nil // more to drop: the last call sweeps the ledger (see Purger)
	}
	// A superseded entry is needed only by events read before its
	// successor was written.
	cutoff := before.Add(-ledgerMargin)
	for ws, entries := range s.ledger {
		next := map[string]time.Time{} // secret ID -> when its next entry was written
		kept := map[string]bool{}      // secret IDs with an older entry kept
		var out []ledgerEntry
		for i := len(entries) - 1; i >= 0; i-- {
			l := entries[i]
			t, superseded := next[l.secretID]
			next[l.secretID] = l.at
			if superseded && t.Before(cutoff) {
				continue
			}
			out = append(out, l)
		}
		slices.Reverse(out)
		var final []ledgerEntry
		for _, l := range out {
			// A tombstone with nothing before it ends nothing.
			if l.version == 0 && !kept[l.secretID] && l.at.Before(cutoff) {
				continue
			}
			kept[l.secretID] = true
			final = append(final, l)
		}
		s.ledger[ws] = final
	}
	return n, nil
}

// Unfingerprinted implements FingerprintStore.
func (s *MemoryStore) Unfingerprinted(ctx context.Context, q UnfingerprintedQuery) ([]Version, error) {
	workspace, afterWorkspace, afterID, afterVersion, limit := q.Workspace, q.AfterWorkspace, q.AfterSecretID, q.AfterVersion, q.Limit
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Version
	for ws, entries := range s.ledger {
		if workspace != "" && ws != workspace {
			continue
		}
		w := s.ws[ws]
		type ref struct {
			id string
			n  int64
		}
		seen := map[ref]bool{}
		for _, l := range entries {
			if l.version == 0 || l.fingerprint != nil || w == nil || w.secrets[l.secretID] == nil {
				continue
			}
			for _, v := range w.secrets[l.secretID].versions {
				k := ref{v.SecretID, v.Version}
				at := Version{Workspace: ws, SecretID: v.SecretID, Version: v.Version}
				if v.Version == l.version && !seen[k] && versionOrder(at, Version{Workspace: afterWorkspace, SecretID: afterID, Version: afterVersion}) > 0 {
					seen[k] = true
					c := cloneVersion(v)
					c.KeyGen = w.keyGen()
					out = append(out, c)
				}
			}
		}
	}
	slices.SortFunc(out, versionOrder)
	return out[:min(limit, len(out))], nil
}

// SetFingerprints implements FingerprintStore.
func (s *MemoryStore) SetFingerprints(ctx context.Context, vs []Version) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		entries := s.ledger[v.Workspace]
		for i := range entries {
			if entries[i].secretID == v.SecretID && entries[i].version == v.Version && entries[i].fingerprint == nil {
				entries[i].fingerprint = bytes.Clone(v.Fingerprint)
			}
		}
		w := s.ws[v.Workspace]
		if w == nil || w.secrets[v.SecretID] == nil {
			continue
		}
		old := w.secrets[v.SecretID]
		ns := &memSecret{entry: old.entry, versions: slices.Clone(old.versions)}
		for i := range ns.versions {
			if ns.versions[i].Version == v.Version && ns.versions[i].Fingerprint == nil {
				ns.versions[i].Fingerprint = bytes.Clone(v.Fingerprint)
			}
		}
		if ns.entry.Current.Version == v.Version && ns.entry.Current.Fingerprint == nil {
			ns.entry.Current.Fingerprint = bytes.Clone(v.Fingerprint)
		}
		w.secrets[v.SecretID] = ns
	}
	return nil
}

// LedgerAt implements LedgerStore.
func (s *MemoryStore) LedgerAt(ctx context.Context, workspace string, at time.Time) ([]LedgerEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	last := map[string]ledgerEntry{}
	for _, l := range s.ledger[workspace] { // in state order
		if !l.at.After(at) {
			last[l.secretID] = l
		}
	}
	out := make([]LedgerEntry, 0, len(last))
	for _, l := range last {
		out = append(out, LedgerEntry{SecretID: l.secretID, Name: l.name, State: l.state, At: l.at, Version: l.version})
	}
	slices.SortFunc(out, func(a, b LedgerEntry) int { return strings.Compare(a.SecretID, b.SecretID) })
	return out, nil
}

// hasFingerprint reports whether e involved a value with one of fps: a
// secret it lists, or a value its job got expanded.
func hasFingerprint(e *Event, fps [][]byte) bool {
	match := func(fp []byte) bool {
		return slices.ContainsFunc(fps, func(q []byte) bool { return bytes.Equal(fp, q) })
	}
	return slices.ContainsFunc(e.Secrets, func(es EventSecret) bool { return match(es.Fingerprint) }) ||
		slices.ContainsFunc(e.Expanded, match)
}

// recordExpanded implements expandedRecorder: it adds fps to the stored
// event id.
func (s *MemoryStore) recordExpanded(ctx context.Context, id int64, fps [][]byte, _ bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.events) - 1; i >= 0; i-- {
		if s.events[i].ID == id {
			for _, fp := range fps {
				s.events[i].Expanded = append(s.events[i].Expanded, bytes.Clone(fp))
			}
			return nil
		}
	}
	return errors.New("secrets: memory store: no event to add the expanded values' fingerprints to")
}
