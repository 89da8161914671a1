package panel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/dataspace/secrets"
)

// The problem types of the API's errors (the "type" member of an
// application/problem+json body, RFC 9457). They are stable: a client
// tells errors apart by them, never by the message. Each links to its
// documentation here. Each error class of package secrets has one type and
// one status; the panel's own refusals have theirs.
const (
	typeBase = "https://pkg.go.dev/github.com/dataspace/secrets/panel#"

	// ProblemNotFound (404): no secret of that name (secrets.ErrNotFound),
	// or a live one was needed and it is deleted.
	ProblemNotFound = typeBase + "ProblemNotFound"
	// ProblemNoVersion (404): that version is not retained
	// (secrets.ErrNoVersion).
	ProblemNoVersion = typeBase + "ProblemNoVersion"
	// ProblemConflict (412): the secret changed since the revision in
	// If-Match, or the workspace since a .env preview
	// (secrets.ErrConflict). The body has "name", "seen", "revision",
	// "version", "deleted" and, when the secret still exists, "current":
	// its metadata now; the ETag header is its current revision.
	ProblemConflict = typeBase + "ProblemConflict"
	// ProblemExists (409): another secret, live or deleted, has that name
	// ignoring case (secrets.ErrExists). The body has "name" (its
	// spelling) and "deleted".
	ProblemExists = typeBase + "ProblemExists"
	// ProblemInvalidName (422): not an environment variable name
	// (secrets.ErrInvalidName).
	ProblemInvalidName = typeBase + "ProblemInvalidName"
	// ProblemInvalidScope (422): an environment scope the Manager refuses
	// in a secret's name ("NAME@scope") or a job's environment, such as
	// one with white space or a '*' that does not end it
	// (secrets.ErrInvalidScope).
	ProblemInvalidScope = typeBase + "ProblemInvalidScope"
	// ProblemReservedName (422): a name the deny-list or the host reserves
	// (secrets.ErrReservedName).
	ProblemReservedName = typeBase + "ProblemReservedName"
	// ProblemInvalidValue (422): a value with a NUL byte
	// (secrets.ErrInvalidValue).
	ProblemInvalidValue = typeBase + "ProblemInvalidValue"
	// ProblemTooLarge (413): a request body over its bound, a value over
	// secrets.MaxEnvString, or a workspace over its budget
	// (secrets.ErrTooLarge).
	ProblemTooLarge = typeBase + "ProblemTooLarge"
	// ProblemInvalidInfo (422): a description or date the Manager refuses
	// (secrets.ErrInvalidInfo).
	ProblemInvalidInfo = typeBase + "ProblemInvalidInfo"
	// ProblemReference (422): a value of a secret that opts in to
	// expansion whose ${NAME} references form a cycle, or any other
	// reference that cannot be expanded (secrets.ErrReference). The body
	// has "reason" (secrets.ReferenceCycle, ReferenceDepth,
	// ReferenceUnknown or ReferenceSize) and "names": the secrets
	// concerned, such as the cycle's chain; never a value.
	ProblemReference = typeBase + "ProblemReference"
	// ProblemInvalidTime (422): no time to restore to
	// (secrets.ErrInvalidTime).
	ProblemInvalidTime = typeBase + "ProblemInvalidTime"
	// ProblemInvalidWorkspace (404): the workspace the host named is not
	// a valid identifier (secrets.ErrInvalidWorkspace).
	ProblemInvalidWorkspace = typeBase + "ProblemInvalidWorkspace"
	// ProblemInvalidDotenv (422): a .env text that cannot be applied
	// (secrets.ErrInvalidDotenv). The body has "line" and "reason" (the
	// last part of another problem type, such as "ProblemReservedName",
	// or "syntax").
	ProblemInvalidDotenv = typeBase + "ProblemInvalidDotenv"
	// ProblemForbidden (403): the Manager's authorizer refused
	// (secrets.ErrForbidden).
	ProblemForbidden = typeBase + "ProblemForbidden"
	// ProblemWriteOnly (403): a write-only secret is never revealed, and
	// never made readable again (secrets.ErrWriteOnly).
	ProblemWriteOnly = typeBase + "ProblemWriteOnly"
	// ProblemExpired (422): the secret is past its expiry
	// (secrets.ErrExpired; jobs only).
	ProblemExpired = typeBase + "ProblemExpired"
	// ProblemDecrypt (500): a stored value failed to decrypt
	// (secrets.ErrDecrypt): tampering, or a disabled key.
	ProblemDecrypt = typeBase + "ProblemDecrypt"
	// ProblemMasterKey (500): the Manager's master key is not the
	// Store's (secrets.ErrMasterKey).
	ProblemMasterKey = typeBase + "ProblemMasterKey"
	// ProblemAudit (503): a reveal or export could not be audited and the
	// Manager fails closed (secrets.ErrAudit).
	ProblemAudit = typeBase + "ProblemAudit"

	// ProblemBadRequest (400): a malformed body, parameter or If-Match.
	ProblemBadRequest = typeBase + "ProblemBadRequest"
	// ProblemUnauthenticated (401): the host named no caller.
	ProblemUnauthenticated = typeBase + "ProblemUnauthenticated"
	// ProblemCrossOrigin (403): the request came from another origin, or
	// a state-changing request lacked RequestHeader.
	ProblemCrossOrigin = typeBase + "ProblemCrossOrigin"
	// ProblemNoRoute (404): no API route has that path.
	ProblemNoRoute = typeBase + "ProblemNoRoute"
	// ProblemMethod (405): the route does not take that method (see the
	// Allow header).
	ProblemMethod = typeBase + "ProblemMethod"
	// ProblemMediaType (415): a body that is not JSON.
	ProblemMediaType = typeBase + "ProblemMediaType"
	// ProblemPreconditionRequired (428): a change to an existing secret
	// without If-Match.
	ProblemPreconditionRequired = typeBase + "ProblemPreconditionRequired"
	// ProblemInternal (500): anything else; the message says nothing
	// more, the host's Logger gets the error.
	ProblemInternal = typeBase + "ProblemInternal"
	// ProblemUnavailable (503): the call timed out, the Store could not
	// finish it (secrets.ErrDatabaseUnavailable), or the host's
	// authorizer could not decide (secrets.ErrUnavailable); try again.
	ProblemUnavailable = typeBase + "ProblemUnavailable"
)

