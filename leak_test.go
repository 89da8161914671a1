package secrets_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dataspace/secrets"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// TestNothingPrintsSecrets formats every exported type that can hold a
// value or key with every common verb, through log/slog and JSON, and
// checks that neither the value nor the master key material shows, in
// the clear or hex or base64 encoded.
func TestNothingPrintsSecrets(t *testing.T) {
	const value = "SUPERSECRET-value-1234567890"
	keyJSON, err := secrets.GenerateLocalKey()
	if err != nil {
		t.Fatal(err)
	}
	material := keyMaterial(t, keyJSON) // base64 of the serialized key
	cipher, err := secrets.NewLocalCipher(keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	store := secrets.NewMemoryStore()
	m := newManager(t, store, cipher, nil)
	ctx := context.Background()
	mustSet(t, m, "ws", "TOKEN", value)
	s, err := m.Get(ctx, "ws", "TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	auditJSON, err := secrets.GenerateAuditKey()
	if err != nil {
		t.Fatal(err)
	}
	auditKey, err := secrets.NewAuditKey(auditJSON)
	if err != nil {
		t.Fatal(err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(keyJSON)))
	if err != nil {
		t.Fatal(err)
	}
	primitive, err := aead.New(h)
	if err != nil {
		t.Fatal(err)
	}
	remote := secrets.NewRemoteCipher("local-as-remote", primitive)
	job, err := m.Prepare(ctx, "ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	// Copied by reflection: go vet refuses a copy of its sync.Once.
	hostJob := reflect.New(reflect.TypeFor[struct{ Job secrets.PreparedJob }]())
	hostJob.Elem().Field(0).Set(reflect.ValueOf(job).Elem())
	forbidden := []string{
		value,
		keyMaterial(t, auditJSON)[:16],
		hex.EncodeToString([]byte(value)),
		base64.StdEncoding.EncodeToString([]byte(value))[:20],
		fmt.Sprint([]byte(value)[:8])[1:20], // decimal byte lists, as %v of []byte prints
		material[:16],
	}
	check := func(what, out string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s shows secret material %q: %s", what, f, out)
			}
		}
	}
	// A writer holding back the start of the value.
	rw := secrets.NewRedactor([][]byte{[]byte(value)}, nil).NewWriter(io.Discard)
	rw.Write([]byte("prefix " + value[:12]))
	objects := map[string]any{
		"RedactWriter": rw,
		"Secret":       s, "*Secret": &s, "Value": s.Value, "*Value": &s.Value,
		"Manager": m, "LocalCipher": cipher, "MemoryStore": store,
		"Redactor": secrets.NewRedactor([][]byte{[]byte(value)}, nil), "RemoteCipher": remote,
		"AuditKey": auditKey, "PreparedJob": job,
		"[]Secret": []secrets.Secret{s}, "map": map[string]secrets.Value{"k": s.Value},
		"struct": struct{ S secrets.Secret }{s},
		// fmt prints unexported fields by reflection, without their
		// methods: a host's struct must not show the bytes either.
		"unexported": struct {
			v secrets.Value
			s secrets.Secret
		}{s.Value, s},
		"*unexported": &struct{ v secrets.Value }{s.Value},
		// A PreparedJob printed or encoded by value (its own methods
		// take a pointer), alone or in a host's struct, and its Env.
		"PreparedJob by value":          reflect.ValueOf(job).Elem().Interface(),
		"struct holding a PreparedJob":  hostJob.Elem().Interface(),
		"*struct holding a PreparedJob": hostJob.Interface(),
		"JobEnv":                        job.Env,
		"[]JobEnv":                      []secrets.JobEnv{job.Env},
	}
	for name, o := range objects {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			check(name+" "+verb, fmt.Sprintf(verb, o))
		}
		j, _ := json.Marshal(o)
		check(name+" JSON", string(j))
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "obj", o)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "obj", o)
		check(name+" slog", buf.String())
		// encoding/gob encodes exported fields by reflection: a JobEnv
		// refuses, so a PreparedJob does too; the others encode no value.
		buf.Reset()
		if err := gob.NewEncoder(&buf).Encode(o); err == nil {
			check(name+" gob", buf.String())
		} else if strings.Contains(name, "Job") && !strings.Contains(err.Error(), "JobEnv") {
			t.Errorf("%s gob: %v, want the JobEnv's refusal", name, err)
		}
	}
	var gobbed bytes.Buffer
	if err := gob.NewEncoder(&gobbed).Encode(reflect.ValueOf(job).Elem().Interface()); err == nil {
		t.Errorf("a PreparedJob by value was gob-encoded (%d bytes)", gobbed.Len())
	}
	if got := string(s.Value.Reveal()); got != value {
		t.Fatalf("Reveal = %q", got)
	}

	// Errors from every failing path.
	ts := &tamperStore{Store: store, version: func(v *secrets.Version) { v.Ciphertext[7] ^= 1 }}
	bad := newManager(t, ts, cipher, nil)
	var errs []error
	_, err = bad.Get(ctx, "ws", "TOKEN")
	errs = append(errs, err)
	_, err = bad.EnvFor(ctx, "ws")
	errs = append(errs, err)
	_, err = bad.Rename(ctx, "ws", "TOKEN", "NEW", nil)
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "BAD NAME "+value, []byte(value), nil)
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "OK", []byte(value+"\x00"), nil)
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "OK", []byte(strings.Repeat(value, 5000)), nil)
	errs = append(errs, err)
	_, err = secrets.NewLocalCipher([]byte(value))
	errs = append(errs, err)
	_, err = m.Set(ctx, "ws", "TOKEN", []byte(value), &secrets.SetOptions{IfRevision: 9})
	errs = append(errs, err)
	_, err = m.Import(ctx, "ws", []byte("A='"+value+"\n"), nil)
	errs = append(errs, err)
	_, err = m.Diff(ctx, "ws", []byte(value+"\n"), nil)
	errs = append(errs, err)
	// References (Info.Expand): a cycle refused at save, a job that
	// meets an unknown name after expanding a value; neither error nor
	// event shows the values.
	expand := &secrets.SetOptions{Info: &secrets.Info{Expand: true}}
	mustSet(t, m, "ref", "PART", value)
	_, err = m.Set(ctx, "ref", "LOOP", []byte(value+"${LOOP}"), expand)
	errs = append(errs, err)
	if _, err := m.Set(ctx, "ref", "URL", []byte(value+"${PART}${NOPE}"), expand); err != nil {
		t.Fatal(err)
	}
	_, err = m.EnvFor(ctx, "ref")
	errs = append(errs, err)
	evs, err := m.Events(ctx, secrets.EventQuery{Workspace: "ref", Limit: 100})
	if err != nil || len(evs) < 4 {
		t.Fatalf("events of ref: %d, %v", len(evs), err)
	}
	check("events of references", fmt.Sprintf("%+v", evs))
	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d: nil", i)
			continue
		}
		check(fmt.Sprintf("error %d", i), fmt.Sprintf("%v %+v %#v", err, err, errors.Unwrap(err)))
	}
}

