package panel

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dataspace/secrets"
)

// The routes on one secret, or on the list. Each goes through the
// Manager, which authorizes and audits it as any other call.

// writeJSON writes v as the response, with status.
func (c *call) writeJSON(status int, v any) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	if c.r.Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(c.w).Encode(v)
}

// writeMeta writes one secret's metadata with its revision as ETag.
func (c *call) writeMeta(status int, m secrets.Meta) error {
	c.w.Header().Set("ETag", etag(m.Revision))
	return c.writeJSON(status, m)
}

// changes are the fields of a secret a request sets; absent ones are kept.
type changes struct {
	// Value is the new value as text, or ValueBase64 as bytes (for values
	// that are not UTF-8); at most one of them.
	Value       *string `json:"value"`
	ValueBase64 *string `json:"value_base64"`
	Description *string `json:"description"`
	// Expires and RotateBy are RFC 3339 times; "" clears them.
	Expires   *string `json:"expires"`
	RotateBy  *string `json:"rotate_by"`
	WriteOnly *bool   `json:"write_only"`
	File      *bool   `json:"file"`
	// Protected: only jobs the host marks protected get the secret.
	Protected *bool `json:"protected"`
	// Expand: jobs get the value with its ${NAME} references expanded
	// (secrets.Info.Expand).
	Expand *bool `json:"expand"`
}

// value returns the new value, if the request gives one.
func (ch *changes) value() ([]byte, bool, error) {
	switch {
	case ch.Value != nil && ch.ValueBase64 != nil:
		return nil, false, badRequest("give value or value_base64, not both")
	case ch.Value != nil:
		return []byte(*ch.Value), true, nil
	case ch.ValueBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*ch.ValueBase64)
		if err != nil {
			return nil, false, badRequest("value_base64 is not standard base64")
		}
		return b, true, nil
	}
	return nil, false, nil
}

// info returns base with the request's changes, and whether any.
func (ch *changes) info(base secrets.Info) (secrets.Info, bool, error) {
	changed := false
	if ch.Description != nil {
		base.Description, changed = *ch.Description, true
	}
	for _, f := range []struct {
		field string
		in    *string
		out   *time.Time
	}{{"expires", ch.Expires, &base.Expires}, {"rotate_by", ch.RotateBy, &base.RotateBy}} {
		if f.in == nil {
			continue
		}
		changed = true
		if *f.in == "" {
			*f.out = time.Time{}
			continue
		}
		t, err := time.Parse(time.RFC3339, *f.in)
		if err != nil {
			return base, false, badRequest("%s must be an RFC 3339 time, such as 2030-01-31T00:00:00Z, or empty", f.field)
		}
		*f.out = t.UTC()
	}
	if ch.WriteOnly != nil {
		base.WriteOnly, changed = *ch.WriteOnly, true
	}
	if ch.File != nil {
		base.File, changed = *ch.File, true
	}
	if ch.Protected != nil {
		base.Protected, changed = *ch.Protected, true
	}
	if ch.Expand != nil {
		base.Expand, changed = *ch.Expand, true
	}
	return base, changed, nil
}

// listQuery is a page request: GET api/secrets takes it as parameters,
// POST api/search as a body (with Search, which never goes in a URL:
// people paste values into search boxes).
type listQuery struct {
	Search  string `json:"search"`
	After   string `json:"after"`
	Limit   int    `json:"limit"`
	Deleted bool   `json:"deleted"`
}

func (h *Handler) list(c *call) error {
	q := c.r.URL.Query()
	if q.Has("search") {
		return badRequest("search with POST api/search: a search term must never be in a URL")
	}
	lq := listQuery{After: q.Get("after")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return badRequest("limit must be a positive integer")
		}
		lq.Limit = n
	}
	if s := q.Get("deleted"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return badRequest("deleted must be true or false")
		}
		lq.Deleted = b
	}
	return h.page1(c, lq)
}

func (h *Handler) search(c *call) error {
	var lq listQuery
	if err := c.decode(h.cfg.MaxBodyBytes, &lq); err != nil {
		return err
	}
	if lq.Limit < 0 {
		return badRequest("limit must be a positive integer")
	}
	return h.page1(c, lq)
}

func (h *Handler) page1(c *call, lq listQuery) error {
	p, err := h.m.List(c.r.Context(), c.ws(), &secrets.ListOptions{Search: lq.Search, After: lq.After, Limit: lq.Limit, Deleted: lq.Deleted})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, p)
}

func (h *Handler) meta(c *call) error {
	m, err := h.m.Meta(c.r.Context(), c.ws(), c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.writeMeta(http.StatusOK, m)
}

// createInput is a new secret: its name, value and Info. With Scope (an
// environment scope, "*" or "" for every environment), the secret's name is
// secrets.ScopedName(Name, Scope): Name is then the variable alone.
type createInput struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	changes
}

