package panel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dataspace/secrets"
)

// A Caller is who makes a request and for which workspace, as the host
// knows it from its own session.
type Caller struct {
	// Workspace is the workspace the panel shows. A Handler serves one
	// workspace per request; the host decides which (from the path, the
	// session, ...).
	Workspace string
	// Actor names the caller as the Manager records it (e.g.
	// "user:42"). Empty means anonymous: the API answers 401.
	Actor string
	// Role is the caller's role as the host names it ("Owner",
	// "Maintainer", ...), shown as it is in the page's header. It grants
	// nothing: Config.Authorize of the Manager decides. Empty: the page
	// shows "Editor" to a caller who may set secrets, otherwise "Viewer ·
	// read-only".
	Role string
	// Kind is what Workspace is, as the page names it. Empty, or
	// "workspace": a workspace, whose builds and jobs get its secrets.
	// Anything else says Workspace is a parent container that workspaces
	// inherit from (secrets.Config.Parents), such as "group" or
	// "instance": the page then says that its secrets go to the jobs of
	// the workspaces below it unless they or a level between have the
	// name, and calls it "this group" where a workspace's page says "this
	// workspace". It is shown as it is, and grants and changes nothing
	// else.
	Kind string
}

// kindWorkspace is Caller.Kind's default.
const kindWorkspace = "workspace"

