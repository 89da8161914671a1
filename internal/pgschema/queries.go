package pgschema

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
)

// Marker is the placeholder for the store's schema in the migrations and
// in queries.sql alike; WithSchema replaces it.
const Marker = "{{schema}}"

// WithSchema returns text with every Marker replaced by quotedSchema, a
// quoted identifier (pq.QuoteIdentifier), inside string literals too
// ('{{schema}}.audit' names a table to a function).
func WithSchema(text, quotedSchema string) string {
	return strings.ReplaceAll(text, Marker, quotedSchema)
}

// SyncCommitOn is the placeholder, in queries.sql, for a condition that
// is always true and, when the session's synchronous_commit is off or
// local (a role's or a database's setting), sets it to on for the
// statement's transaction: every statement that changes rows holds it but
// the relaxed ones (TestSyncCommitPinned lists them), so that their
// commits are flushed and reach a synchronous standby whatever the role's
// setting.
const SyncCommitOn = "{{sync_commit_on}}"

// syncCommitOn is what SyncCommitOn stands for. set_config is volatile,
// so the planner neither folds the condition nor skips it.
//
// It also makes the transaction read-only when the session's default is
// (default_transaction_read_only, an operator's freeze of the database):
// lib/pq begins every transaction READ WRITE, which overrides that
// default, and its writes went through where pgx's were refused (a
// trial). A transaction may always turn read-only, but Postgres checks
// a statement against it when the statement starts: the statements
// whose writes come after the condition (SELECT f(...) WHERE it, the
// functions that write secrets, keys and workspaces) then fail as
// read-only (25006) over either driver; one whose own INSERT, UPDATE or
// DELETE holds the condition (pruning events, a job's expanded
// fingerprints, a master key's check value) still writes over lib/pq,
// and only the transaction's later statements are refused.
const syncCommitOn = `(CASE WHEN current_setting('synchronous_commit') IN ('off', 'local') ` +
	`THEN set_config('synchronous_commit', 'on', true) END) IS DISTINCT FROM '' AND ` +
	`(CASE WHEN current_setting('default_transaction_read_only') = 'on' ` +
	`THEN set_config('transaction_read_only', 'on', true) END) IS DISTINCT FROM ''`

//go:embed queries.sql
var queriesSQL string

// A block of queries.sql: a statement ("-- name: x") or a fragment
// ("-- fragment: x") that Go assembles into statements built at run time.
type block struct {
	fragment bool
	text     string
}

// parseBlocks splits file into its blocks. Each starts with a line
// "-- name: NAME" or "-- fragment: NAME" and runs to the next; comment
// lines directly below the header and blank lines at either end are not
// part of the text. Text before the first header may only be comments.
func parseBlocks(file string) (map[string]block, []string, error) {
	blocks := map[string]block{}
	var order []string
	var cur string
	var lines []string
	flush := func() {
		if cur != "" {
			b := blocks[cur]
			b.text = strings.TrimSpace(strings.Join(lines, "\n"))
			blocks[cur] = b
		}
		lines = nil
	}
	for n, line := range strings.Split(file, "\n") {
		head, fragment := "", false
		if h, ok := strings.CutPrefix(line, "-- name:"); ok {
			head = h
		} else if h, ok := strings.CutPrefix(line, "-- fragment:"); ok {
			head, fragment = h, true
		}
		if head == "" && cur == "" {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				return nil, nil, fmt.Errorf("pgschema: queries.sql line %d: SQL before the first block", n+1)
			}
			continue
		}
		if head == "" {
			if len(lines) == 0 && strings.HasPrefix(strings.TrimSpace(line), "--") {
				continue // the block's own comment
			}
			lines = append(lines, line)
			continue
		}
		flush()
		cur = strings.TrimSpace(head)
		if !validName(cur) {
			return nil, nil, fmt.Errorf("pgschema: queries.sql line %d: bad block name %q", n+1, cur)
		}
		if _, dup := blocks[cur]; dup {
			return nil, nil, fmt.Errorf("pgschema: queries.sql line %d: block %s defined twice", n+1, cur)
		}
		blocks[cur] = block{fragment: fragment}
		order = append(order, cur)
	}
	flush()
	for _, n := range order {
		if blocks[n].text == "" {
			return nil, nil, fmt.Errorf("pgschema: queries.sql: block %s is empty", n)
		}
	}
	return blocks, order, nil
}

func validName(n string) bool {
	if n == "" || !identStart(n[0]) {
		return false
	}
	for i := range len(n) {
		if !identByte(n[i]) {
			return false
		}
	}
	return true
}

// A Set is the statements and fragments of queries.sql for one schema,
// parsed and compiled once. Query and Fragment hand them out by name and
// remember what was asked for, so that the store, which takes every one
// it uses when it is made, can check with Err that each exists and each
// is used.
type Set struct {
	blocks  map[string]block
	order   []string
	queries map[string]*Query
	used    map[string]bool
	missing []string
}

// Queries parses and compiles queries.sql for the schema whose quoted
// identifier is quotedSchema.
func Queries(quotedSchema string) (*Set, error) {
	return parseSet(queriesSQL, quotedSchema)
}

func parseSet(file, quotedSchema string) (*Set, error) {
	blocks, order, err := parseBlocks(file)
	if err != nil {
		return nil, err
	}
	s := &Set{blocks: blocks, order: order, queries: map[string]*Query{}, used: map[string]bool{}}
	for _, n := range order {
		b := blocks[n]
		b.text = strings.ReplaceAll(WithSchema(b.text, quotedSchema), SyncCommitOn, syncCommitOn)
		blocks[n] = b
		if b.fragment {
			continue
		}
		q, err := Compile(n, b.text)
		if err != nil {
			return nil, err
		}
		s.queries[n] = q
	}
	return s, nil
}

// Query returns the statement name; nil, and an error from Err, when
// there is none.
func (s *Set) Query(name string) *Query {
	s.used[name] = true
	q, ok := s.queries[name]
	if !ok {
		s.missing = append(s.missing, name)
	}
	return q
}

// Fragment returns the text of the fragment name, its schema filled in
// and its named parameters as they are (the statement it goes into is
// compiled when it is assembled); "", and an error from Err, when there
// is none.
func (s *Set) Fragment(name string) string {
	s.used[name] = true
	b, ok := s.blocks[name]
	if !ok || !b.fragment {
		s.missing = append(s.missing, name)
		return ""
	}
	return b.text
}

// Err reports the names asked for that queries.sql does not define (or
// defines as the other kind of block).
func (s *Set) Err() error {
	if len(s.missing) > 0 {
		return fmt.Errorf("pgschema: queries.sql has no %s", strings.Join(s.missing, ", "))
	}
	return nil
}

// Unused returns the blocks of queries.sql that were never asked for, in
// file order.
func (s *Set) Unused() []string {
	var out []string
	for _, n := range s.order {
		if !s.used[n] {
			out = append(out, n)
		}
	}
	return slices.Clip(out)
}
