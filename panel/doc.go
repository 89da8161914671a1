// Package panel serves a workspace's secrets settings panel: a web page
// like GitLab's CI/CD variables page and the JSON API behind it, as one
// [http.Handler] that a host mounts under its own routes.
//
// The host builds a [Handler] with [New] from its [secrets.Manager] and a
// [Config] whose Caller function says, for each request, who calls and for
// which workspace (the host's session; the panel never authenticates):
//
//	h, err := panel.New(m, &panel.Config{
//		Caller: func(r *http.Request) (panel.Caller, error) {
//			u, err := sessions.User(r) // the host's own
//			if err != nil {
//				return panel.Caller{}, err // 401
//			}
//			return panel.Caller{Workspace: r.PathValue("ws"), Actor: "user:" + u.ID, Role: u.RoleName}, nil
//		},
//	})
//	mux.HandleFunc("/w/{ws}/secrets/", func(w http.ResponseWriter, r *http.Request) {
//		http.StripPrefix("/w/"+r.PathValue("ws")+"/secrets", h).ServeHTTP(w, r)
//	})
//
// Every API call goes through the Manager with [secrets.WithActor] set to
// the caller, so its Authorize hook and its audit trail apply exactly as to
// any other call. The panel asks [secrets.Manager.Allowed] (the same hook,
// unrecorded) only to tell the page which controls to show (GET api/me;
// a hook that cannot decide makes it answer 503, ProblemUnavailable):
// the Activity view needs secrets.ActionAudit, which the Manager asks again
// when the page reads the events.
//
// # Routes
//
// Paths are relative to where the host mounts the handler.
//
//	GET    /                             the page (and GET /assets/{file}: its script, style, icon)
//	GET    api/me                        the caller, the workspace and its kind, and what the caller may do
//	GET    api/secrets?after=&limit=&deleted=   a page of metadata, never values
//	POST   api/search                    the same, with {"search"} in the body
//	POST   api/secrets                   create: {"name", "scope", "value" or "value_base64", "description", "expires", "rotate_by", "write_only", "file", "protected", "expand"}; 201
//	GET    api/secrets/{name}            one secret's metadata; ETag is its revision
//	PATCH  api/secrets/{name}            change the value and/or details, with If-Match
//	DELETE api/secrets/{name}            soft delete, with If-Match
//	POST   api/secrets/{name}/undelete   restore, with If-Match
//	POST   api/secrets/{name}/destroy    erase for good, with If-Match; 204
//	POST   api/secrets/{name}/rename     {"to"}, with If-Match
//	GET    api/secrets/{name}/versions   the retained versions
//	POST   api/secrets/{name}/rollback   {"version"}, with If-Match
//	POST   api/secrets/{name}/reveal     {"version"} (0: current): the value; audited, never for write-only secrets
//	POST   api/dotenv/preview            {"text" or "text_base64", "remove"}: what would change, by name ("uncompared": the write-only changes)
//	POST   api/dotenv/apply              {"text" or "text_base64", "diff"}: exactly that change, or 412
//	POST   api/export                    the workspace as a .env file
//	GET    api/due                       live secrets expiring or due for rotation within Config.DueWithin
//	GET    api/events?name=&before=&limit=   the workspace's audit events, newest first
//	GET    api/resolve?environment=&protected=   what a job in that environment (protected: "true") gets and from where (workspace and parents), no values
//	GET    api/inherited                     the parents' secrets by container, nearest first (names, scopes, versions, a nearer level with the name; no values), and the scopes in use
//	POST   api/restore-at/preview            {"at": time}: what restoring to that time would do, no values
//	POST   api/restore-at/apply              {"plan": the preview's plan}: exactly that, or 412
//
// A secret's name may end in "@" and an environment scope
// ("API_TOKEN@production", "API_TOKEN@review/*"; none for every
// environment): in a route's {name} it is the whole name, escaped. Create
// takes the variable in "name" and the scope in "scope" and saves
// [secrets.ScopedName] of them; the page moves a secret to another scope
// with a rename to its new whole name. Changing "protected" or "expand"
// ([secrets.Info]) is a PATCH like the other details. A write of a secret
// that expands its ${NAME} references answers its metadata with
// "undefined": the names it references that no scope defines yet (a
// warning); references that form a cycle are refused with
// [ProblemReference].
//
// # Levels
//
// A workspace inherits secrets from the containers [secrets.Config.Parents]
// names, and the same Handler serves a parent's own page: the host's
// Caller names the parent ("group:acme") as the Workspace and its kind
// ("group") as the Kind, and the Manager authorizes its callers for that
// container. With a Kind, the page says that the parent's secrets go to
// the jobs of the workspaces below it, where neither the workspace nor a
// level between has the name, and calls it "this group"; without one, it
// speaks of "this workspace". The page's Inherited section (GET
// api/inherited) lists what the workspace inherits, for anyone who may
// list the workspace (the Manager authorizes it as such: names, never
// values), each with the nearest level, the workspace included, that has
// the same name too ("also set here", "also set in group:acme": it may
// override it, for some environments or all, which the preview tells);
// when and by whom each was last changed shows only for the
// parents the caller may list itself. Config.ContainerURL links each
// parent to its own page.
//
// Metadata is [secrets.Meta] in JSON. The responses of create, update and
// rename carry its "warnings" ([secrets.NameWarning]) when the name is
// shaped like a program's start-up file or command line; the page shows
// them until the editor dismisses them. Times are RFC 3339. Values travel
// only in request and response bodies, never in a URL (the search term too
// goes in a body: people paste values into search boxes), a header, a log
// line or an error. Every API response is "Cache-Control: no-store".
//
// # Check-and-set
//
// A secret's ETag is its revision, which every change increases. Every
// change to an existing secret needs If-Match with the ETag the editor saw
// (428 without it; "*" means whatever revision the change reads first,
// which its write is then checked against, as a PATCH merges its fields
// into what it read). If the
// secret changed meanwhile, the change is refused with 412 and
// [ProblemConflict], whose body carries the secret's current metadata and
// whose ETag header is its current revision: the page shows what changed,
// keeps the editor's input, and offers to save it over the new revision or
// to reload. A .env apply is conditional on its preview the same way.
//
// # Errors
//
// Errors are application/problem+json (RFC 9457) with a stable type, one
// per error class of package secrets, each with one status: ErrNotFound and
// ErrNoVersion 404, ErrConflict 412, ErrExists 409, ErrInvalidName,
// ErrInvalidScope, ErrReservedName, ErrInvalidValue, ErrInvalidInfo,
// ErrReference, ErrInvalidTime, ErrInvalidDotenv and ErrExpired 422,
// ErrTooLarge 413, ErrInvalidWorkspace 404, ErrForbidden and ErrWriteOnly
// 403, ErrDecrypt and ErrMasterKey 500, ErrAudit, ErrKeyChanged and
// ErrUnavailable 503; ErrInvalidActor, ErrInvalidParents and
// ErrInsecureDir (the host's configuration) and ErrIncomplete 500. The
// panel adds 400 (malformed request), 401 (no caller), 403 (cross-origin),
// 405, 415 (not JSON) and 428 (no If-Match). The detail is the Manager's
// message without its "secrets: " prefix, fit for the editor who made the
// call; server-side failures get a fixed message and go to Config.Logger.
// A hook that could not decide (ErrUnavailable) gets the Manager's message
// with the hook's public reason, never its cause, which Config.Logger gets.
//
// # Cross-site request forgery
//
// The host's session is usually a cookie, which the browser attaches to
// requests that other sites make it send. The panel accepts a
// state-changing request (POST, PATCH, DELETE) only if:
//
//   - it carries the [RequestHeader] header;
//   - but for DELETE, it is declared as application/json, even with an
//     empty body;
//   - it does not come from another origin: net/http's
//     CrossOriginProtection checks Sec-Fetch-Site, or Origin against Host
//     where a browser sends no Sec-Fetch-Site.
//
// This holds because a page of another origin can make a browser send
// credentialed requests without asking the target only in the forms HTML
// forms and "simple" requests allow: methods GET, HEAD and POST, no custom
// header, and a body of one of three types (form-encoded, multipart,
// text/plain). A custom header, a JSON content type, PATCH and DELETE each
// make the browser ask first with a CORS preflight, which the panel answers
// without any CORS permission (unless the host named that origin in
// Config.TrustedOrigins), so the browser never sends the request. The
// origin check refuses the request independently of that, which also
// covers same-site pages on other origins (a sibling subdomain) and any
// future way around preflights. Reads are refused too when the browser
// marks them as coming from another site or origin and they are not
// top-level navigations (Sec-Fetch-Mode "navigate" with Sec-Fetch-Dest
// "document": a frame, <object> or <embed> of another site is refused),
// and every response has
// "Cross-Origin-Resource-Policy: same-origin", so no other page can load
// the API's answers (say, through a script tag). The defence relies on
// neither SameSite cookies nor a token, so it works behind whatever session
// cookie the host uses; non-browser clients (no Origin, no Sec-Fetch-Site)
// are unaffected but still need the header.
//
// Behind a proxy that rewrites Host, browsers that send no Sec-Fetch-Site
// (older than 2023) are refused unless their Origin is trusted.
//
// # Headers
//
// The page has a strict Content-Security-Policy: scripts, styles and the
// icon come from the panel's own files only (no inline script or style,
// no eval), requests go to its own origin only, forms and <base> are
// disabled, framing is refused unless Config.FrameAncestors says by whom,
// and Trusted Types are required with no policy, so no string ever becomes
// HTML (the page builds its DOM from text nodes). Every response has
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
// Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy: same-origin,
// and X-Frame-Options: DENY unless the host allows framing. API responses
// have the policy "default-src 'none'; frame-ancestors 'none'; sandbox".
// No CORS header is sent unless Config.TrustedOrigins names origins.
//
// # Bounds
//
// Request bodies are read through [http.MaxBytesReader]: Config.MaxBodyBytes
// (1 MiB by default) for everything but .env texts, which may take what the
// Manager accepts ([secrets.Limits].MaxDotenvBytes, twice that as JSON), so
// that an export of a full workspace re-imports, from a caller the
// authorizer lets diff (asked with no names, as for the page's .env
// import); any other caller's .env body has the bound of the others.
// A restore-at plan brought back to apply, from such a caller, may name
// every secret a workspace holds at [secrets.Limits] (each name three
// times at its longest, escaped), so that the plan of a full workspace
// applies. Beyond, the answer is 413. Only JSON bodies are taken.
package panel