// An event's detail is cut on a character boundary: a long message about
// a workspace with a Cyrillic name is recorded, not lost.
func TestEventDetailKeepsUTF8(t *testing.T) {
	eachStore(t, func(t *testing.T, s secrets.Store) {
		ws := strings.Repeat("рабочее-пространство-", 12)[:250]
		for !utf8.ValidString(ws) {
			ws = ws[:len(ws)-1]
		}
		var lost []error
		m := newManager(t, s, newCipher(t), &secrets.Config{
			Authorize: func(_ context.Context, r secrets.Request) error {
				if r.Action == secrets.ActionAudit {
					return nil
				}
				return &secrets.Refusal{Reason: strings.Repeat("доступ запрещён ", 40)}
			},
			OnAuditError: func(_ context.Context, _ []secrets.Event, err error) { lost = append(lost, err) },
		})
		if _, err := m.EnvFor(context.Background(), ws); !errors.Is(err, secrets.ErrForbidden) {
			t.Fatal(err)
		}
		if len(lost) != 0 {
			t.Fatalf("the denied event was lost: %v", lost[0])
		}
		es, err := m.Events(context.Background(), secrets.EventQuery{Workspace: ws})
		if err != nil || len(es) != 1 || !utf8.ValidString(es[0].Detail) || len(es[0].Detail) > 500 || len(es[0].Detail) < 400 {
			t.Fatalf("recorded: %+v %v", es, err)
		}
	})
}
