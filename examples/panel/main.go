// Command panel serves the secrets settings panel over an in-memory store,
// with a demo workspace and two users to switch between: alice, an editor,
// and victor, a viewer who may list but never reveal or change.
//
//	go run ./examples/panel            # prints its loopback URLs
//	go run ./examples/panel -addr 127.0.0.1:8080
//
// Who you are is a cookie this example sets when a URL has ?as=alice or
// ?as=victor: a stand-in for the host's real sign-in, which the panel
// leaves to the host. It listens on loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// users are the demo's accounts and whether each may edit.
var users = map[string]bool{"alice": true, "victor": false}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		log.Fatal(err)
	}
}

// editors may do everything; bob is alice's colleague in the seeded
// history.
var editors = map[string]bool{"user:alice": true, "user:bob": true}

// authorize is the host's policy: editors may do everything, others may
// only list. The Manager asks it before every call; the panel asks it
// (with no names) to know which controls to show.
func authorize(_ context.Context, r secrets.Request) error {
	if editors[r.Actor] {
		return nil
	}
	if r.Actor != "" && r.Action == secrets.ActionList {
		return nil
	}
	return errors.New("viewers may only list")
}

func run(addr string) error {
	ln, err := listenLoopback(addr)
	if err != nil {
		return err
	}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		return err
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		return err
	}
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, &secrets.Config{Authorize: authorize})
	if err != nil {
		return err
	}
	if err := seed(context.Background(), m, "demo"); err != nil {
		return err
	}
	h, err := panel.New(m, &panel.Config{Caller: caller})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	// The panel for workspace {ws}: the handler sees the path after the
	// prefix, and caller reads the workspace from the pattern.
	mux.HandleFunc("/w/{ws}/secrets/", func(w http.ResponseWriter, r *http.Request) {
		if signIn(w, r) {
			return
		}
		http.StripPrefix("/w/"+r.PathValue("ws")+"/secrets", h).ServeHTTP(w, r)
	})
	mux.HandleFunc("/{$}", home)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Printf("secrets panel: %s/w/demo/secrets/?as=alice (editor)\n", base)
	fmt.Printf("               %s/w/demo/secrets/?as=victor (viewer)\n", base)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	<-errc // Serve has returned: no goroutine outlives run
	return nil
}

// listenLoopback listens on addr, which must be a loopback address: the
// demo has no real sign-in.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-addr %s: the demo listens on loopback only", addr)
	}
	return net.Listen("tcp", addr)
}

// caller is the host's session lookup: here, the demo cookie.
func caller(r *http.Request) (panel.Caller, error) {
	c, err := r.Cookie("demo_user")
	if err != nil {
		return panel.Caller{}, err
	}
	if _, ok := users[c.Value]; !ok {
		return panel.Caller{}, errors.New("unknown user")
	}
	return panel.Caller{Workspace: r.PathValue("ws"), Actor: "user:" + c.Value}, nil
}

// signIn handles ?as=NAME: it sets the demo cookie and redirects to the
// same page without the query. It reports whether it answered.
func signIn(w http.ResponseWriter, r *http.Request) bool {
	as := r.URL.Query().Get("as")
	if as == "" {
		return false
	}
	if _, ok := users[as]; !ok {
		http.Error(w, "unknown demo user", http.StatusBadRequest)
		return true
	}
	http.SetCookie(w, &http.Cookie{Name: "demo_user", Value: as, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, r.URL.Path, http.StatusSeeOther)
	return true
}

// home links to the panel as each user.
func home(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>Secrets panel demo</title><h1>Secrets panel demo</h1><ul>")
	for _, u := range []string{"alice", "victor"} {
		role := "viewer"
		if users[u] {
			role = "editor"
		}
		fmt.Fprintf(w, `<li><a href="/w/demo/secrets/?as=%s">Open workspace demo as %s (%s)</a>`, html.EscapeString(u), html.EscapeString(u), role)
	}
	fmt.Fprint(w, "</ul>")
}

// seed fills the demo workspace as a few weeks of editing would.
func seed(ctx context.Context, m *secrets.Manager, ws string) error {
	as := func(who string) context.Context { return secrets.WithActor(ctx, who) }
	now := time.Now().UTC()
	set := func(who, name, value string, info *secrets.Info) error {
		_, err := m.Set(as(who), ws, name, []byte(value), &secrets.SetOptions{Info: info})
		return err
	}
	steps := []error{
		set("user:alice", "AUTH_TOKEN", "tok_demo_1f0c", &secrets.Info{Description: "Token for the orders API"}),
		set("user:bob", "AUTH_TOKEN", "tok_demo_7d3f9a", nil),
		set("user:alice", "DATABASE_URL", "postgres://app:demo-password@db.internal:5432/app", &secrets.Info{Description: "Read-write connection to the app database"}),
		set("user:alice", "DEPLOY_KEY", "demo-deploy-key-0b1e", &secrets.Info{Description: "SSH key for the deploy host", WriteOnly: true, File: true}),
		set("user:bob", "STRIPE_SECRET_KEY", "sk_test_demo_51Hx", &secrets.Info{RotateBy: now.Add(5 * 24 * time.Hour).Truncate(24 * time.Hour)}),
		set("user:alice", "TLS_CERT", "-----BEGIN CERTIFICATE-----\nMIIdemo\n-----END CERTIFICATE-----\n", &secrets.Info{File: true, Expires: now.Add(9 * 24 * time.Hour).Truncate(24 * time.Hour)}),
		set("user:bob", "LEGACY_API_KEY", "legacy-demo-key-99", &secrets.Info{Description: "Old partner API; remove after migration", Expires: now.Add(-3 * 24 * time.Hour).Truncate(24 * time.Hour)}),
		set("user:alice", "SENTRY_DSN", "https://demo@sentry.example/1", nil),
	}
	return errors.Join(steps...)
}
