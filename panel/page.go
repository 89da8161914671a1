package panel

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// static holds the page and its assets, written by hand: no build step,
// no framework, nothing loaded from elsewhere.
//
//go:embed static
var static embed.FS

// apiPolicy is the Content-Security-Policy of every response but the
// page: nothing in it may run, load or be framed.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox"

// pagePolicy is the page's Content-Security-Policy: scripts, styles and
// images from the panel's own files only (no inline script or style, no
// eval), requests to its own origin only, no forms, no <base>, no
// framing but by the host's ancestors, and Trusted Types with no policy,
// so no string can ever become HTML or script (the page builds its DOM
// with text nodes only).
func pagePolicy(ancestors []string) string {
	fa := "'none'"
	if len(ancestors) > 0 {
		fa = strings.Join(ancestors, " ")
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"form-action 'none'; base-uri 'none'; frame-ancestors " + fa + "; " +
		"require-trusted-types-for 'script'; trusted-types 'none'"
}

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assets reads the embedded files once per Handler.
func assets() map[string]asset {
	out := map[string]asset{}
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[strings.TrimPrefix(p, "static/")] = asset{body: b, ctype: types[path.Ext(p)],
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	return out
}

// page serves the page. It holds no data (everything comes from the
// API), so it is served to anyone the host lets through, and the same
// for every caller.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, "index.html")
}

// asset serves one of the page's files.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" {
		name = ""
	}
	h.serveAsset(w, r, name)
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := h.files[name]
	if !ok {
		writeProblem(w, r, &problem{Type: ProblemNoRoute, Status: http.StatusNotFound, Detail: "no such file"})
		return
	}
	hd := w.Header()
	if a.ctype == "text/html; charset=utf-8" {
		hd.Set("Content-Security-Policy", h.pageCSP)
	}
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// frameSource reports whether s is a frame ancestor New accepts: 'self',
// or one http or https origin whose host may begin with "*." (not over a
// public suffix, by golang.org/x/net/publicsuffix) and holds no other
// wildcard. Written here rather than left to the browser: a source
// list's syntax lets one entry widen the policy to every site ("*",
// "https:", several sources separated by spaces), and the page drops
// X-Frame-Options when this list is set.
func frameSource(s string) bool {
	if s == "'self'" {
		return true
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Opaque != "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || s != u.Scheme+"://"+u.Host {
		return false
	}
	host, wild := strings.CutPrefix(u.Hostname(), "*.")
	if host == "" || strings.ContainsAny(host, "* \t'\";,") {
		return false
	}
	// "*.com" or "*.github.io" would let every site under a public
	// suffix frame the page (a review).
	if suffix, _ := publicsuffix.PublicSuffix(host); wild && suffix == host {
		return false
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return false
		}
	}
	return true
}