// classes maps each error class of package secrets to its problem type and
// status. Every class appears once.
var classes = []struct {
	err    error
	typ    string
	status int
}{
	{secrets.ErrNotFound, ProblemNotFound, http.StatusNotFound},
	{secrets.ErrNoVersion, ProblemNoVersion, http.StatusNotFound},
	{secrets.ErrConflict, ProblemConflict, http.StatusPreconditionFailed},
	{secrets.ErrExists, ProblemExists, http.StatusConflict},
	{secrets.ErrInvalidName, ProblemInvalidName, http.StatusUnprocessableEntity},
	{secrets.ErrInvalidScope, ProblemInvalidScope, http.StatusUnprocessableEntity},
	{secrets.ErrReservedName, ProblemReservedName, http.StatusUnprocessableEntity},
	{secrets.ErrInvalidValue, ProblemInvalidValue, http.StatusUnprocessableEntity},
	{secrets.ErrTooLarge, ProblemTooLarge, http.StatusRequestEntityTooLarge},
	{secrets.ErrInvalidInfo, ProblemInvalidInfo, http.StatusUnprocessableEntity},
	{secrets.ErrReference, ProblemReference, http.StatusUnprocessableEntity},
	{secrets.ErrInvalidTime, ProblemInvalidTime, http.StatusUnprocessableEntity},
	{secrets.ErrInvalidWorkspace, ProblemInvalidWorkspace, http.StatusNotFound},
	{secrets.ErrInvalidDotenv, ProblemInvalidDotenv, http.StatusUnprocessableEntity},
	{secrets.ErrForbidden, ProblemForbidden, http.StatusForbidden},
	{secrets.ErrWriteOnly, ProblemWriteOnly, http.StatusForbidden},
	{secrets.ErrExpired, ProblemExpired, http.StatusUnprocessableEntity},
	{secrets.ErrDecrypt, ProblemDecrypt, http.StatusInternalServerError},
	{secrets.ErrMasterKey, ProblemMasterKey, http.StatusInternalServerError},
	{secrets.ErrAudit, ProblemAudit, http.StatusServiceUnavailable},
	{secrets.ErrKeyChanged, ProblemUnavailable, http.StatusServiceUnavailable},
	{secrets.ErrUnavailable, ProblemUnavailable, http.StatusServiceUnavailable},
	{secrets.ErrDatabaseUnavailable, ProblemUnavailable, http.StatusServiceUnavailable},
	{secrets.ErrInvalidActor, ProblemInternal, http.StatusInternalServerError},
	{secrets.ErrInvalidParents, ProblemInternal, http.StatusInternalServerError},
	{secrets.ErrInsecureDir, ProblemInternal, http.StatusInternalServerError},
	{secrets.ErrIncomplete, ProblemInternal, http.StatusInternalServerError},
}

