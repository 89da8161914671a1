package secrets

import "strings"

// pgQueries are the store's statements for one schema.
type pgQueries struct {
	key, putKey, masterKeys, addMasterKey       string
	lookup, history, list, listValues           string
	env, envSubset                              string
	envLevels, envLevelsSubset                  string
	envAudited, envAuditedRelaxed               string
	envSubsetAudited, envSubsetAuditedRelaxed   string
	put, putAudited, audit, auditRelaxed        string
	putBatch, putBatchAudited                   string
	stale, staleCount, reencrypt                string
	foreign, foreignCount, workspaces           string
	delWS, delWSAudited                         string
	due, deletedBefore                          string
	dropEvents, dropLedger, dropTombstones      string
	unfingerprinted, setFingerprints, delivered string
	ledgerAt                                    string
}

// The columns of a version, of an entry (with its current version), and
// the parameters of put_secret.
const (
	pgVersionCols = `v.workspace, v.secret_id, v.version, v.name, v.flags, v.format, v.ciphertext, v.key_id,
	v.env_size, v.fingerprint, v.written, v.written_by`
	pgEntryCols = `s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, {{ct}}, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by`
	pgKeyGen    = `coalesce((SELECT w.key_gen FROM {{s}}.workspaces w WHERE w.workspace = $1), 0) AS key_gen`
	pgPutParams = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
	$21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36`
	pgAuditCols = `at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail`
)

func newPGQueries(schema string) pgQueries {
	r := strings.NewReplacer("{{entry}}", pgEntryCols, "{{vcols}}", pgVersionCols, "{{keygen}}", pgKeyGen,
		"{{put}}", pgPutParams, "{{audit}}", pgAuditCols)
	s := strings.NewReplacer("{{s}}", schema, "{{ct}}", "s.ciphertext")
	noCT := strings.NewReplacer("{{s}}", schema, "{{ct}}", "''::bytea AS ciphertext")
	q := func(text string) string { return s.Replace(r.Replace(text)) }
	list := `SELECT {{entry}}, {{keygen}} FROM {{s}}.secrets s
		WHERE s.workspace = $1 AND (s.deleted IS NOT NULL) = $2 AND s.name_key COLLATE "C" > $3
		  AND s.name_key LIKE $4 ORDER BY s.name_key COLLATE "C" LIMIT $5`
	return pgQueries{
		key:          q(`SELECT workspace, cipher_id, wrapped, generation, updated FROM {{s}}.workspace_keys WHERE workspace = $1`),
		putKey:       q(`SELECT {{s}}.put_key($1, $2, $3, $4, $5)`),
		masterKeys:   q(`SELECT cipher_id, check_value, added FROM {{s}}.master_keys ORDER BY cipher_id COLLATE "C"`),
		addMasterKey: q(`SELECT {{s}}.add_master_key($1, $2, $3, $4)`),
		lookup:       q(`SELECT {{entry}}, {{keygen}} FROM {{s}}.secrets s WHERE s.workspace = $1 AND s.name_key = $2`),
		history: q(`SELECT {{vcols}}, {{keygen}} FROM {{s}}.versions v
			WHERE v.workspace = $1 AND v.secret_id = $2 ORDER BY v.version DESC`),
		listValues: q(list),
		list:       noCT.Replace(r.Replace(list)),

		envLevels:               q(envLevelsSQL(false)),
		envLevelsSubset:         q(envLevelsSQL(true)),
		env:                     q(envSQL("", false)),
		envSubset:               q(envSQL("", true)),
		envAudited:              q(envSQL("SELECT 1", false)),
		envAuditedRelaxed:       q(envSQL("SELECT set_config('synchronous_commit', 'off', true)", false)),
		envSubsetAudited:        q(envSQL("SELECT 1", true)),
		envSubsetAuditedRelaxed: q(envSQL("SELECT set_config('synchronous_commit', 'off', true)", true)),

		put: q(`SELECT ({{s}}.put_secret(true, 0, 0, 0, {{put}})).state`),
		putAudited: q(`WITH w AS (SELECT ({{s}}.put_secret(true, 0, 0, 0, {{put}})).state AS state)
			INSERT INTO {{s}}.audit ({{audit}})
			SELECT $37, $38, $39, $40, w.state, $41, $42, $43, $44, $45 FROM w RETURNING id, state`),
		putBatch: q(`SELECT {{s}}.put_batch($1)`),
		putBatchAudited: q(`WITH w AS (SELECT {{s}}.put_batch($1) AS state)
			INSERT INTO {{s}}.audit ({{audit}})
			SELECT $2, $3, $4, $5, w.state, $6, $7, $8, $9, $10 FROM w RETURNING id, state`),
		audit: q(`INSERT INTO {{s}}.audit ({{audit}}, parents, containers, withheld, environment, protected)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`),
		// As audit, committed without waiting for the flush (set_config
		// is local to the statement's own transaction).
		auditRelaxed: q(`WITH c AS (SELECT set_config('synchronous_commit', 'off', true))
			INSERT INTO {{s}}.audit ({{audit}}, parents, containers, withheld, environment, protected)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 FROM c RETURNING id`),

		stale: q(`SELECT {{vcols}} FROM {{s}}.versions v
			WHERE v.workspace = $1 AND (v.key_id <> $2 OR v.format < 2)
			  AND (v.secret_id COLLATE "C", v.version) > ($3 COLLATE "C", $4)
			ORDER BY v.secret_id COLLATE "C", v.version LIMIT $5`),
		staleCount: q(`SELECT count(*) FROM {{s}}.versions WHERE workspace = $1 AND (key_id <> $2 OR format < 2)`),
		reencrypt:  q(`SELECT {{s}}.reencrypt($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
		foreign: q(`SELECT workspace, cipher_id, wrapped, generation, updated FROM {{s}}.workspace_keys
			WHERE cipher_id <> $1 AND workspace COLLATE "C" > $2 ORDER BY workspace COLLATE "C" LIMIT $3`),
		foreignCount: q(`SELECT count(*) FROM {{s}}.workspace_keys WHERE cipher_id <> $1`),
		workspaces: q(`SELECT workspace FROM {{s}}.workspace_keys WHERE workspace COLLATE "C" > $1
			ORDER BY workspace COLLATE "C" LIMIT $2`),
		delWS: q(`SELECT {{s}}.delete_workspace($1, $2)`),
		delWSAudited: q(`WITH d AS (SELECT {{s}}.delete_workspace($1, $2) AS state)
			INSERT INTO {{s}}.audit ({{audit}}) SELECT $3, $4, $5, $1, d.state, $6, $7, $8, $9, $10 FROM d RETURNING id, state`),
		// Both read through secrets_due: its key and predicate, repeated.
		due: q(`SELECT {{entry}}, 0 AS key_gen FROM {{s}}.secrets s
			WHERE coalesce(s.deleted, least(s.expires, s.rotate_by)) < $1 AND s.deleted IS NULL
			  AND (s.deleted IS NOT NULL OR s.expires IS NOT NULL OR s.rotate_by IS NOT NULL)
			  AND (s.workspace COLLATE "C", s.name COLLATE "C") > ($2 COLLATE "C", $3 COLLATE "C")
			ORDER BY s.workspace COLLATE "C", s.name COLLATE "C" LIMIT $4`),
		deletedBefore: q(`SELECT {{entry}}, 0 AS key_gen FROM {{s}}.secrets s
			WHERE coalesce(s.deleted, least(s.expires, s.rotate_by)) < $1 AND s.deleted IS NOT NULL
			  AND (s.deleted IS NOT NULL OR s.expires IS NOT NULL OR s.rotate_by IS NOT NULL)
			ORDER BY s.workspace COLLATE "C", s.name COLLATE "C" LIMIT $2`),

		dropEvents: q(`WITH d AS (DELETE FROM {{s}}.audit WHERE id IN (
				SELECT id FROM {{s}}.audit WHERE at < $1 ORDER BY id LIMIT $2) RETURNING 1)
			SELECT count(*) FROM d`),
		dropLedger: q(`DELETE FROM {{s}}.ledger l WHERE l.at < $1 AND (
				SELECT n.at FROM {{s}}.ledger n WHERE n.workspace = l.workspace AND n.secret_id = l.secret_id
				AND n.state > l.state ORDER BY n.state LIMIT 1) < $1`),
		// By the ledger's primary key (workspace, secret_id, state).
		ledgerAt: q(`SELECT DISTINCT ON (l.secret_id) l.secret_id, l.name, l.state, l.at, l.version
			FROM {{s}}.ledger l WHERE l.workspace = $1 AND l.at <= $2
			ORDER BY l.secret_id, l.state DESC`),
		dropTombstones: q(`DELETE FROM {{s}}.ledger l WHERE l.version = 0 AND l.at < $1 AND NOT EXISTS (
				SELECT 1 FROM {{s}}.ledger p WHERE p.workspace = l.workspace AND p.secret_id = l.secret_id AND p.state < l.state)`),
		unfingerprinted: q(`SELECT {{vcols}}, coalesce((SELECT w.key_gen FROM {{s}}.workspaces w WHERE w.workspace = v.workspace), 0) AS key_gen
			FROM {{s}}.versions v
			WHERE ($1 = '' OR v.workspace = $1)
			  AND (v.workspace COLLATE "C", v.secret_id COLLATE "C", v.version) > ($2 COLLATE "C", $3 COLLATE "C", $4)
			  AND EXISTS (SELECT 1 FROM {{s}}.ledger l WHERE l.workspace = v.workspace AND l.secret_id = v.secret_id
				AND l.version = v.version AND l.fingerprint IS NULL)
			ORDER BY v.workspace COLLATE "C", v.secret_id COLLATE "C", v.version LIMIT $5`),
		setFingerprints: q(`WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[]) AS u(ws, sid, ver, fp)),
			l AS (UPDATE {{s}}.ledger l SET fingerprint = u.fp FROM u
				WHERE l.workspace = u.ws AND l.secret_id = u.sid AND l.version = u.ver AND l.fingerprint IS NULL),
			v AS (UPDATE {{s}}.versions v SET fingerprint = u.fp FROM u
				WHERE v.workspace = u.ws AND v.secret_id = u.sid AND v.version = u.ver AND v.fingerprint IS NULL)
			UPDATE {{s}}.secrets s SET fingerprint = u.fp FROM u
				WHERE s.workspace = u.ws AND s.secret_id = u.sid AND s.version = u.ver AND s.fingerprint IS NULL`),
		delivered: q(`SELECT a.id, d.name, d.version, d.fingerprint FROM {{s}}.audit a,
				LATERAL {{s}}.delivered(a.workspace, a.state, a.action, a.names) d
			WHERE a.id = ANY($1) ORDER BY a.id, d.name COLLATE "C"`),
	}
}

