package pgschema

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"
)

func TestInlineReplacesParameters(t *testing.T) {
	at := time.Date(2026, 12, 6, 15, 4, 5, 123456000, time.UTC)
	text := `SELECT $1, $10, '$1', "$2", $$ $1 $$, $q$$1$q$, E'\'$1', -- $1
	/* $1 /* $2 */ */ x$1, $2::int, ARRAY[$3], $4, $5, $6, $7, $8, $9`
	args := []any{"it's", -5, []byte(nil), []byte{0, 0xff}, at, true, 1.5, pq.StringArray{`a"b`, `c\d`}, "x", "ten"}
	got, err := Inline(text, args)
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT 'it''s', 'ten', '$1', "$2", $$ $1 $$, $q$$1$q$, E'\'$1', -- $1
	/* $1 /* $2 */ */ x$1, '-5'::int, ARRAY[NULL],  E'\\x00ff'::bytea, '2026-12-06 15:04:05.123456Z', 'true', '1.5',  E'{"a\\"b","c\\\\d"}', 'x'`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Inline (-want +got):\n%s", d)
	}
}

func TestInlineRefuses(t *testing.T) {
	for _, v := range []any{"a\x00b", "a\xffb", pq.StringArray{"a\x00"}, "Ã\\", "\\é", pq.StringArray{"é", `\`},
		math.Inf(1), math.NaN(), struct{}{}} {
		if _, err := Inline("SELECT $1", []any{v}); !errors.Is(err, ErrNotInlinable) {
			t.Errorf("Inline of %T: %v, want ErrNotInlinable", v, err)
		}
	}
	for _, text := range []string{"SELECT $2", "SELECT $0", "SELECT 'a", "SELECT $$a"} {
		if _, err := Inline(text, []any{"x"}); err == nil || errors.Is(err, ErrNotInlinable) {
			t.Errorf("Inline(%q): %v, want a syntax error", text, err)
		}
	}
}

// TestInlineRunsOnPostgres: every value Inline writes reads back on a
// real server as the same statement with parameters reads it, with
// standard_conforming_strings on and off; among them strings made to
// break out of a literal, and thousands of random ones.
func TestInlineRunsOnPostgres(t *testing.T) {
	ctx := context.Background()
	conn := pgConn(t)
	strs := []string{"", "'", "''", `\`, `\'`, `'\`, `'); DROP TABLE x; --`, `$1`, `$$`, `E'\''`, "a\nb\tc", "ünï😀", "ü'", `\x41`, strings.Repeat(`'\`, 5000)}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'\'', '\\', '"', '$', ';', '-', '/', '*', 'E', 'e', 'x', '0', ' ', '\n', 'é', '😀', '{', '}', ','}
	for range 2000 {
		rs := make([]rune, r.IntN(12))
		for i := range rs {
			rs[i] = alphabet[r.IntN(len(alphabet))]
		}
		strs = append(strs, string(rs))
	}
	const q = `SELECT $1::text, $2::bytea, $3::text[], $4::bigint, $5::boolean, $6::timestamptz`
	at := time.Date(2026, 12, 6, 15, 4, 5, 123456000, time.UTC)
	type row struct {
		S  string
		B  []byte
		A  pq.StringArray
		N  int64
		OK bool
		At time.Time
	}
	read := func(query string, args ...any) (row, error) {
		var got row
		err := conn.QueryRowContext(ctx, query, args...).Scan(&got.S, &got.B, &got.A, &got.N, &got.OK, &got.At)
		got.At = got.At.UTC()
		return got, err
	}
	for _, scs := range []string{"on", "off"} {
		if _, err := conn.ExecContext(ctx, "SET standard_conforming_strings = "+scs); err != nil {
			t.Fatal(err)
		}
		for i, s := range strs {
			if !utf8.ValidString(s) {
				continue
			}
			args := []any{s, []byte(s), pq.StringArray{s, "b"}, int64(-i), i%2 == 0, at}
			text, err := Inline(q, args)
			if errors.Is(err, ErrNotInlinable) {
				// Only a backslash (or a quote, which the array's text
				// escapes with one) next to a byte past ASCII.
				if ascii(s) || !strings.ContainsAny(s, `\"`) {
					t.Fatalf("Inline(%q): %v", s, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Inline(%q): %v", s, err)
			}
			want, err := read(q, args...)
			if err != nil {
				t.Fatalf("with parameters, %q: %v", s, err)
			}
			got, err := read(text)
			if err != nil {
				t.Fatalf("standard_conforming_strings=%s: inlined %q: %v", scs, s, err)
			}
			if d := cmp.Diff(want, got); d != "" || got.S != s {
				t.Fatalf("standard_conforming_strings=%s: %q reads back differently (-params +inlined):\n%s", scs, s, d)
			}
		}
	}
}

// TestInlineClientEncoding: on a connection whose client_encoding is SJIS,
// where the bytes 0x83 0x5c are one character, a value whose UTF-8 holds
// them followed by a backslash ("Ã\\") does not read back as a quoted
// literal, so Inline refuses it (it goes as a parameter); and an ASCII
// value with quotes and backslashes reads back the same.
func TestInlineClientEncoding(t *testing.T) {
	ctx := context.Background()
	conn := pgConn(t)
	if _, err := conn.ExecContext(ctx, "SET client_encoding = 'SJIS'"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "RESET client_encoding")
	// Why: quoted as any other value, "Ã\\" (C3 83 5C in UTF-8) does not
	// read back under SJIS, which takes 83 5C for one character and leaves
	// one backslash of the two to escape the closing quote.
	const risky = "Ã\\"
	var read string
	if err := conn.QueryRowContext(ctx, "SELECT "+pq.QuoteLiteral(risky)+"::text").Scan(&read); err == nil && read == risky {
		t.Fatalf("under SJIS the quoted %q read back unchanged: the premise of this test no longer holds", risky)
	}
	if _, err := Inline("SELECT $1::text", []any{risky}); !errors.Is(err, ErrNotInlinable) {
		t.Fatalf("Inline of a backslash after a byte past ASCII: %v, want ErrNotInlinable", err)
	}
	const hostile = `x' || current_user || '\' --`
	text, err := Inline("SELECT $1::text", []any{hostile})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := conn.QueryRowContext(ctx, text).Scan(&got); err != nil || got != hostile {
		t.Fatalf("under SJIS %q read back as %q (%v)", hostile, got, err)
	}
}

// pgConn is one connection to DATABASE_URL over lib/pq, closed when t
// ends; without DATABASE_URL t skips, unless CI is set.
func pgConn(t *testing.T) *sql.Conn {
	t.Helper()
	db, err := sql.Open("postgres", testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
