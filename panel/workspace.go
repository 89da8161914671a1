package panel

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/internal/scope"
)

// The routes on the whole workspace: the caller's abilities, .env
// upload, export, due secrets and the audit trail.

// abilities is what GET api/me says the caller may do.
type abilities struct {
	List    bool `json:"list"`
	Reveal  bool `json:"reveal"`
	Set     bool `json:"set"`
	Delete  bool `json:"delete"`
	Destroy bool `json:"destroy"`
	Rename  bool `json:"rename"`
	Export  bool `json:"export"`
	Diff    bool `json:"diff"`
	Events  bool `json:"events"`
}

// me tells the page who calls and what to show them. It changes nothing
// and records nothing: the answer is a hint for the page, and every call
// is still authorized by the Manager. If the authorizer cannot decide
// any of the abilities, it answers the ErrUnavailable problem (503), not
// a caller who may do nothing.
func (h *Handler) me(c *call) error {
	var can abilities
	for _, a := range []struct {
		action secrets.Action
		out    *bool
	}{
		{secrets.ActionList, &can.List}, {secrets.ActionAudit, &can.Events},
		{secrets.ActionReveal, &can.Reveal}, {secrets.ActionSet, &can.Set},
		{secrets.ActionDelete, &can.Delete}, {secrets.ActionDestroy, &can.Destroy},
		{secrets.ActionRename, &can.Rename}, {secrets.ActionExport, &can.Export},
		{secrets.ActionDiff, &can.Diff},
	} {
		ok, err := h.can(c, a.action)
		if err != nil {
			return err
		}
		*a.out = ok
	}
	kind := c.caller.Kind
	if kind == "" {
		kind = kindWorkspace
	}
	return c.writeJSON(http.StatusOK, struct {
		Actor     string `json:"actor"`
		Workspace string `json:"workspace"`
		// Role is Caller.Role, for the header; omitted when empty.
		Role string `json:"role,omitempty"`
		// Kind is Caller.Kind, "workspace" by default: what the page
		// calls the container, and whether it is a parent.
		Kind string    `json:"kind"`
		Can  abilities `json:"can"`
		// DueWithinHours is how far ahead the page warns of expiry.
		DueWithinHours int64 `json:"due_within_hours"`
		// Limits are the Manager's bounds on names and values.
		Limits secrets.Limits `json:"limits"`
		// MaskMinLength is Config.MaskMinLength: shorter values are not
		// masked in jobs' output.
		MaskMinLength int `json:"mask_min_length"`
	}{
		Actor: c.caller.Actor, Workspace: c.ws(), Role: c.caller.Role, Kind: kind, Can: can,
		DueWithinHours: int64(h.cfg.DueWithin / time.Hour),
		Limits:         h.m.Limits(),
		MaskMinLength:  h.cfg.MaskMinLength,
	})
}

// dotenvInput is a .env text, as text or, for text that is not UTF-8, as
// base64.
type dotenvInput struct {
	Text       *string `json:"text"`
	TextBase64 *string `json:"text_base64"`
}

// dotenvLimit bounds a .env text as the Manager does
// ([secrets.Limits].MaxDotenvBytes), so that every export re-imports; a
// Manager without a budget still gets a bound on what one request may
// make the server hold.
func (h *Handler) dotenvLimit() int64 {
	if n := h.m.Limits().MaxDotenvBytes; n > 0 {
		return n
	}
	return 64 << 20
}

// dotenvBodyLimit bounds the JSON body that carries a .env text: twice
// the text (JSON escapes its newlines and quotes in two bytes), plus room
// for a preview's revisions.
func (h *Handler) dotenvBodyLimit() int64 { return 2*h.dotenvLimit() + 64<<10 }

// planBodyLimit bounds the body that brings a restore-at plan back: each
// secret of a workspace at its limits named three times (its revision,
// its change, a rename), each name at its longest with a scope and every
// byte escaped, on top of Config.MaxBodyBytes. A plan the preview made
// of a large workspace was refused (a data-loss trial: 1.28 MB for 10,000
// secrets of 60-byte names, over the 1 MiB of other bodies).
func (h *Handler) planBodyLimit() int64 {
	lim := h.m.Limits()
	n := int64(lim.MaxSecrets)
	if n <= 0 {
		n = 100_000 // the most a backup or plan holds (see PreviewRestore)
	}
	name := int64(lim.MaxNameLength + 1 + scope.MaxLen)
	return h.cfg.MaxBodyBytes + n*(3*2*name+128)
}

