package panel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// Every error class of package secrets has one problem type and one status,
// and no two classes share a type unless both are server failures.
func TestEveryClassHasOneStatus(t *testing.T) {
	want := map[error]int{
		secrets.ErrNotFound: 404, secrets.ErrNoVersion: 404, secrets.ErrConflict: 412, secrets.ErrExists: 409,
		secrets.ErrInvalidName: 422, secrets.ErrInvalidScope: 422, secrets.ErrReservedName: 422, secrets.ErrInvalidValue: 422, secrets.ErrTooLarge: 413,
		secrets.ErrInvalidInfo: 422, secrets.ErrReference: 422, secrets.ErrInvalidTime: 422, secrets.ErrInvalidWorkspace: 404, secrets.ErrInvalidDotenv: 422,
		secrets.ErrDecrypt: 500, secrets.ErrMasterKey: 500, secrets.ErrForbidden: 403, secrets.ErrWriteOnly: 403,
		secrets.ErrExpired: 422, secrets.ErrAudit: 503, secrets.ErrIncomplete: 500, secrets.ErrKeyChanged: 503,
		secrets.ErrUnavailable: 503, secrets.ErrDatabaseUnavailable: 503, secrets.ErrInvalidActor: 500, secrets.ErrInvalidParents: 500, secrets.ErrInsecureDir: 500,
	}
	if len(classes) != len(want) {
		t.Fatalf("%d classes mapped, %d known", len(classes), len(want))
	}
	types := map[string]error{}
	for class, status := range want {
		p := problemFor(fmt.Errorf("wrapped: %w", class))
		if p.Status != status {
			t.Errorf("%v: status %d, want %d", class, p.Status, status)
		}
		if titles[p.Type] == "" || p.Detail == "" {
			t.Errorf("%v: type %q without title or detail", class, p.Type)
		}
		if other, dup := types[p.Type]; dup && status < 500 {
			t.Errorf("%v and %v share the type %s", class, other, p.Type)
		}
		types[p.Type] = class
		if status < 500 && strings.HasPrefix(p.Detail, "secrets:") {
			t.Errorf("%v: detail keeps the prefix: %q", class, p.Detail)
		}
	}
}

func TestProblemDetails(t *testing.T) {
	p := problemFor(&secrets.ConflictError{Name: "A", Seen: 2, Revision: 5, Version: 3})
	if p.Type != ProblemConflict || p.Status != http.StatusPreconditionFailed || p.Name != "A" || p.Seen != 2 || p.Revision != 5 || p.Version != 3 {
		t.Errorf("conflict %+v", p)
	}
	p = problemFor(&secrets.ExistsError{Name: "A", Deleted: true})
	if p.Type != ProblemExists || p.Name != "A" || !p.Deleted {
		t.Errorf("exists %+v", p)
	}
	p = problemFor(&secrets.DotenvError{Line: 7, Msg: "bad", Reason: secrets.ErrInvalidValue})
	if p.Type != ProblemInvalidDotenv || p.Line != 7 || p.Reason != "ProblemInvalidValue" {
		t.Errorf("dotenv %+v", p)
	}
	p = problemFor(fmt.Errorf("set: %w", &secrets.ReferenceError{Kind: secrets.ReferenceCycle, Names: []string{"A", "B", "A"}}))
	if p.Type != ProblemReference || p.Status != http.StatusUnprocessableEntity || p.Reason != secrets.ReferenceCycle ||
		strings.Join(p.Names, ",") != "A,B,A" || titles[p.Type] != "Invalid reference" {
		t.Errorf("reference %+v", p)
	}
	// Server-side failures say nothing of their cause.
	for _, err := range []error{
		&secrets.DecryptError{Workspace: "w", Names: []string{"A"}, Cause: errors.New("key 42 disabled")},
		&secrets.MasterKeyError{ID: "tink-local:1", Known: []string{"kms://x"}},
		errors.New("pq: connection to db.internal refused"),
	} {
		p := problemFor(err)
		if p.Status < 500 || strings.Contains(p.Detail, "42") || strings.Contains(p.Detail, "kms") || strings.Contains(p.Detail, "db.internal") {
			t.Errorf("%v gave %+v", err, p)
		}
	}
	for _, err := range []error{context.Canceled, fmt.Errorf("x: %w", context.DeadlineExceeded)} {
		if p := problemFor(err); p.Status != http.StatusServiceUnavailable || p.Type != ProblemUnavailable {
			t.Errorf("%v gave %+v", err, p)
		}
	}
}

// A problem reads "Title: detail" on the page: the two never say the same
// thing twice (the 503 read "Try again: …; try again").
func TestProblemTitleNotRepeated(t *testing.T) {
	for typ, d := range fixedDetail {
		title := strings.ToLower(titles[typ])
		if title == "" || strings.Contains(strings.ToLower(d), title) {
			t.Errorf("%s reads %q", strings.TrimPrefix(typ, typeBase), titles[typ]+": "+d)
		}
	}
}
