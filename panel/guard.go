package panel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dataspace/secrets"
)

// RequestHeader is the header every state-changing API request must carry
// (with any non-empty value; the page sends "1"). A cross-origin page
// cannot add it without a CORS preflight, which the panel refuses unless
// the host trusts that origin: see the package documentation.
const RequestHeader = "X-Secrets-Panel"

// call is one API request, once the guard has passed it.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	caller Caller
}

// ws is the workspace of the call.
func (c *call) ws() string { return c.caller.Workspace }

// apiFunc serves one API route; an error is written as a problem.
type apiFunc func(c *call) error

// apiHandler runs an apiFunc behind the guard.
type apiHandler struct {
	h  *Handler
	fn apiFunc
}

// api wraps fn with the guard.
func (h *Handler) api(fn apiFunc) http.Handler { return apiHandler{h, fn} }

// ServeHTTP checks, in order: where the request comes from (cross-origin
// requests are refused unless from a trusted origin), that a state-changing
// request carries RequestHeader and (but for DELETE, which has no body) a
// JSON content type, also when its body is empty, and
// who calls (401 for anonymous callers, 404 ProblemInvalidWorkspace for
// an invalid workspace, "" included). Then it runs the route with the
// caller as the context's actor, and writes its error, if any, as a
// problem. Every API response is "Cache-Control: no-store".
func (a apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := a.h
	w.Header().Set("Cache-Control", "no-store")
	h.cors(w, r)
	if err := h.checkOrigin(r); err != nil {
		writeProblem(w, r, err)
		return
	}
	if !safeMethod(r.Method) {
		if r.Header.Get(RequestHeader) == "" {
			writeProblem(w, r, &problem{Type: ProblemCrossOrigin, Status: http.StatusForbidden,
				Detail: "the request lacks the " + RequestHeader + " header that the panel's page sends"})
			return
		}
		if r.Method != http.MethodDelete && !isJSON(r.Header.Get("Content-Type")) {
			writeProblem(w, r, &problem{Type: ProblemMediaType, Status: http.StatusUnsupportedMediaType,
				Detail: "the body must be JSON (Content-Type: application/json)"})
			return
		}
	}
	id, _ := r.Context().Value(callerKey{}).(identified)
	caller := id.c
	if id.err != nil || caller.Actor == "" {
		writeProblem(w, r, &problem{Type: ProblemUnauthenticated, Status: http.StatusUnauthorized,
			Detail: "sign in to see this workspace's secrets"})
		return
	}
	r = r.WithContext(secrets.WithActor(r.Context(), caller.Actor))
	c := &call{w: w, r: r, caller: caller}
	// A route never runs for an invalid workspace: for the Manager's
	// Events, "" would mean every workspace (a trial's host gave "" from
	// a missing parameter, and Activity listed other tenants' events).
	if err := secrets.ValidWorkspace(caller.Workspace); err != nil {
		h.writeError(c, err)
		return
	}
	if err := a.fn(c); err != nil {
		h.writeError(c, err)
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// checkOrigin refuses requests from other origins. For unsafe methods it
// is net/http's CrossOriginProtection (Sec-Fetch-Site, or Origin against
// Host where browsers send no Sec-Fetch-Site). Reads are refused too when
// the browser says they come from another site or origin and are not
// top-level navigations: no page elsewhere may load the API's responses
// (a resource isolation policy; CORS would not let it read them anyway).
func (h *Handler) checkOrigin(r *http.Request) *problem {
	origin := r.Header.Get("Origin")
	if h.trusted[origin] {
		return nil
	}
	refused := &problem{Type: ProblemCrossOrigin, Status: http.StatusForbidden,
		Detail: "cross-origin requests are refused"}
	if !safeMethod(r.Method) {
		if h.origin.Check(r) != nil {
			return refused
		}
		return nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	// A frame, <object> or <embed> load is a navigation too, but not a
	// top-level one: its Sec-Fetch-Dest is not "document".
	if r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document" && r.Method == http.MethodGet {
		return nil
	}
	return refused
}

// cors adds CORS headers for a trusted origin; for any other origin it
// adds nothing, so browsers keep other origins from reading responses.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	if len(h.trusted) == 0 {
		return
	}
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !h.trusted[origin] {
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Allow-Credentials", "true")
	hd.Set("Access-Control-Expose-Headers", "ETag, Location")
}

// preflight answers a CORS preflight: for trusted origins with what the
// route allows, for others with 403 and no CORS header (the browser then
// never sends the request).
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, allow string) {
	h.cors(w, r)
	if !h.trusted[r.Header.Get("Origin")] {
		writeProblem(w, r, &problem{Type: ProblemCrossOrigin, Status: http.StatusForbidden,
			Detail: "cross-origin requests are refused"})
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", allow)
	hd.Set("Access-Control-Allow-Headers", "Content-Type, If-Match, "+RequestHeader)
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// decode reads the request's JSON body into v, bounded by limit bytes:
// 413 beyond, 400 for anything but one JSON object of v's fields. An
// empty body leaves v as it is. Messages never quote the body.
func (c *call) decode(limit int64, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err == nil && (!utf8.Valid(raw) || loneSurrogate(raw)) {
		// encoding/json would take each such byte or escape for U+FFFD,
		// and a value would be stored changed, without a word.
		return badRequest("the body is not UTF-8 JSON (bytes outside UTF-8, or a lone surrogate escape): send a value's bytes as value_base64")
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil {
			if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
				err = errors.New("data after the object")
			}
		}
	}
	if err == nil || errors.Is(err, io.EOF) { // EOF: an empty body
		return nil
	}
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var synErr *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return &problem{Type: ProblemTooLarge, Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the request body is over %d bytes", limit)}
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest("the field %q has the wrong type", sentField(typeErr.Field))
	case errors.As(err, &synErr):
		return badRequest("the body is not valid JSON (at byte %d)", synErr.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return badRequest("the body has a field this route does not take")
	}
	return badRequest("the body is not a JSON object of the expected form")
}

// ifMatch returns the revision in the If-Match header: 428 without one,
// 400 for anything but one strong entity tag made by the panel; "*" gives
// 0 (no condition).
func (c *call) ifMatch() (int64, error) {
	v := strings.TrimSpace(c.r.Header.Get("If-Match"))
	switch {
	case v == "":
		return 0, &problem{Type: ProblemPreconditionRequired, Status: http.StatusPreconditionRequired,
			Detail: "send If-Match with the ETag (revision) you saw, or * to overwrite whatever is there"}
	case v == "*":
		return 0, nil
	}
	rev, ok := parseETag(v)
	if !ok {
		return 0, badRequest("If-Match must be one ETag of this API, such as \"3\", or *")
	}
	return rev, nil
}

// etag is the entity tag of a revision.
func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

func parseETag(v string) (int64, bool) {
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, false
	}
	rev, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	return rev, err == nil && rev > 0
}

// can reports whether the Manager's authorizer allows the caller action
// in the workspace, asked with no names: what the page shows, never what
// the server enforces (the Manager asks its hook on every call). A hook
// that cannot decide (secrets.ErrUnavailable) is not a refusal: can then
// returns the error, so that the page is told to try again rather than
// shown as a viewer's.
func (h *Handler) can(c *call, action secrets.Action) (bool, error) {
	err := h.m.Allowed(c.r.Context(), c.ws(), action)
	if errors.Is(err, secrets.ErrUnavailable) {
		return false, err
	}
	return err == nil, nil
}

// loneSurrogate reports whether a JSON text holds a \u escape of half a
// UTF-16 surrogate pair without its other half. It reads every backslash
// escape, in strings or not (outside strings the decoder refuses them).
func loneSurrogate(b []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+4 > len(b) {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // an escaped character, a backslash included
			continue
		}
		r, ok := hex4(i + 2)
		switch {
		case !ok:
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+8 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
				return true
			}
			if lo, ok := hex4(i + 8); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
			continue
		}
		i += 5
	}
	return false
}

// sentField is the path of a JSON field as the caller sent it: the
// decoder's path also names an embedded struct by its Go type
// ("dotenvInput.text"), which no field of the API's snake_case spells.
func sentField(path string) string {
	parts := strings.Split(path, ".")
	kept := parts[:0]
	for _, p := range parts {
		if strings.ToLower(p) == p {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}