// titles are the short, fixed summaries of each type.
var titles = map[string]string{
	ProblemNotFound:             "Not found",
	ProblemNoVersion:            "Version not retained",
	ProblemConflict:             "Changed by someone else",
	ProblemExists:               "Name already used",
	ProblemInvalidName:          "Invalid name",
	ProblemInvalidScope:         "Invalid environment scope",
	ProblemReservedName:         "Reserved name",
	ProblemInvalidValue:         "Invalid value",
	ProblemTooLarge:             "Too large",
	ProblemInvalidInfo:          "Invalid details",
	ProblemReference:            "Invalid reference",
	ProblemInvalidTime:          "Invalid time",
	ProblemInvalidWorkspace:     "No such workspace",
	ProblemInvalidDotenv:        "Invalid .env text",
	ProblemForbidden:            "Not allowed",
	ProblemWriteOnly:            "Write-only secret",
	ProblemExpired:              "Secret expired",
	ProblemDecrypt:              "Decryption failed",
	ProblemMasterKey:            "Unknown master key",
	ProblemAudit:                "Audit unavailable",
	ProblemBadRequest:           "Bad request",
	ProblemUnauthenticated:      "Not signed in",
	ProblemCrossOrigin:          "Cross-origin request refused",
	ProblemNoRoute:              "No such route",
	ProblemMethod:               "Method not allowed",
	ProblemMediaType:            "Unsupported media type",
	ProblemPreconditionRequired: "If-Match required",
	ProblemInternal:             "Internal error",
	ProblemUnavailable:          "Temporarily unavailable",
}

// fixedDetail are the messages of server-side failures: their errors may
// name key IDs or causes an editor cannot act on, so the Logger gets them
// and the caller gets this.
var fixedDetail = map[string]string{
	ProblemDecrypt:     "a stored value could not be decrypted; an operator must look at the audit trail",
	ProblemMasterKey:   "the server's master key does not match its store; an operator must fix the configuration",
	ProblemAudit:       "the audit trail cannot record this read right now, so it was refused; try again later",
	ProblemInternal:    "the server failed; try again later",
	ProblemUnavailable: "the server could not finish the request now; try again",
}