// Config configures a Handler. Only Caller is required; every other zero
// field means the default given with it.
type Config struct {
	// Caller tells, for each request, who calls and for which workspace.
	// The panel never authenticates: this is the host's session lookup.
	// An error, or an empty Actor, makes the API answer 401 (the page
	// and its assets, which hold no data, are still served). The error's
	// text is not shown to the caller.
	Caller func(r *http.Request) (Caller, error)

	// AllowAll says that the Manager has no Config.Authorize on purpose:
	// every caller that Caller names may do all the panel offers (reveal,
	// set, delete, export, the audit trail) in every workspace it names.
	// Without it, New refuses a Manager without an Authorize hook
	// (ErrNoAuthorize), so that a panel is never served open by omission.
	AllowAll bool

	// MaxBodyBytes bounds every other request body. Default 1 MiB:
	// room for a value of secrets.MaxEnvString bytes escaped in JSON.
	MaxBodyBytes int64

	// DueWithin is how far ahead GET api/due looks, and when the page
	// marks a secret as expiring soon. Default 14 days.
	DueWithin time.Duration

	// FrameAncestors are the sources allowed to frame the page, each
	// 'self' or one origin "scheme://host[:port]" (http or https; the
	// host may begin with "*." for its subdomains, not those of a public
	// suffix such as "*.com" or "*.github.io"), such as
	// "https://admin.example.com". New refuses anything else (several
	// sources in one entry, "*", a bare scheme such as "https:"), each
	// of which would let any site frame the page. Default none: the page
	// cannot be framed.
	FrameAncestors []string

	// TrustedOrigins are origins ("https://app.example.com") that may
	// call the API from another origin, with credentials: they pass the
	// cross-origin checks and get CORS headers. Default none, and then
	// the panel sends no CORS header at all.
	TrustedOrigins []string

	// MaskMinLength is the secrets.RedactConfig.MinLength of the host's
	// jobs: values shorter than it are not masked in their output. The
	// page says so, and the editor warns when one is saved. Default 6,
	// the Redactor's default.
	MaskMinLength int

	// ContainerURL, if not nil, returns the address of the panel of a
	// container the workspace inherits from (secrets.Config.Parents, such
	// as "group:acme"), for the page's links from the Inherited section
	// and from "What will a job get?". "" means no link. Only addresses
	// relative to the page's host and http or https URLs are used; others
	// are dropped, and so are "//host/x", "/\host/x" and any address with
	// a backslash, white space or a control character, which browsers
	// read as another host. The
	// link grants nothing: the panel at that address authorizes its
	// caller for that container. nil: no links.
	ContainerURL func(container string) string

	// Logger receives failures the caller sees only as a 5xx, with the
	// route and the error (never a value: the Manager's errors hold
	// none), and, at Info, refusals whose hook gave a private cause
	// (secrets.Refusal.Cause, or an error of its own), with that cause,
	// which neither the caller nor the Activity view ever sees. nil
	// discards them.
	Logger *slog.Logger

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// A Handler serves the settings panel of a workspace: the page, its
// assets and the JSON API. Create it with New; it is safe for concurrent
// use and holds no goroutine.
type Handler struct {
	m       *secrets.Manager
	cfg     Config
	mux     *http.ServeMux
	origin  *http.CrossOriginProtection
	trusted map[string]bool
	pageCSP string
	files   map[string]asset
}

// ErrNoAuthorize is New's error for a Manager without a Config.Authorize
// hook when Config.AllowAll is not set: every signed-in caller could
// reveal and change the secrets of every workspace the host routes to.
var ErrNoAuthorize = errors.New("panel: the Manager has no Config.Authorize, so every caller could reveal and change every workspace's secrets: set one, or Config.AllowAll")

// Defaults.
const (
	defaultMaxBodyBytes = 1 << 20
	defaultDueWithin    = 14 * 24 * time.Hour
	// defaultMaskMinLength is the Redactor's default MinLength.
	defaultMaskMinLength = 6
)

// New returns the panel's handler over m. Mount it under the host's
// route for a workspace with http.StripPrefix, so that the handler sees
// paths such as "/" and "/api/secrets":
//
//	mux.Handle("/settings/secrets/", http.StripPrefix("/settings/secrets", h))
//
// It fails if m or cfg.Caller is nil, if m has no Authorize hook and
// cfg.AllowAll is not set (ErrNoAuthorize), or if an entry of
// cfg.TrustedOrigins is not an origin.
func New(m *secrets.Manager, cfg *Config) (*Handler, error) {
	if m == nil {
		return nil, errors.New("panel: nil Manager")
	}
	if cfg == nil || cfg.Caller == nil {
		return nil, errors.New("panel: Config.Caller is required")
	}
	if !m.HasAuthorize() && !cfg.AllowAll {
		return nil, ErrNoAuthorize
	}
	h := &Handler{m: m, cfg: *cfg, origin: http.NewCrossOriginProtection(), trusted: map[string]bool{}}
	c := &h.cfg
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.DueWithin <= 0 {
		c.DueWithin = defaultDueWithin
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaskMinLength <= 0 {
		c.MaskMinLength = defaultMaskMinLength
	}
	for _, o := range c.TrustedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("panel: trusted origin %q is not scheme://host[:port]", o)
		}
		if err := h.origin.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("panel: trusted origin %q: %v", o, err)
		}
		h.trusted[o] = true
	}
	for _, s := range c.FrameAncestors {
		if !frameSource(s) {
			return nil, fmt.Errorf("panel: frame ancestor %q is not 'self' or one origin scheme://host[:port]", s)
		}
	}
	h.pageCSP = pagePolicy(c.FrameAncestors)
	h.files = assets()
	h.routes()
	return h, nil
}

// ServeHTTP serves the page, its assets and the API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Responses other than the page render nothing and may be framed by
	// no one; the page replaces this policy with its own.
	hd.Set("Content-Security-Policy", apiPolicy)
	if len(h.cfg.FrameAncestors) == 0 {
		hd.Set("X-Frame-Options", "DENY")
	}
	if r.URL.Path == "" {
		h.addSlash(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		// Ask the host now: the routing below replaces the request's
		// path values (r.PathValue) with the panel's own, and the host's
		// Caller may read its own, such as the workspace.
		c, err := h.cfg.Caller(r)
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, identified{c, err}))
	}
	h.mux.ServeHTTP(w, r)
}

// callerKey keys the host's answer about the caller in a request's context.
type callerKey struct{}

// identified is what Config.Caller said.
type identified struct {
	c   Caller
	err error
}

