package panel

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dataspace/secrets"
)

// The routes on the levels a workspace inherits from (secrets.Config.Parents)
// and on environment scopes: what the Inherited section and the scope
// suggestions show.

// inheritedSecret is a secret of a parent container as the Inherited
// section shows it: never a value.
type inheritedSecret struct {
	Name      string `json:"name"`
	Variable  string `json:"variable"`
	Scope     string `json:"scope"`
	Version   int64  `json:"version"`
	Protected bool   `json:"protected"`
	// Updated and UpdatedBy are set only when the caller may list the
	// container itself.
	Updated   time.Time `json:"updated,omitzero"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	// Nearer is the nearest level, the workspace itself included, that
	// has a secret of the same variable (ignoring ASCII case), in any
	// scope: this one may then be overridden, for every job or for some
	// (which one a job gets is the preview's to say); "" if none.
	Nearer string `json:"nearer,omitempty"`
}

// level is one parent container and its live secrets.
type level struct {
	Container string `json:"container"`
	// URL is Config.ContainerURL's link to the container's panel, if any.
	URL string `json:"url,omitempty"`
	// Listed tells whether the caller may list the container itself: then
	// its secrets carry when and by whom they were last changed.
	Listed  bool              `json:"listed"`
	Secrets []inheritedSecret `json:"secrets"`
	depth   int               // secrets.Resolved.Level: 1 for the nearest parent
}

// maxListed bounds the secrets of one parent whose update times the
// Inherited section shows: one page of secrets.Manager.List.
const maxListed = 1000

// inherited lists the secrets the workspace inherits, by container,
// nearest first, and every environment scope its own and its parents'
// secrets use (for the editor's and the preview's suggestions).
//
// The names come from secrets.Manager.Resolve, which the Manager
// authorizes as a list of the workspace (with the chain in the request):
// whoever may list the workspace may see the names, scopes and versions of
// what it inherits, never a value. When and by whom each was last changed
// comes from secrets.Manager.List of the parent itself, which the panel
// asks only of the parents the host's authorizer lets the caller list
// (secrets.Manager.Allowed); the others show none.
func (h *Handler) inherited(c *call) error {
	ctx, ws := c.r.Context(), c.ws()
	rs, err := h.m.Resolve(ctx, ws, nil)
	if err != nil {
		return err
	}
	scopes := map[string]bool{}
	byContainer := map[string]*level{}
	var levels []*level
	nearest := map[string]secrets.Resolved{} // by variable, lower-cased
	for _, r := range rs {
		k := strings.ToLower(r.Variable)
		if n, ok := nearest[k]; !ok || r.Level < n.Level {
			nearest[k] = r
		}
	}
	for _, r := range rs {
		if r.Scope != "*" {
			scopes[r.Scope] = true
		}
		if r.Container == ws {
			continue
		}
		l := byContainer[r.Container]
		if l == nil {
			l = &level{Container: r.Container, URL: h.containerURL(r.Container), Secrets: []inheritedSecret{}, depth: r.Level}
			byContainer[r.Container] = l
			levels = append(levels, l)
		}
		is := inheritedSecret{Name: r.Name, Variable: r.Variable, Scope: r.Scope, Version: r.Version, Protected: r.Protected}
		if n := nearest[strings.ToLower(r.Variable)]; n.Level < r.Level {
			is.Nearer = n.Container
		}
		l.Secrets = append(l.Secrets, is)
	}
	// Nearest first: each container is one level.
	slices.SortFunc(levels, func(a, b *level) int { return a.depth - b.depth })
	out := make([]level, 0, len(levels))
	for _, l := range levels {
		if err := h.m.Allowed(ctx, l.Container, secrets.ActionList); err == nil {
			p, err := h.m.List(ctx, l.Container, &secrets.ListOptions{Limit: maxListed})
			switch {
			case err == nil:
				l.Listed = true
				updated := make(map[string]secrets.Meta, len(p.Secrets))
				for _, m := range p.Secrets {
					updated[m.Name] = m
				}
				for i := range l.Secrets {
					if m, ok := updated[l.Secrets[i].Name]; ok {
						l.Secrets[i].Updated, l.Secrets[i].UpdatedBy = m.Updated, m.UpdatedBy
					}
				}
			case !errors.Is(err, secrets.ErrForbidden):
				return err
			}
		}
		out = append(out, *l)
	}
	list := make([]string, 0, len(scopes))
	for s := range scopes {
		list = append(list, s)
	}
	slices.Sort(list)
	return c.writeJSON(http.StatusOK, struct {
		Levels []level  `json:"levels"`
		Scopes []string `json:"scopes"`
	}{out, list})
}

// containerURL is Config.ContainerURL's address for container, if it is
// relative or http(s); "" otherwise.
func (h *Handler) containerURL(container string) string {
	if h.cfg.ContainerURL == nil {
		return ""
	}
	return linkable(h.cfg.ContainerURL(container))
}

// linkable returns s if it is an http(s) URL or an address relative to
// the page's host, else "". Browsers read a backslash as a slash and drop
// white space and control characters, so "//host/x", "/\host/x" or
// " //host/x", which Go parses as relative, lead to another host (a panel
// trial): any of those, and anything url.Parse cannot read, is dropped.
func linkable(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r <= ' ' || r == 0x7f }) {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return ""
	case u.Scheme == "http" || u.Scheme == "https":
		return s
	case u.Scheme != "" || u.Opaque != "" || u.Host != "" || strings.HasPrefix(s, "//"):
		return ""
	}
	return s
}

// containerLinks are the links of the containers rs names but ws.
func (h *Handler) containerLinks(rs []secrets.Resolved, ws string) map[string]string {
	if h.cfg.ContainerURL == nil {
		return nil
	}
	out := map[string]string{}
	for _, r := range rs {
		if _, ok := out[r.Container]; ok || r.Container == ws {
			continue
		}
		if u := h.containerURL(r.Container); u != "" {
			out[r.Container] = u
		}
	}
	return out
}