func (h *Handler) create(c *call) error {
	var in createInput
	if err := c.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	value, ok, err := in.value()
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("a new secret needs a value (value or value_base64)")
	}
	info, _, err := in.info(secrets.Info{})
	if err != nil {
		return err
	}
	name := in.Name
	if in.Scope != "" {
		if strings.Contains(name, "@") {
			clear(value)
			return badRequest("give the variable's name alone with a scope, or the whole name (NAME@scope) without one")
		}
		name = secrets.ScopedName(name, in.Scope)
	}
	m, err := h.m.Set(c.r.Context(), c.ws(), name, value, &secrets.SetOptions{IfAbsent: true, Info: &info})
	clear(value)
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", "secrets/"+url.PathEscape(m.Name))
	return c.writeMeta(http.StatusCreated, m)
}

// update changes a secret's value, its Info, or both, in one revision,
// if it is still at the revision of If-Match.
func (h *Handler) update(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	var ch changes
	if err := c.decode(h.cfg.MaxBodyBytes, &ch); err != nil {
		return err
	}
	value, hasValue, err := ch.value()
	if err != nil {
		return err
	}
	defer clear(value)
	ctx, ws := c.r.Context(), c.ws()
	cur, err := h.m.Meta(ctx, ws, c.r.PathValue("name"))
	if err != nil {
		return err
	}
	if !cur.Deleted.IsZero() {
		return &problem{Type: ProblemNotFound, Status: http.StatusNotFound, Name: cur.Name,
			Detail: cur.Name + " is deleted: restore it before changing it"}
	}
	if rev == 0 {
		rev = cur.Revision // "*": over what is there now, but still no lost update in between
	}
	info, hasInfo, err := ch.info(cur.Info)
	if err != nil {
		return err
	}
	var m secrets.Meta
	switch {
	case hasValue:
		opts := &secrets.SetOptions{IfRevision: rev}
		if hasInfo {
			opts.Info = &info
		}
		m, err = h.m.Set(ctx, ws, cur.Name, value, opts)
	case hasInfo:
		m, err = h.m.SetInfo(ctx, ws, cur.Name, info, &secrets.WriteOptions{IfRevision: rev})
	default:
		return badRequest("nothing to change: give a value or a field of the secret's details")
	}
	if err != nil {
		return err
	}
	return c.writeMeta(http.StatusOK, m)
}

func (h *Handler) remove(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	m, err := h.m.Delete(c.r.Context(), c.ws(), c.r.PathValue("name"), &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return c.writeMeta(http.StatusOK, m)
}

func (h *Handler) undelete(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &struct{}{}); err != nil {
		return err
	}
	m, err := h.m.Undelete(c.r.Context(), c.ws(), c.r.PathValue("name"), &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return c.writeMeta(http.StatusOK, m)
}

func (h *Handler) destroy(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &struct{}{}); err != nil {
		return err
	}
	if err := h.m.Destroy(c.r.Context(), c.ws(), c.r.PathValue("name"), &secrets.WriteOptions{IfRevision: rev}); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rename(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	var in struct {
		To string `json:"to"`
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	m, err := h.m.Rename(c.r.Context(), c.ws(), c.r.PathValue("name"), in.To, &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	// Relative to the request's URL, …/secrets/OLD/rename: up one level.
	c.w.Header().Set("Location", "../"+url.PathEscape(m.Name))
	return c.writeMeta(http.StatusOK, m)
}

func (h *Handler) versions(c *call) error {
	vs, err := h.m.Versions(c.r.Context(), c.ws(), c.r.PathValue("name"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Versions []secrets.VersionMeta `json:"versions"`
	}{vs})
}

func (h *Handler) rollback(c *call) error {
	rev, err := c.ifMatch()
	if err != nil {
		return err
	}
	var in struct {
		Version int64 `json:"version"`
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.Version < 1 {
		return badRequest("version must be a positive integer")
	}
	m, err := h.m.Rollback(c.r.Context(), c.ws(), c.r.PathValue("name"), in.Version, &secrets.WriteOptions{IfRevision: rev})
	if err != nil {
		return err
	}
	return c.writeMeta(http.StatusOK, m)
}

// revealed is a secret's value, as text when it is UTF-8 and as base64
// otherwise.
type revealed struct {
	Name        string `json:"name"`
	Version     int64  `json:"version"`
	Value       string `json:"value,omitempty"`
	ValueBase64 string `json:"value_base64,omitempty"`
}

// reveal returns a value: a POST, so that no cache or prefetch keeps it
// and every reveal is a deliberate, audited call (the Manager records it
// and refuses write-only secrets, whoever asks).
func (h *Handler) reveal(c *call) error {
	var in struct {
		Version int64 `json:"version"`
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	if in.Version < 0 {
		return badRequest("a version is 1 or more (0 or none: the current one)")
	}
	ctx, ws, name := c.r.Context(), c.ws(), c.r.PathValue("name")
	var s secrets.Secret
	var err error
	if in.Version > 0 {
		s, err = h.m.GetVersion(ctx, ws, name, in.Version)
	} else {
		s, err = h.m.Get(ctx, ws, name)
	}
	if err != nil {
		return err
	}
	b := s.Value.Reveal()
	defer clear(b)
	out := revealed{Name: s.Name, Version: s.Version}
	if utf8.Valid(b) {
		out.Value = string(b)
	} else {
		out.ValueBase64 = base64.StdEncoding.EncodeToString(b)
	}
	return c.writeJSON(http.StatusOK, out)
}
