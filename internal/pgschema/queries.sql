-- The Postgres store's statements. Each "-- name: x" block is one
-- statement, compiled once when the store is made: {{schema}} becomes the
-- store's quoted schema and :param a positional parameter ($1, $2, ... in
-- order of first appearance). A "-- fragment: x" block is a piece of a
-- statement that Go assembles at run time (Events' filters, Record's
-- multi-row insert). Comment lines right below a header describe the
-- block. TestPostgresQueriesComplete checks that the store uses every
-- block and that every block it uses is here.
--
-- {{sync_commit_on}} is a condition that is always true but, when the
-- session's synchronous_commit is off or local (a role's or a database's
-- setting), sets it to on for the statement's transaction, so that the
-- commit waits for its flush and for a synchronous standby, as the audit
-- modes and the README's Failover section promise (a trial: with it off
-- for the role, EnvFor and Get returned values whose events a crash then
-- lost). Every statement that changes rows holds it (env_audited pins
-- itself: migration 10), and a write's transaction is pinned by its first
-- statement that holds it; the relaxed statements set it off instead
-- (pgschema's TestSyncCommitPinned lists them, and the library's
-- TestPostgresEveryCommitPinned checks every transaction of the Store
-- suite with a trigger).
--
-- Columns, in the order the store scans them: a version is (workspace,
-- secret_id, version, name, flags, format, ciphertext, key_id, env_size,
-- fingerprint, written, written_by); an entry is pgEntry.targets().

-- name: key
SELECT workspace, cipher_id, wrapped, generation, updated FROM {{schema}}.workspace_keys WHERE workspace = :workspace

-- name: put_key
SELECT {{schema}}.put_key(:workspace, :cipher_id, :wrapped, :updated, :expect) WHERE {{sync_commit_on}}

-- name: master_keys
-- retired (migration 7) is read through the row's JSON, which has no such
-- key on an older schema: a Manager checks its master key before its
-- first write, which works on the schema of every version.
SELECT m.cipher_id, m.check_value, m.added, (to_jsonb(m) ->> 'retired')::timestamptz AS retired
FROM {{schema}}.master_keys m ORDER BY m.cipher_id COLLATE "C"

-- name: add_master_key
SELECT {{schema}}.add_master_key(:cipher_id, :check_value, :added, :first) WHERE {{sync_commit_on}}

-- name: retire_master_key
SELECT {{schema}}.retire_master_key(:cipher_id, :at) WHERE {{sync_commit_on}}

-- name: set_master_check
WITH u AS (UPDATE {{schema}}.master_keys SET check_value = :check_value WHERE cipher_id = :cipher_id AND {{sync_commit_on}} RETURNING 1)
SELECT count(*) FROM u

-- name: lookup
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, s.ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.secrets s WHERE s.workspace = :workspace AND s.name_key = lower(:name_key)

-- name: history
SELECT v.workspace, v.secret_id, v.version, v.name, v.flags, v.format, v.ciphertext, v.key_id,
	v.env_size, v.fingerprint, v.written, v.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.versions v
WHERE v.workspace = :workspace AND v.secret_id = :secret_id ORDER BY v.version DESC

-- name: list
-- A page of entries without their values (an empty ciphertext).
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, ''::bytea AS ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.secrets s
WHERE s.workspace = :workspace AND (s.deleted IS NOT NULL) = :deleted AND s.name_key COLLATE "C" > lower(:after)
	AND s.name_key LIKE lower(:pattern) ORDER BY s.name_key COLLATE "C" LIMIT :limit

-- name: list_values
-- As list, with the values.
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, s.ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.secrets s
WHERE s.workspace = :workspace AND (s.deleted IS NOT NULL) = :deleted AND s.name_key COLLATE "C" > lower(:after)
	AND s.name_key LIKE lower(:pattern) ORDER BY s.name_key COLLATE "C" LIMIT :limit

-- name: list_names
-- As list, of the secrets whose name_key is one of :names:
-- one probe of the name index a name, whatever the workspace holds.
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, ''::bytea AS ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.secrets s
WHERE s.workspace = :workspace AND s.name_key = ANY (ARRAY(SELECT lower(x) FROM unnest(:names::text[]) x)) AND (s.deleted IS NOT NULL) = :deleted
	AND s.name_key COLLATE "C" > lower(:after) AND s.name_key LIKE lower(:pattern) ORDER BY s.name_key COLLATE "C" LIMIT :limit

