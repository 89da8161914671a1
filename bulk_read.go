package secrets

// What the bulk calls (Diff, Apply, Import, Restore) read of a workspace.

import (
	"context"
	"slices"
	"strings"
)

// storedNames returns names with each one that a secret of the workspace
// has, ignoring case, in that secret's spelling: the authorizer sees names
// as stored. It reads only the secrets of these names.
func (m *Manager) storedNames(ctx context.Context, ws string, names []string) ([]string, error) {
	if len(names) == 0 {
		return names, nil
	}
	stored, err := m.namedEntries(ctx, ws, names, false)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n
		if s, ok := stored[strings.ToLower(n)]; ok {
			out[i] = s.Name
		}
	}
	return out, nil
}

// namedEntries reads the workspace's secrets, live and soft-deleted, whose
// names are among names ignoring case, by name in lower case: at most
// maxPage names a List, and nothing of the workspace's other secrets. With
// values, the live ones come with their ciphertexts.
func (m *Manager) namedEntries(ctx context.Context, ws string, names []string, values bool) (map[string]Entry, error) {
	want := make(map[string]bool, len(names))
	ask := make([]string, 0, len(names)) // as spelled: a Store compares them its own way
	for _, n := range names {
		if k := strings.ToLower(n); !want[k] {
			want[k] = true
			ask = append(ask, n)
		}
	}
	cur := map[string]Entry{}
	for batch := range slices.Chunk(ask, maxPage) {
		for _, deleted := range []bool{false, true} {
			// More than a batch can match: a Store that keeps to Names
			// answers in one page; one that does not (written before
			// the field) is paged through in pages of the usual size,
			// its other secrets dropped here.
			q := ListQuery{Names: batch, Deleted: deleted, Limit: maxPage + 1, Values: values && !deleted}
			err := m.listAll(ctx, ws, q, func(en Entry) {
				if k := strings.ToLower(en.Name); want[k] {
					cur[k] = en
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return cur, nil
}

// listAll calls fn with each secret q selects, page by page after
// q.After.
func (m *Manager) listAll(ctx context.Context, ws string, q ListQuery, fn func(Entry)) error {
	q.Limit = max(q.Limit, 1)
	for {
		es, err := m.store.List(ctx, ws, q)
		if err != nil {
			return err
		}
		for _, en := range es {
			fn(en)
		}
		if len(es) < q.Limit {
			return nil
		}
		q.After = es[len(es)-1].Name
	}
}

// allEntries reads every secret of the workspace, live and soft-deleted,
// by name in lower case, page by page (each secret's revision is checked
// again by the write that uses it): a restore's plan, which needs the
// whole environment's size.
func (m *Manager) allEntries(ctx context.Context, ws string) (map[string]Entry, error) {
	cur := map[string]Entry{}
	for _, deleted := range []bool{false, true} {
		err := m.listAll(ctx, ws, ListQuery{Deleted: deleted, Limit: maxPage, Values: !deleted}, func(en Entry) {
			cur[strings.ToLower(en.Name)] = en
		})
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}
