package secrets_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dataspace/secrets"
)

// fillReferences writes 100 secrets into two workspaces: in "refs", 20
// of them opt in to expansion and reference 1 to 3 of the others; in
// "flat", the same 100 with those 20 already expanded by hand. Both give
// a job the same environment.
func fillReferences(b *testing.B, m *secrets.Manager) {
	ctx := context.Background()
	val := func(i int) string { return fmt.Sprintf("%s-%04d", strings.Repeat("v", benchValueSize-5), i) }
	for i := range 100 {
		name := fmt.Sprintf("SECRET_%04d", i)
		raw, flat := val(i), val(i)
		var info *secrets.Info
		if i%5 == 0 { // 20 of them
			raw, flat = "postgres://app", "postgres://app"
			for r := range 1 + i%3 {
				ref := fmt.Sprintf("SECRET_%04d", (i+1+r*7)%100/5*5+1) // never one of the 20
				raw += ":${" + ref + "}"
				flat += ":" + val((i+1+r*7)%100/5*5+1)
			}
			info = &secrets.Info{Expand: true}
		}
		if _, err := m.Set(ctx, "refs", name, []byte(raw), &secrets.SetOptions{Info: info}); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Set(ctx, "flat", name, []byte(flat), nil); err != nil {
			b.Fatal(err)
		}
	}
	a, err := m.EnvFor(ctx, "refs")
	if err != nil {
		b.Fatal(err)
	}
	f, err := m.EnvFor(ctx, "flat")
	if err != nil || strings.Join(a, "\n") != strings.Join(f, "\n") {
		b.Fatalf("the two workspaces give different jobs: %v", err)
	}
}

// BenchmarkReferences: a job of 100 secrets of which 20 reference 1 to 3
// others (Info.Expand), against the same job with the references expanded
// by hand, through Prepare (environment and Redactor), on the memory
// store and on Postgres: x-floor is the cost of expansion at job start.
func BenchmarkReferences(b *testing.B) {
	stores := []struct {
		name string
		s    func() secrets.Store
	}{
		{"memory", func() secrets.Store { return secrets.NewMemoryStore() }},
		{"postgres", func() secrets.Store { return newPGStore(b, pgDB(b)) }},
	}
	ctx := context.Background()
	for _, st := range stores {
		m := newManager(b, st.s(), newCipher(b), nil)
		fillReferences(b, m)
		job := func(ws string) func() error {
			return func() error {
				p, err := m.Prepare(ctx, ws, &secrets.PrepareOptions{Base: []string{}})
				if err != nil {
					return err
				}
				return p.Close()
			}
		}
		b.Run(st.name, func(b *testing.B) { compare(b, job("refs"), job("flat")) })
	}
}