-- name: list_names_values
-- As list_names, with the values.
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, s.ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = :workspace), 0) AS key_gen
FROM {{schema}}.secrets s
WHERE s.workspace = :workspace AND s.name_key = ANY (ARRAY(SELECT lower(x) FROM unnest(:names::text[]) x)) AND (s.deleted IS NOT NULL) = :deleted
	AND s.name_key COLLATE "C" > lower(:after) AND s.name_key LIKE lower(:pattern) ORDER BY s.name_key COLLATE "C" LIMIT :limit

-- name: put
-- One write: put_secret's parameters, then the re-sealed versions (rs_*,
-- NULL when none), the count (read under the lock) and its limit.
SELECT ({{schema}}.put_secret(true, 0, 0, 0,
	:workspace, :secret_id, :expect, :new_version, :destroy, :check, :key_gen, :keep, :max_env,
	:name, :revision, :created, :created_by, :updated, :updated_by, :description, :expires,
	:rotate_by, :deleted, :deleted_by,
	:version, :flags, :format, :ciphertext, :key_id, :env_size, :fingerprint, :written, :written_by,
	:rs_versions, :rs_names, :rs_flags, :rs_formats, :rs_ciphertexts, :rs_key_ids, :rs_env_sizes, 0, :max_secrets)).state
WHERE {{sync_commit_on}}

-- name: put_audited
-- As put, recording its audit event in the same statement; the event's
-- state is the write's.
WITH w AS (SELECT ({{schema}}.put_secret(true, 0, 0, 0,
	:workspace, :secret_id, :expect, :new_version, :destroy, :check, :key_gen, :keep, :max_env,
	:name, :revision, :created, :created_by, :updated, :updated_by, :description, :expires,
	:rotate_by, :deleted, :deleted_by,
	:version, :flags, :format, :ciphertext, :key_id, :env_size, :fingerprint, :written, :written_by,
	:rs_versions, :rs_names, :rs_flags, :rs_formats, :rs_ciphertexts, :rs_key_ids, :rs_env_sizes, 0, :max_secrets)).state AS state
	WHERE {{sync_commit_on}})
INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail)
SELECT :event_at, :event_actor, :event_action, :event_workspace, w.state, :event_names, :event_versions,
	:event_fingerprints, :event_outcome, :event_detail
FROM w RETURNING id, state

-- name: lock_state
-- The workspace's state, under its write lock (Write.ExpectState).
SELECT state FROM {{schema}}.lock_workspace(:workspace) WHERE {{sync_commit_on}}

-- name: put_batch
SELECT {{schema}}.put_batch(:writes, :max_secrets) WHERE {{sync_commit_on}}

-- name: put_batch_audited
WITH w AS (SELECT {{schema}}.put_batch(:writes, :max_secrets) AS state WHERE {{sync_commit_on}})
INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail)
SELECT :event_at, :event_actor, :event_action, :event_workspace, w.state, :event_names, :event_versions,
	:event_fingerprints, :event_outcome, :event_detail
FROM w RETURNING id, state

-- name: env_read
-- Env's reads call the functions of migration 6, which keep their plans
-- for the connection's life.
SELECT * FROM {{schema}}.env_read(:workspace, :names)

-- name: env_audited
SELECT * FROM {{schema}}.env_audited(:workspace, :names, :relaxed, :at, :actor, :action, :outcome, :detail)

-- name: env_levels
SELECT * FROM {{schema}}.env_levels(:containers, :names)

-- name: audit
INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail,
	parents, containers, withheld, environment, protected)
SELECT :event_at, :event_actor, :event_action, :event_workspace, :event_state, :event_names, :event_versions,
	:event_fingerprints, :event_outcome, :event_detail,
	:event_parents, :event_containers, :event_withheld, :event_environment, :event_protected
WHERE {{sync_commit_on}}
RETURNING id

-- name: audit_relaxed
-- As audit, committed without waiting for the flush (set_config is local
-- to the statement's own transaction).
WITH c AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail,
	parents, containers, withheld, environment, protected)
SELECT :event_at, :event_actor, :event_action, :event_workspace, :event_state, :event_names, :event_versions,
	:event_fingerprints, :event_outcome, :event_detail,
	:event_parents, :event_containers, :event_withheld, :event_environment, :event_protected
FROM c RETURNING id

