// Package pgschema holds the Postgres store's SQL, embedded in the binary:
// its schema migrations (0001_init.sql, ...) and its queries
// (queries.sql, in "-- name:" blocks with named parameters such as
// :workspace, which Compile rewrites to $1, $2, ...). Both use one
// placeholder, {{schema}} (Marker), which is replaced by the quoted name
// of the schema the host configured, so the library's tables never clash
// with the host's.
package pgschema

import (
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed 0*.sql
var files embed.FS

// A Step is one migration: its version and its SQL.
type Step struct {
	Version int64
	SQL     string
}

// Steps returns the migrations in version order, for the schema whose
// quoted identifier is quotedSchema. File names start with their version:
// 0001_init.sql is version 1.
func Steps(quotedSchema string) ([]Step, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	var steps []Step
	for i, name := range names { // fs.Glob returns names sorted
		v, err := strconv.ParseInt(name[:strings.IndexByte(name, '_')], 10, 64)
		if err != nil || v != int64(i+1) {
			return nil, fmt.Errorf("pgschema: migration %s is out of sequence", name)
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Version: v, SQL: WithSchema(string(b), quotedSchema)})
	}
	return steps, nil
}