// decodeDotenv decodes the caller's .env body into v, bound by
// dotenvBodyLimit for a caller the authorizer lets diff in the workspace,
// asked with no names as the page asks before it offers the .env import,
// and by Config.MaxBodyBytes, the bound of every other body, for any
// other caller (413 says why), so that one who may do nothing here cannot
// make the server read and parse megabytes before the Manager refuses
// them (a trial: 72 MB allocated per request).
func (h *Handler) decodeDotenv(c *call, v any) error {
	ok, err := h.can(c, secrets.ActionDiff)
	if err != nil {
		return err
	}
	if ok {
		return c.decode(h.dotenvBodyLimit(), v)
	}
	err = c.decode(h.cfg.MaxBodyBytes, v)
	if p := (*problem)(nil); errors.As(err, &p) && p.Type == ProblemTooLarge {
		p.Detail += ": a larger .env text is read only from a caller who may diff in the workspace"
	}
	return err
}

func (d *dotenvInput) bytes(limit int64) ([]byte, error) {
	var b []byte
	switch {
	case d.Text != nil && d.TextBase64 != nil:
		return nil, badRequest("give text or text_base64, not both")
	case d.Text != nil:
		b = []byte(*d.Text)
	case d.TextBase64 != nil:
		var err error
		if b, err = base64.StdEncoding.DecodeString(*d.TextBase64); err != nil {
			return nil, badRequest("text_base64 is not standard base64")
		}
	default:
		return nil, badRequest("give the .env text (text or text_base64)")
	}
	if int64(len(b)) > limit {
		clear(b)
		return nil, &problem{Type: ProblemTooLarge, Status: http.StatusRequestEntityTooLarge,
			Detail: "the .env text takes " + strconv.Itoa(len(b)) + " bytes, more than the workspace could hold"}
	}
	return b, nil
}

// preview shows what applying a .env text would change, by name: it
// never returns a value. Apply takes the same text and this difference.
func (h *Handler) preview(c *call) error {
	var in struct {
		dotenvInput
		Remove bool `json:"remove"`
	}
	if err := h.decodeDotenv(c, &in); err != nil {
		return err
	}
	text, err := in.bytes(h.dotenvLimit())
	if err != nil {
		return err
	}
	defer clear(text)
	d, err := h.m.Diff(c.r.Context(), c.ws(), text, &secrets.DiffOptions{Remove: in.Remove})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, d)
}

// apply applies exactly the difference a preview showed, or nothing (412
// if the workspace changed since: preview again).
func (h *Handler) apply(c *call) error {
	var in struct {
		dotenvInput
		Diff *secrets.Diff `json:"diff"`
	}
	if err := h.decodeDotenv(c, &in); err != nil {
		return err
	}
	text, err := in.bytes(h.dotenvLimit())
	if err != nil {
		return err
	}
	defer clear(text)
	if in.Diff == nil {
		return badRequest("give the diff that POST api/dotenv/preview returned for this text")
	}
	metas, err := h.m.Apply(c.r.Context(), c.ws(), text, *in.Diff)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Secrets []secrets.Meta `json:"secrets"`
	}{metas})
}

// restoreAtPreview says what restoring the workspace to a time would do:
// names and versions, never values (secrets.Manager.PreviewRestoreAt).
func (h *Handler) restoreAtPreview(c *call) error {
	var in struct {
		At time.Time `json:"at"`
	}
	if err := c.decode(h.cfg.MaxBodyBytes, &in); err != nil {
		return err
	}
	plan, err := h.m.PreviewRestoreAt(c.r.Context(), c.ws(), in.At)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, plan)
}