-- fragment: record_events_head
-- Record's multi-row insert: this, then one row of VALUES per event (the
-- columns of pgRecordColumns, as positional parameters), then
-- record_events_tail. The IDs are drawn from the table's sequence, one
-- per row, and inserted with their rows, so each is matched to its event
-- by position (ord), not by the order in which RETURNING lists rows.
WITH v (ord, at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail,
	parents, containers, withheld, environment, protected) AS (VALUES

-- fragment: record_events_tail
), ids AS (SELECT ord, nextval(pg_get_serial_sequence('{{schema}}.audit', 'id')) AS id FROM v),
ins AS (INSERT INTO {{schema}}.audit (id, at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail,
		parents, containers, withheld, environment, protected)
	SELECT ids.id, v.at, v.actor, v.action, v.workspace, v.state, v.names, v.versions, v.fingerprints, v.outcome, v.detail,
		v.parents, v.containers, v.withheld, v.environment, v.protected
	FROM v JOIN ids USING (ord) RETURNING 1)
SELECT ord, id FROM ids WHERE {{sync_commit_on}}

-- fragment: events_select
-- Events: this, "WHERE" and its filters, the order and ":limit", inside
-- events_page_head and its tail. listed is how many secrets the event
-- lists: those its arrays hold, or for a delivery whose secrets come from
-- the ledger (as in events_by_name) the secrets it delivered.
SELECT e.id, e.at, e.actor, e.action, e.workspace, e.state, e.names, e.versions, e.fingerprints,
	e.outcome, e.detail, e.parents, e.containers, e.withheld, e.environment, e.protected,
	CASE WHEN e.action IN ('inject', 'export') AND e.outcome = 'ok' AND e.state > 0 AND e.parents IS NULL
		THEN (SELECT count(*) FROM {{schema}}.delivered(e.workspace, e.state, e.action, e.names))
		ELSE coalesce(cardinality(e.names), 0) END AS listed
FROM {{schema}}.audit e

-- fragment: events_page_head
-- Events: the page of events_select, in its order, without the arrays of
-- the events past the first whose running count of listed secrets goes
-- over :budget (omitted), unless they list none. The tail closes q, names the window w, ordered
-- as the page is, and orders p the same way.
SELECT p.id, p.at, p.actor, p.action, p.workspace, p.state,
	CASE WHEN p.keep THEN p.names END AS names, CASE WHEN p.keep THEN p.versions END AS versions,
	CASE WHEN p.keep THEN p.fingerprints END AS fingerprints, p.outcome, p.detail, p.parents,
	CASE WHEN p.keep THEN p.containers END AS containers, CASE WHEN p.keep THEN p.withheld END AS withheld,
	p.environment, p.protected, NOT p.keep AS omitted