// A problem is an RFC 9457 problem detail, with the extension members
// the types document.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`

	Name     string        `json:"name,omitempty"`
	Seen     int64         `json:"seen,omitempty"`
	Revision int64         `json:"revision,omitempty"`
	Version  int64         `json:"version,omitempty"`
	Deleted  bool          `json:"deleted,omitempty"`
	Current  *secrets.Meta `json:"current,omitempty"`
	Line     int           `json:"line,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Names    []string      `json:"names,omitempty"`

	etag string // the current revision's ETag, for a conflict
}

func (p *problem) Error() string { return p.Detail }

func badRequest(format string, args ...any) *problem {
	return &problem{Type: ProblemBadRequest, Status: http.StatusBadRequest, Detail: fmt.Sprintf(format, args...)}
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	if p.Title == "" {
		p.Title = titles[p.Type]
	}
	if p.etag != "" {
		w.Header().Set("ETag", p.etag)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(p)
	}
}

// problemFor maps an error to its problem: a Manager error by its class,
// with the details its type documents; a problem as it is; anything else
// as an internal error or, for an ended context, unavailable.
func problemFor(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	p = &problem{Type: ProblemInternal, Status: http.StatusInternalServerError}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			p.Type, p.Status = c.typ, c.status
			break
		}
	}
	if p.Type == ProblemInternal && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		p.Type, p.Status = ProblemUnavailable, http.StatusServiceUnavailable
	}
	if p.Type == ProblemUnavailable && errors.Is(err, secrets.ErrUnavailable) {
		// The hook could not decide: the library's words and the hook's
		// public reason (Refusal.Reason), never its cause.
		p.Detail = strings.TrimPrefix(err.Error(), "secrets: ")
		return p
	}
	if d, ok := fixedDetail[p.Type]; ok {
		p.Detail = d
		return p
	}
	p.Detail = strings.TrimPrefix(err.Error(), "secrets: ")
	var ce *secrets.ConflictError
	var ee *secrets.ExistsError
	var de *secrets.DotenvError
	var re *secrets.ReferenceError
	switch {
	case errors.As(err, &ce):
		p.Name, p.Seen, p.Revision, p.Version, p.Deleted = ce.Name, ce.Seen, ce.Revision, ce.Version, ce.Deleted
	case errors.As(err, &ee):
		p.Name, p.Deleted = ee.Name, ee.Deleted
	case errors.As(err, &re):
		p.Reason, p.Names = re.Kind, re.Names
	case errors.As(err, &de):
		p.Line, p.Reason = de.Line, "syntax"
		for _, c := range classes {
			if de.Reason != nil && errors.Is(de.Reason, c.err) {
				p.Reason = strings.TrimPrefix(c.typ, typeBase)
			}
		}
	}
	return p
}

// writeError writes err as a problem. A conflict on a secret that still
// exists carries its current metadata and ETag, so the page can show what
// changed and offer to overwrite from the new revision. Server-side
// failures go to the Logger.
func (h *Handler) writeError(c *call, err error) {
	p := problemFor(err)
	if p.Type == ProblemConflict && p.Name != "" && p.Revision > 0 {
		if cur, merr := h.m.Meta(c.r.Context(), c.ws(), p.Name); merr == nil {
			p.Current, p.etag = &cur, etag(cur.Revision)
		}
	}
	if h.cfg.Logger != nil && (p.Status >= 500 || p.Type == ProblemForbidden && cause(err) != "") {
		level, msg := slog.LevelError, "secrets panel: request failed"
		if p.Status < 500 {
			level, msg = slog.LevelInfo, "secrets panel: request refused"
		}
		attrs := []slog.Attr{slog.String("method", c.r.Method), slog.String("route", c.r.Pattern), slog.Int("status", p.Status),
			slog.String("actor", c.caller.Actor), slog.String("workspace", c.ws()), slog.String("error", err.Error())}
		if cs := cause(err); cs != "" {
			attrs = append(attrs, slog.String("cause", cs))
		}
		h.cfg.Logger.LogAttrs(c.r.Context(), level, msg, attrs...)
	}
	writeProblem(c.w, c.r, p)
}

// cause is the text of what err wraps when err's own message leaves it
// out: the private cause of a refusal (secrets.Refusal.Cause, or the
// hook's error), which the Logger gets and the caller never does.
func cause(err error) string {
	u := errors.Unwrap(err)
	if u == nil || strings.Contains(err.Error(), u.Error()) {
		return ""
	}
	return u.Error()
}
