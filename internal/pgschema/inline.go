package pgschema

import (
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
)

// ErrNotInlinable: Inline was given a value it does not write as a
// literal (a type it does not know, or text with a NUL byte or invalid
// UTF-8, which Postgres refuses either way); the caller runs the
// statement with its parameters instead, and the driver reports the
// value as it always has.
var ErrNotInlinable = errors.New("pgschema: value not written as a literal")

// Inline returns text with each positional parameter ($1, $2, ...)
// replaced by args' value as a string literal of unknown type, the form
// in which lib/pq sends a parameter in text format: Postgres infers the
// literal's type from where it stands, as it infers an untyped
// parameter's. The statement then runs as a simple query: one round trip
// and no statement left on the connection, where lib/pq's unnamed
// statement with arguments takes two (Parse and Describe, then Bind and
// Execute; see PostgresStore).
//
// A value is written as lib/pq writes it in text format: a string as it
// is, an integer or a float in decimal, a bool as true or false, a time
// as pq.FormatTimestamp does, nil and a nil []byte as NULL, a
// driver.Valuer as its Value; any other []byte, which lib/pq sends as
// bytea, as a hex bytea literal with an explicit ::bytea. Every literal
// is quoted by pq.QuoteLiteral, which doubles quotes and, when the text
// holds a backslash, doubles it and writes an escape string (E'...'):
// read the same whatever the server's
// standard_conforming_strings. A string holding a NUL byte or invalid
// UTF-8 is ErrNotInlinable, so that no value can end the simple query's
// text early or disagree with the server on where its quote ends; so is
// one holding a backslash and any byte past ASCII: on a connection whose
// client_encoding is not UTF-8 (SJIS, BIG5, GBK; lib/pq refuses to set
// one, but a connection string can spell the parameter in capitals and a
// host can SET it) the server reads such a byte and the backslash after
// it as one character, which would leave the literal's closing quote
// escaped. No encoding Postgres accepts from a client has a quote as
// the second byte of a character.
//
// Why by hand: database/sql has no way to ask lib/pq for one round trip
// with parameters short of binary_parameters, a connection setting that
// is the host's; the quoting itself is lib/pq's.
func Inline(text string, args []any) (string, error) {
	lits := make([]string, len(args))
	size := len(text)
	for i, a := range args {
		l, err := literal(a)
		if err != nil {
			return "", fmt.Errorf("parameter $%d: %w", i+1, err)
		}
		lits[i] = l
		size += len(l)
	}
	var b strings.Builder
	b.Grow(size)
	err := walk(text, &b, func(i int) (int, error) {
		if text[i] != '$' || i+1 >= len(text) || text[i+1] < '0' || text[i+1] > '9' || i > 0 && identByte(text[i-1]) {
			return 0, nil
		}
		j := i + 1
		for j < len(text) && text[j] >= '0' && text[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(text[i+1 : j])
		if err != nil || n < 1 || n > len(lits) {
			return 0, fmt.Errorf("parameter %s at byte %d: %d given", text[i:j], i, len(lits))
		}
		b.WriteString(lits[n-1])
		return j - i, nil
	})
	if err != nil {
		return "", err
	}
	return b.String(), nil
}

// ascii tells text whose every byte is below 0x80.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// literal writes v as Inline does.
func literal(v any) (string, error) {
	v, err := driver.DefaultParameterConverter.ConvertValue(v)
	if err != nil {
		return "", fmt.Errorf("%w: %T", ErrNotInlinable, v)
	}
	switch v := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
			return "", fmt.Errorf("%w: text with a NUL byte or invalid UTF-8", ErrNotInlinable)
		}
		if strings.IndexByte(v, '\\') >= 0 && !ascii(v) {
			return "", fmt.Errorf("%w: text with a backslash and a byte past ASCII", ErrNotInlinable)
		}
		return pq.QuoteLiteral(v), nil
	case []byte:
		if v == nil {
			return "NULL", nil // as lib/pq sends it
		}
		return pq.QuoteLiteral(`\x`+hex.EncodeToString(v)) + "::bytea", nil
	case int64:
		return "'" + strconv.FormatInt(v, 10) + "'", nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return "", fmt.Errorf("%w: %v", ErrNotInlinable, v)
		}
		return "'" + strconv.FormatFloat(v, 'f', -1, 64) + "'", nil
	case bool:
		return "'" + strconv.FormatBool(v) + "'", nil
	case time.Time:
		return pq.QuoteLiteral(string(pq.FormatTimestamp(v))), nil
	}
	return "", fmt.Errorf("%w: %T", ErrNotInlinable, v)
}