// restoreAtApply applies exactly the plan a preview returned, or nothing
// (412 if the workspace changed since: preview again).
func (h *Handler) restoreAtApply(c *call) error {
	var in struct {
		Plan *secrets.RestoreAtPlan `json:"plan"`
	}
	// The bound of a plan for a caller who may diff (as restoring asks),
	// that of every other body for any other caller, as for a .env text.
	limit := h.cfg.MaxBodyBytes
	ok, err := h.can(c, secrets.ActionDiff)
	if err != nil {
		return err
	}
	if ok {
		limit = h.planBodyLimit()
	}
	if err := c.decode(limit, &in); err != nil {
		return err
	}
	if in.Plan == nil {
		return badRequest("give the plan that POST api/restore-at/preview returned")
	}
	metas, err := h.m.RestoreAt(c.r.Context(), c.ws(), *in.Plan)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Secrets []secrets.Meta `json:"secrets"`
	}{metas})
}

// export returns the workspace as a .env file (write-only secrets named
// in a comment, without value). A POST, audited by the Manager as an
// export, never stored by a cache.
func (h *Handler) export(c *call) error {
	if err := c.decode(h.cfg.MaxBodyBytes, &struct{}{}); err != nil {
		return err
	}
	text, err := h.m.Export(c.r.Context(), c.ws(), nil)
	if err != nil {
		return err
	}
	defer clear(text)
	hd := c.w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="secrets.env"`)
	c.w.WriteHeader(http.StatusOK)
	_, err = c.w.Write(text)
	return err
}

// due lists the live secrets whose expiry or rotation date falls within
// Config.DueWithin, expired ones included.
func (h *Handler) due(c *call) error {
	before := h.cfg.Now().Add(h.cfg.DueWithin).UTC()
	metas, err := h.m.Due(c.r.Context(), c.ws(), before)
	if err != nil {
		return err
	}
	if metas == nil {
		metas = []secrets.Meta{}
	}
	return c.writeJSON(http.StatusOK, struct {
		Before  time.Time      `json:"before"`
		Secrets []secrets.Meta `json:"secrets"`
	}{before, metas})
}

// resolve says what a job of the workspace gets and from where, without
// values: the workspace's secrets and its parents' (secrets.Config.Parents),
// each with its status, for the job in the query's environment
// (?environment=) and protection (?protected=true).
func (h *Handler) resolve(c *call) error {
	q := c.r.URL.Query()
	rs, err := h.m.Resolve(c.r.Context(), c.ws(), &secrets.ResolveOptions{Environment: q.Get("environment"), Protected: q.Get("protected") == "true"})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, struct {
		Secrets []secrets.Resolved `json:"secrets"`
		// Links are Config.ContainerURL's links of the parents named.
		Links map[string]string `json:"links,omitempty"`
	}{rs, h.containerLinks(rs, c.ws())})
}

// maxEvents bounds a page of events.
const maxEvents = 200

// events lists the workspace's audit events, newest first, optionally of
// one secret (?name=), in pages (?before= the "next" of the previous
// page), to those the authorizer lets read the audit trail
// (secrets.ActionAudit), which the Manager asks again. Fingerprints, the
// secrets' and those of a job's expanded values (Event.Expanded), are
// left out: they serve operators' searches, not the page.
func (h *Handler) events(c *call) error {
	q := c.r.URL.Query()
	eq := secrets.EventQuery{Workspace: c.ws(), Name: q.Get("name"), Newest: true, Limit: 50, SkipLists: true}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return badRequest("before must be a positive event ID")
		}
		eq.Before = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEvents {
			return badRequest("limit must be from 1 to %d", maxEvents)
		}
		eq.Limit = n
	}
	evs, err := h.m.Events(c.r.Context(), eq)
	if err != nil {
		return err
	}
	var next string
	if len(evs) == eq.Limit {
		next = strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	for i := range evs {
		evs[i].Expanded = nil
		for j := range evs[i].Secrets {
			evs[i].Secrets[j].Fingerprint = nil
		}
	}
	if evs == nil {
		evs = []secrets.Event{}
	}
	return c.writeJSON(http.StatusOK, struct {
		Events []secrets.Event `json:"events"`
		Next   string          `json:"next,omitempty"`
	}{evs, next})
}