// envSQL reads a workspace's environment. With commit not empty it also
// records the read's audit event in the same statement (commit is a query
// run first: set_config there makes the transaction commit
// asynchronously); both parts see the same snapshot and read the rows
// presorted from the secrets_env index.
//
// The result is as narrow as the floor it is measured against: each
// secret's version, format and flags come packed in one bigint
// (version<<10 | format<<4 | flags), and the workspace's key generation
// and state come once, in a header row whose secret_id is NULL (its name
// column holds the state, its packed column the key generation), instead
// of in two more columns of every row. The header row is absent when the
// workspace has never been written. An audited read adds a row whose name
// column is "event " and the ID of the event it recorded.
//
// An audited read is what a job without an environment, not protected,
// gets of one level (EnvQuery.Unscoped): the secrets of scope "*" that
// are not protected. Its event names the secrets it delivered (restricted
// to the subset's names, or all) unless the workspace holds a secret it
// left out: then the event lists the delivered names themselves, so that
// what the event is resolved to through the ledger is what the job got.
// Without commit the subset matches the variable's name, whatever the
// scope: the Manager resolves scopes itself.
func envSQL(commit string, subset bool) string {
	var b strings.Builder
	b.WriteString(`WITH w AS (SELECT state, key_gen FROM {{s}}.workspaces WHERE workspace = $1)`)
	filter := ""
	switch {
	case subset && commit != "":
		filter = " AND s.name_key = ANY($2)"
	case subset:
		filter = " AND split_part(s.name_key, '@', 1) = ANY($2)"
	}
	if commit != "" {
		all := "NULL::text[]"
		p := 2
		if subset {
			all, p = "$2", 3
		}
		names := `(SELECT CASE WHEN bool_or(x.hidden) THEN coalesce(array_agg(x.name) FILTER (WHERE NOT x.hidden), '{}') ELSE ` + all + ` END
			FROM (SELECT s.name, strpos(s.name, '@') > 0 OR s.flags & 4 <> 0 AS hidden
				FROM {{s}}.secrets s WHERE s.workspace = $1 AND s.deleted IS NULL` + filter + `) x)`
		filter += " AND strpos(s.name, '@') = 0 AND s.flags & 4 = 0"
		ph := func(i int) string { return "$" + itoa(int64(p+i)) }
		b.WriteString(`, commit_mode AS (` + commit + `), a AS (
			INSERT INTO {{s}}.audit (at, actor, action, workspace, state, names, outcome, detail)
			SELECT ` + ph(0) + `, ` + ph(1) + `, ` + ph(2) + `, $1, coalesce((SELECT state FROM w), 0), ` + names + `, ` + ph(3) + `, ` + ph(4) + `
			FROM commit_mode RETURNING id)`)
	}
	b.WriteString(`
	SELECT NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz FROM w
	UNION ALL`)
	if commit != "" {
		// The event's ID, in a header row of its own ("event N"), so that
		// OnEvent gets it.
		b.WriteString(`
	SELECT NULL::text, 'event ' || a.id, 0, NULL::bytea, NULL::timestamptz FROM a
	UNION ALL`)
	}
	b.WriteString(`
	(SELECT s.secret_id, s.name, (s.version << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
	FROM {{s}}.secrets s WHERE s.workspace = $1 AND s.deleted IS NULL` + filter + `
	ORDER BY s.name COLLATE "C")`)
	return b.String()
}

// envLevelsSQL reads the environments of a workspace and its parents ($1:
// the workspace, then the parents, nearest first) in one statement, as
// envSQL does one workspace's: a header row for each level that exists
// (its level, a NULL secret_id, its state and key generation), then the
// secrets, each with its level.
func envLevelsSQL(subset bool) string {
	filter := ""
	if subset {
		filter = " AND split_part(s.name_key, '@', 1) = ANY($2)"
	}
	return `WITH lv AS (SELECT x.c COLLATE "C" AS workspace, (x.o - 1)::int AS level
		FROM unnest($1::text[]) WITH ORDINALITY AS x(c, o))
	SELECT lv.level, NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz
	FROM lv JOIN {{s}}.workspaces w ON w.workspace = lv.workspace
	UNION ALL
	(SELECT lv.level, s.secret_id, s.name, (s.version << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
	FROM lv JOIN {{s}}.secrets s ON s.workspace = lv.workspace AND s.deleted IS NULL` + filter + `
	ORDER BY lv.level, s.name COLLATE "C")`
}
