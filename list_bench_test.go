package secrets_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
)

// BenchmarkList: the first page (100, the default) of a workspace of
// 10,000 secrets, against a prepared SELECT ... LIMIT 100 of the columns
// a page shows, in name order: "default" records the listing as an event
// (a second statement), "writes-only" does not.
func BenchmarkList(b *testing.B) {
	db := pgDB(b)
	ctx := context.Background()
	c := newCipher(b)
	var text bytes.Buffer
	for i := range 10000 {
		fmt.Fprintf(&text, "SECRET_%05d=value-%05d\n", i, i)
	}
	for _, mode := range readModes {
		s := newPGStore(b, db)
		m := newManager(b, s, c, mode.cfg)
		if _, err := m.Import(ctx, "ws", text.Bytes(), nil); err != nil {
			b.Fatal(err)
		}
		db.MustExec("ANALYZE " + pq.QuoteIdentifier(s.Schema()) + ".secrets")
		plain, err := db.Preparex(`SELECT name, revision, version, updated, updated_by, description, expires, rotate_by, flags
			FROM ` + pq.QuoteIdentifier(s.Schema()) + `.secrets WHERE workspace = $1 AND deleted IS NULL ORDER BY name COLLATE "C" LIMIT 100`) // the index of live names
		if err != nil {
			b.Fatal(err)
		}
		defer plain.Close()
		b.Run(mode.name, func(b *testing.B) {
			compare(b, func() error {
				p, err := m.List(ctx, "ws", nil)
				if err == nil && len(p.Secrets) != 100 {
					err = fmt.Errorf("a page of %d", len(p.Secrets))
				}
				return err
			}, func() error {
				rows, err := plain.QueryContext(ctx, "ws")
				if err != nil {
					return err
				}
				n := 0
				for rows.Next() {
					var name, by, desc string
					var rev, version int64
					var flags int16
					var updated time.Time
					var expires, rotateBy *time.Time
					if err := rows.Scan(&name, &rev, &version, &updated, &by, &desc, &expires, &rotateBy, &flags); err != nil {
						rows.Close()
						return err
					}
					n++
				}
				if err := rows.Close(); err != nil {
					return err
				}
				if n != 100 {
					return fmt.Errorf("a page of %d", n)
				}
				return nil
			})
		})
	}
}