// addSlash answers a request for the mount point itself ("/settings/secrets"
// when the host strips that prefix): the page's relative links need the
// trailing slash, so it redirects there, relatively (the handler does not
// know its prefix).
func (h *Handler) addSlash(w http.ResponseWriter, r *http.Request) {
	p, _, _ := strings.Cut(r.RequestURI, "?")
	if strings.HasSuffix(p, "/") || p == "" || p == "*" {
		r.URL.Path = "/" // stripped with a trailing slash: serve the page
		h.mux.ServeHTTP(w, r)
		return
	}
	last := p[strings.LastIndexByte(p, '/')+1:]
	w.Header().Set("Location", "./"+last+"/")
	w.WriteHeader(http.StatusMovedPermanently)
}

// routes registers every route: the page, its assets and the API.
func (h *Handler) routes() {
	mux := http.NewServeMux()
	mux.Handle("/{$}", methods{"GET": http.HandlerFunc(h.page)})
	mux.Handle("/assets/{file}", methods{"GET": http.HandlerFunc(h.asset)})
	a := h.api
	mux.Handle("/api/me", methods{"GET": a(h.me)})
	mux.Handle("/api/secrets", methods{"GET": a(h.list), "POST": a(h.create)})
	mux.Handle("/api/search", methods{"POST": a(h.search)})
	mux.Handle("/api/secrets/{name}", methods{"GET": a(h.meta), "PATCH": a(h.update), "DELETE": a(h.remove)})
	mux.Handle("/api/secrets/{name}/rename", methods{"POST": a(h.rename)})
	mux.Handle("/api/secrets/{name}/undelete", methods{"POST": a(h.undelete)})
	mux.Handle("/api/secrets/{name}/destroy", methods{"POST": a(h.destroy)})
	mux.Handle("/api/secrets/{name}/versions", methods{"GET": a(h.versions)})
	mux.Handle("/api/secrets/{name}/rollback", methods{"POST": a(h.rollback)})
	mux.Handle("/api/secrets/{name}/reveal", methods{"POST": a(h.reveal)})
	mux.Handle("/api/dotenv/preview", methods{"POST": a(h.preview)})
	mux.Handle("/api/dotenv/apply", methods{"POST": a(h.apply)})
	mux.Handle("/api/export", methods{"POST": a(h.export)})
	mux.Handle("/api/due", methods{"GET": a(h.due)})
	mux.Handle("/api/events", methods{"GET": a(h.events)})
	mux.Handle("/api/resolve", methods{"GET": a(h.resolve)})
	mux.Handle("/api/inherited", methods{"GET": a(h.inherited)})
	mux.Handle("/api/restore-at/preview", methods{"POST": a(h.restoreAtPreview)})
	mux.Handle("/api/restore-at/apply", methods{"POST": a(h.restoreAtApply)})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		h.cors(w, r)
		writeProblem(w, r, &problem{Type: ProblemNoRoute, Status: http.StatusNotFound, Detail: "no such API route"})
	})
	h.mux = mux
}

// methods dispatches a route by method, answering others with 405 and an
// Allow header (as a problem for the API). GET also serves HEAD. Preflight
// requests (OPTIONS) reach the API handler, which answers them for
// trusted origins only.
type methods map[string]http.Handler

func (ms methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := r.Method
	if m == http.MethodHead {
		m = http.MethodGet
	}
	if hd, ok := ms[m]; ok {
		hd.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodOptions {
		for _, hd := range ms {
			if ah, ok := hd.(apiHandler); ok {
				ah.h.preflight(w, r, ms.allow())
				return
			}
		}
	}
	w.Header().Set("Allow", ms.allow())
	writeProblem(w, r, &problem{Type: ProblemMethod, Status: http.StatusMethodNotAllowed,
		Detail: r.Method + " is not allowed here; use " + ms.allow()})
}

// allow lists the methods, in a fixed order.
func (ms methods) allow() string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PATCH", "DELETE"} {
		k := m
		if m == "HEAD" {
			k = "GET"
		}
		if _, ok := ms[k]; ok {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}
