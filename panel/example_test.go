package panel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/dataspace/secrets"
	"github.com/dataspace/secrets/panel"
)

// exampleManager is a Manager whose policy lets alice edit and anyone
// signed in list.
func exampleManager() *secrets.Manager {
	authorize := func(_ context.Context, r secrets.Request) error {
		if r.Actor == "user:alice" || r.Actor != "" && r.Action == secrets.ActionList {
			return nil
		}
		return errors.New("only editors may do that")
	}
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		log.Fatal(err)
	}
	cipher, err := secrets.NewLocalCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	m, err := secrets.New(secrets.NewMemoryStore(), cipher, &secrets.Config{Authorize: authorize})
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// A host mounts the panel under its route for a workspace; Caller is its
// own session lookup. Here a viewer's page asks what it may show.
func ExampleNew() {
	m := exampleManager()
	h, err := panel.New(m, &panel.Config{
		Caller: func(r *http.Request) (panel.Caller, error) {
			c, err := r.Cookie("session") // the host's real session lookup goes here
			if err != nil {
				return panel.Caller{}, err
			}
			return panel.Caller{Workspace: r.PathValue("ws"), Actor: "user:" + c.Value}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/w/{ws}/secrets/", func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix("/w/"+r.PathValue("ws")+"/secrets", h).ServeHTTP(w, r)
	})

	r := httptest.NewRequest("GET", "/w/ws-1/secrets/api/me", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "victor"})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	var me struct {
		Actor, Workspace string
		Can              map[string]bool
	}
	json.Unmarshal(w.Body.Bytes(), &me)
	fmt.Println(w.Code, me.Actor, me.Workspace, "list:", me.Can["list"], "reveal:", me.Can["reveal"], "set:", me.Can["set"])
	// Output: 200 user:victor ws-1 list: true reveal: false set: false
}

// Changes carry the revision the editor saw in If-Match; a change made
// from a stale page is refused with 412 and the secret as it is now.
func ExampleHandler_checkAndSet() {
	m := exampleManager()
	h, err := panel.New(m, &panel.Config{
		Caller: func(*http.Request) (panel.Caller, error) {
			return panel.Caller{Workspace: "ws-1", Actor: "user:alice"}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	send := func(method, path, ifMatch, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(panel.RequestHeader, "1")
		if ifMatch != "" {
			r.Header.Set("If-Match", ifMatch)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := send("POST", "/api/secrets", "", `{"name": "AUTH_TOKEN", "value": "s3cr3t-v1"}`)
	seen := w.Header().Get("ETag")
	fmt.Println("create:", w.Code, "ETag", seen)

	w = send("PATCH", "/api/secrets/AUTH_TOKEN", seen, `{"value": "s3cr3t-v2"}`)
	fmt.Println("update:", w.Code, "ETag", w.Header().Get("ETag"))

	// Another tab still holds the first ETag.
	w = send("PATCH", "/api/secrets/AUTH_TOKEN", seen, `{"description": "stale edit"}`)
	var p struct {
		Type    string
		Current secrets.Meta
	}
	json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Println("stale:", w.Code, w.Header().Get("Content-Type"), strings.TrimPrefix(p.Type, "https://pkg.go.dev/github.com/dataspace/secrets/panel#"),
		"now at version", p.Current.Version, "by", p.Current.UpdatedBy)
	// Output:
	// create: 201 ETag "1"
	// update: 200 ETag "2"
	// stale: 412 application/problem+json ProblemConflict now at version 2 by user:alice
}