FROM (SELECT q.*, row_number() OVER w = 1 OR sum(q.listed) OVER w <= :budget OR q.listed = 0 AS keep FROM (

-- fragment: events_by_name
-- Events' filter on a secret's name: the names the event
-- lists, or for a delivery whose secrets come from the ledger (action
-- inject or export, outcome ok, state > 0, no parents) the secrets it
-- delivered: an entry of the name (index ledger_name, migration 8) that
-- was its secret's current one at the event's state, and that
-- delivered() would list.
(NOT (e.action IN ('inject', 'export') AND e.outcome = 'ok' AND e.state > 0 AND e.parents IS NULL)
		AND EXISTS (SELECT 1 FROM unnest(e.names) n WHERE lower(n) = lower(:name))
	OR (e.action IN ('inject', 'export') AND e.outcome = 'ok' AND e.state > 0 AND e.parents IS NULL)
		AND EXISTS (SELECT 1 FROM {{schema}}.ledger l
			WHERE l.workspace = e.workspace AND lower(l.name) = lower(:name) AND l.state <= e.state AND l.version > 0
			  AND NOT EXISTS (SELECT 1 FROM {{schema}}.ledger n WHERE n.workspace = l.workspace
				AND n.secret_id = l.secret_id AND n.state > l.state AND n.state <= e.state)
			  AND (e.action <> 'export' OR NOT l.write_only)
			  AND strpos(l.name, '@') = 0 AND NOT coalesce(l.protected, false)
			  AND (e.names IS NULL OR lower(l.name) IN (SELECT lower(x) FROM unnest(e.names) x))))

-- fragment: events_by_fingerprint
-- Events' filter on a value's fingerprints (any of them: one per key of a
-- rotated audit keyset): the event's own fingerprints (those of the
-- secrets it lists, then those of the values its job got expanded, which
-- are all a delivery's array holds: audit_expanded), or through the
-- ledger's fingerprint index for deliveries: the entries that held the
-- value, and the deliveries made while they were current.
(e.fingerprints && :fingerprints
	OR (e.action IN ('inject', 'export') AND e.outcome = 'ok' AND e.state > 0 AND e.parents IS NULL)
		AND EXISTS (SELECT 1 FROM {{schema}}.ledger l
			WHERE l.fingerprint = ANY(:fingerprints) AND l.workspace = e.workspace AND l.version > 0 AND l.state <= e.state
			  AND NOT EXISTS (SELECT 1 FROM {{schema}}.ledger n WHERE n.workspace = l.workspace
				AND n.secret_id = l.secret_id AND n.state > l.state AND n.state <= e.state)
			  AND (e.action <> 'export' OR NOT l.write_only)
			  AND strpos(l.name, '@') = 0 AND NOT coalesce(l.protected, false)
			  AND (e.names IS NULL OR lower(l.name) IN (SELECT lower(x) FROM unnest(e.names) x))))

-- name: audit_expanded
-- Adds to the event :id, a job's that its read recorded (env_audited),
-- the fingerprints of the values the job got expanded (Info.Expand),
-- after those it holds: events_by_fingerprint finds it by them. Events
-- reads a delivery's secrets from the ledger, and an event's
-- fingerprints past its names as none of its secrets'.
UPDATE {{schema}}.audit SET fingerprints = coalesce(fingerprints, '{}') || :fingerprints::bytea[]
WHERE id = :id AND {{sync_commit_on}} RETURNING id

-- name: audit_expanded_relaxed
-- As audit_expanded, committed without waiting for the flush.
WITH c AS (SELECT set_config('synchronous_commit', 'off', true))
UPDATE {{schema}}.audit SET fingerprints = coalesce(fingerprints, '{}') || :fingerprints::bytea[]
FROM c WHERE id = :id RETURNING id

-- name: delivered
SELECT a.id, d.name, d.version, d.fingerprint FROM {{schema}}.audit a,
	LATERAL {{schema}}.delivered(a.workspace, a.state, a.action, a.names) d
WHERE a.id = ANY(:ids) ORDER BY a.id, d.name COLLATE "C"

-- name: stale
SELECT v.workspace, v.secret_id, v.version, v.name, v.flags, v.format, v.ciphertext, v.key_id,
	v.env_size, v.fingerprint, v.written, v.written_by
FROM {{schema}}.versions v
WHERE v.workspace = :workspace AND (v.key_id <> :key_id OR v.format < 2)
	AND (v.secret_id COLLATE "C", v.version) > (:after_secret_id COLLATE "C", :after_version)
ORDER BY v.secret_id COLLATE "C", v.version LIMIT :limit

-- name: stale_count
SELECT count(*) FROM {{schema}}.versions WHERE workspace = :workspace AND (key_id <> :key_id OR format < 2)

-- name: reencrypt
SELECT {{schema}}.reencrypt(:workspace, :key_gen, :secret_ids, :versions, :from_key_ids, :from_formats,
	:ciphertexts, :key_ids, :formats) WHERE {{sync_commit_on}}

-- name: foreign_keys
SELECT workspace, cipher_id, wrapped, generation, updated FROM {{schema}}.workspace_keys
WHERE cipher_id <> :cipher_id AND workspace COLLATE "C" > :after ORDER BY workspace COLLATE "C" LIMIT :limit

-- name: foreign_keys_count
SELECT count(*) FROM {{schema}}.workspace_keys WHERE cipher_id <> :cipher_id

-- name: workspaces
SELECT workspace FROM {{schema}}.workspace_keys WHERE workspace COLLATE "C" > :after
ORDER BY workspace COLLATE "C" LIMIT :limit

-- name: delete_workspace
SELECT {{schema}}.delete_workspace(:workspace, :at) WHERE {{sync_commit_on}}

-- name: delete_workspace_list
-- What an audited DeleteWorkspace removes, for its event: every secret,
-- soft-deleted ones too, with its current version and fingerprint. It runs
-- in the deletion's transaction, after lock_state took the workspace's
-- write lock, so no write of a secret comes between the list and the
-- deletion (a fingerprint backfill, set_fingerprints, takes no lock: a
-- secret may be listed without the fingerprint it got meanwhile).
SELECT s.name, s.version, s.fingerprint FROM {{schema}}.secrets s
WHERE s.workspace = :workspace ORDER BY s.name COLLATE "C"

-- name: delete_workspace_audited
-- The event's workspace is the one deleted, its state the function's.
WITH d AS (SELECT {{schema}}.delete_workspace(:workspace, :at) AS state WHERE {{sync_commit_on}})
INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, versions, fingerprints, outcome, detail)
SELECT :event_at, :event_actor, :event_action, :workspace, d.state, :event_names, :event_versions,
	:event_fingerprints, :event_outcome, :event_detail
FROM d RETURNING id, state

-- name: due
-- Due and deleted_before both read through the index secrets_due: its key
-- and predicate, repeated. Neither returns values (a NULL ciphertext).
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, NULL::bytea AS ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by, 0 AS key_gen
FROM {{schema}}.secrets s
WHERE coalesce(s.deleted, least(s.expires, s.rotate_by)) < :before AND s.deleted IS NULL
	AND (s.deleted IS NOT NULL OR s.expires IS NOT NULL OR s.rotate_by IS NOT NULL)
	AND (s.workspace COLLATE "C", s.name COLLATE "C") > (:after_workspace COLLATE "C", :after_name COLLATE "C")
ORDER BY s.workspace COLLATE "C", s.name COLLATE "C" LIMIT :limit

-- name: deleted_before
SELECT s.workspace, s.secret_id, s.name, s.revision, s.created, s.created_by, s.updated, s.updated_by,
	s.description, s.expires, s.rotate_by, s.deleted, s.deleted_by, s.version, s.flags, s.format, NULL::bytea AS ciphertext, s.key_id,
	s.env_size, s.fingerprint, s.written, s.written_by, 0 AS key_gen
FROM {{schema}}.secrets s
WHERE coalesce(s.deleted, least(s.expires, s.rotate_by)) < :before AND s.deleted IS NOT NULL
	AND (s.deleted IS NOT NULL OR s.expires IS NOT NULL OR s.rotate_by IS NOT NULL)
ORDER BY s.workspace COLLATE "C", s.name COLLATE "C" LIMIT :limit

-- name: drop_events
WITH d AS (DELETE FROM {{schema}}.audit WHERE id IN (
		SELECT id FROM {{schema}}.audit WHERE at < :before ORDER BY id LIMIT :limit) AND {{sync_commit_on}} RETURNING 1)
SELECT count(*) FROM d

-- name: drop_ledger
DELETE FROM {{schema}}.ledger l WHERE l.at < :cutoff AND (
	SELECT n.at FROM {{schema}}.ledger n WHERE n.workspace = l.workspace AND n.secret_id = l.secret_id
	AND n.state > l.state ORDER BY n.state LIMIT 1) < :cutoff AND {{sync_commit_on}}

-- name: drop_tombstones
DELETE FROM {{schema}}.ledger l WHERE l.version = 0 AND l.at < :cutoff AND NOT EXISTS (
	SELECT 1 FROM {{schema}}.ledger p WHERE p.workspace = l.workspace AND p.secret_id = l.secret_id AND p.state < l.state)
	AND {{sync_commit_on}}

-- name: ledger_at
-- By the ledger's primary key (workspace, secret_id, state).
SELECT DISTINCT ON (l.secret_id) l.secret_id, l.name, l.state, l.at, l.version
FROM {{schema}}.ledger l WHERE l.workspace = :workspace AND l.at <= :at
ORDER BY l.secret_id, l.state DESC

-- name: unfingerprinted
SELECT v.workspace, v.secret_id, v.version, v.name, v.flags, v.format, v.ciphertext, v.key_id,
	v.env_size, v.fingerprint, v.written, v.written_by,
	coalesce((SELECT w.key_gen FROM {{schema}}.workspaces w WHERE w.workspace = v.workspace), 0) AS key_gen
FROM {{schema}}.versions v
WHERE (:workspace = '' OR v.workspace = :workspace)
	AND (v.workspace COLLATE "C", v.secret_id COLLATE "C", v.version) > (:after_workspace COLLATE "C", :after_secret_id COLLATE "C", :after_version)
	AND EXISTS (SELECT 1 FROM {{schema}}.ledger l WHERE l.workspace = v.workspace AND l.secret_id = v.secret_id
		AND l.version = v.version AND l.fingerprint IS NULL)
ORDER BY v.workspace COLLATE "C", v.secret_id COLLATE "C", v.version LIMIT :limit

-- name: set_fingerprints
WITH u AS (SELECT * FROM unnest(:workspaces::text[], :secret_ids::text[], :versions::bigint[], :fingerprints::bytea[]) AS u(ws, sid, ver, fp) WHERE {{sync_commit_on}}),
l AS (UPDATE {{schema}}.ledger l SET fingerprint = u.fp FROM u
	WHERE l.workspace = u.ws AND l.secret_id = u.sid AND l.version = u.ver AND l.fingerprint IS NULL),
v AS (UPDATE {{schema}}.versions v SET fingerprint = u.fp FROM u
	WHERE v.workspace = u.ws AND v.secret_id = u.sid AND v.version = u.ver AND v.fingerprint IS NULL)
UPDATE {{schema}}.secrets s SET fingerprint = u.fp FROM u
	WHERE s.workspace = u.ws AND s.secret_id = u.sid AND s.version = u.ver AND s.fingerprint IS NULL
