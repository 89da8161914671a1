-- The secrets schema. {{schema}} is replaced by the quoted name of the
-- schema the host configured. No column holds a value or a key in the
-- clear: values are Tink AEAD ciphertexts, workspace keys are wrapped by
-- the master key, the ledger and audit rows hold names, versions and keyed
-- fingerprints.
--
-- Writes go through the functions below, each one statement for the
-- client: they serialize per workspace on a transaction-scoped advisory
-- lock, check every condition explicitly, and report refusals with
-- SQLSTATEs of class SC, which the Go store maps to its errors:
--   SC001 name taken, SC002 check-and-set conflict, SC003 no such secret,
--   SC004 over the environment budget, SC005 key generation moved on,
--   SC010 the transaction is not READ COMMITTED (the store retries the
--         write in a READ COMMITTED transaction of its own).
-- A native constraint violation is never an expected refusal: it means
-- the data is inconsistent (a partial restore, say).

-- Key generations and workspace states: never repeated, not even after a
-- workspace is deleted and made again.
CREATE SEQUENCE {{schema}}.states AS bigint;

-- One row a workspace: the size of its live environment (sum of env_size),
-- its state (the last change of what a job would receive) and the
-- generation of its key, which every read returns so that a replica never
-- uses a keyset that changed.
CREATE TABLE {{schema}}.workspaces (
    workspace text COLLATE "C" PRIMARY KEY,
    env_size  bigint NOT NULL DEFAULT 0,
    state     bigint NOT NULL DEFAULT 0,
    key_gen   bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

-- The master keys the store has seen, with a check value each (a constant
-- encrypted by that key), so that a wrong key never wraps anything.
CREATE TABLE {{schema}}.master_keys (
    cipher_id text COLLATE "C" PRIMARY KEY,
    check_value bytea NOT NULL,
    added       timestamptz NOT NULL
);

-- The workspace's data keyset, wrapped by the master key cipher_id.
CREATE TABLE {{schema}}.workspace_keys (
    workspace text COLLATE "C" PRIMARY KEY,
    cipher_id text COLLATE "C" NOT NULL,
    wrapped    bytea NOT NULL,
    generation bigint NOT NULL,
    updated    timestamptz NOT NULL
);

-- One row a secret, live or soft-deleted: its metadata and a copy of its
-- current version, so that EnvFor and List read one table in name order,
-- with no join. name_key is the name in lower case, unique in the
-- workspace. Identifiers and names sort in byte order (COLLATE "C"), as
-- environments and the Go side do. flags: 1 write-only, 2 file. The fill factor
-- leaves room for HOT updates, which touch no index.
CREATE TABLE {{schema}}.secrets (
    workspace text COLLATE "C" NOT NULL,
    secret_id text COLLATE "C" NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    revision    bigint NOT NULL,
    created     timestamptz NOT NULL,
    created_by  text NOT NULL,
    updated     timestamptz NOT NULL,
    updated_by  text NOT NULL,
    description text NOT NULL DEFAULT '',
    expires     timestamptz,
    rotate_by   timestamptz,
    deleted     timestamptz,
    deleted_by  text NOT NULL DEFAULT '',
    version     bigint NOT NULL,
    flags       smallint NOT NULL,
    format      smallint NOT NULL,
    ciphertext  bytea NOT NULL,
    key_id      bigint NOT NULL,
    env_size    bigint NOT NULL,
    fingerprint bytea,
    written     timestamptz NOT NULL,
    written_by  text NOT NULL,
    PRIMARY KEY (workspace, secret_id)
) WITH (fillfactor = 80);
-- The name index is partial on a predicate every query by name implies
-- and no query by secret_id does, so that the planner can never use it for
-- a lookup by ID (a generic plan made while the table was nearly empty
-- would otherwise walk a whole workspace for every write).
CREATE UNIQUE INDEX secrets_name ON {{schema}}.secrets (workspace, name_key) WHERE name_key IS NOT NULL;
CREATE INDEX secrets_env ON {{schema}}.secrets (workspace, name) WHERE deleted IS NULL;
-- Secrets whose expiry or rotation is coming, and old deleted ones, across
-- workspaces: one index, keyed by the deletion time of a deleted secret
-- and by the earlier of expiry and rotation of a live one (least ignores
-- NULLs), derived from the row so that no column can disagree with it.
-- One index rather than three because every statement that writes a
-- table opens all of its indexes, even an update that changes no indexed
-- column: the three partial indexes this one replaced cost every Set
-- about 8% (BENCHMARKS.md, "Set"). The queries that use it repeat its
-- key and predicate.
CREATE INDEX secrets_due ON {{schema}}.secrets ((coalesce(deleted, least(expires, rotate_by))))
    WHERE deleted IS NOT NULL OR expires IS NOT NULL OR rotate_by IS NOT NULL;

-- Every retained value version, the current one included.
CREATE TABLE {{schema}}.versions (
    workspace text COLLATE "C" NOT NULL,
    secret_id text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    name text COLLATE "C" NOT NULL,
    flags       smallint NOT NULL,
    format      smallint NOT NULL,
    ciphertext  bytea NOT NULL,
    key_id      bigint NOT NULL,
    env_size    bigint NOT NULL,
    fingerprint bytea,
    written     timestamptz NOT NULL,
    written_by  text NOT NULL,
    PRIMARY KEY (workspace, secret_id, version)
);

-- The ledger: what each secret delivered from a state on (version 0: not
-- delivered any more). It outlives pruned versions and destroyed secrets,
-- so that an inject event, which records only its state, still says which
-- versions and fingerprints it delivered.
CREATE TABLE {{schema}}.ledger (
    workspace text COLLATE "C" NOT NULL,
    secret_id text COLLATE "C" NOT NULL,
    state       bigint NOT NULL,
    at          timestamptz NOT NULL,
    name text COLLATE "C" NOT NULL,
    version     bigint NOT NULL,
    write_only  boolean NOT NULL,
    fingerprint bytea,
    PRIMARY KEY (workspace, secret_id, state)
);
CREATE INDEX ledger_fingerprint ON {{schema}}.ledger (fingerprint) WHERE fingerprint IS NOT NULL;
-- No index on at: only Purge reads by it, and scans the ledger once per
-- run instead; a BRIN index here cost every Set about 1.5%.

-- One row an event. Inject and export events record the state they read
-- (and in names the subset a job asked for, NULL for all); other events
-- the secrets they touched, as parallel arrays (an empty fingerprint
-- means none).
CREATE TABLE {{schema}}.audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    workspace text COLLATE "C" NOT NULL,
    state        bigint NOT NULL DEFAULT 0,
    names        text[],
    versions     bigint[],
    fingerprints bytea[],
    outcome      text NOT NULL,
    detail       text NOT NULL
);
CREATE INDEX audit_workspace ON {{schema}}.audit (workspace, id);
CREATE INDEX audit_actor ON {{schema}}.audit (actor, id);
-- Events arrive in time order, so a BRIN index serves time ranges at
-- almost no cost per insert.
CREATE INDEX audit_at ON {{schema}}.audit USING brin (at);

-- lock_workspace serializes the writes to one workspace, across every
-- replica, until the transaction ends, and returns its row (creating it
-- the first time). Each later statement of the caller takes a fresh
-- snapshot (READ COMMITTED), so it sees every write committed before the
-- lock was granted.
CREATE FUNCTION {{schema}}.lock_workspace(p_workspace text, OUT total bigint, OUT state bigint, OUT key_gen bigint)
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'writes need READ COMMITTED' USING ERRCODE = 'SC010';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('{{schema}}'), hashtext(p_workspace));
    SELECT w.env_size, w.state, w.key_gen INTO total, state, key_gen
        FROM {{schema}}.workspaces w WHERE w.workspace = p_workspace;
    IF NOT FOUND THEN
        INSERT INTO {{schema}}.workspaces (workspace) VALUES (p_workspace) ON CONFLICT DO NOTHING;
        total := 0; state := 0; key_gen := 0;
    END IF;
END
$fn$;

-- put_key stores a workspace key if it is at generation p_expect (0: none
-- yet), and returns its new generation. SC002 otherwise.
CREATE FUNCTION {{schema}}.put_key(
    p_workspace text, p_cipher_id text, p_wrapped bytea, p_updated timestamptz, p_expect bigint
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    w   record;
    gen bigint;
BEGIN
    w := {{schema}}.lock_workspace(p_workspace);
    IF w.key_gen <> p_expect THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
    END IF;
    gen := nextval('{{schema}}.states');
    IF p_expect = 0 THEN
        INSERT INTO {{schema}}.workspace_keys (workspace, cipher_id, wrapped, generation, updated)
            VALUES (p_workspace, p_cipher_id, p_wrapped, gen, p_updated);
    ELSE
        UPDATE {{schema}}.workspace_keys
            SET cipher_id = p_cipher_id, wrapped = p_wrapped, generation = gen, updated = p_updated
            WHERE workspace = p_workspace;
    END IF;
    UPDATE {{schema}}.workspaces SET key_gen = gen WHERE workspace = p_workspace;
    RETURN gen;
END
$fn$;

-- add_master_key registers a master key; with p_first, only on a store
-- with no master key and no workspace key (SC002 otherwise). SC001 if the
-- ID is registered already.
CREATE FUNCTION {{schema}}.add_master_key(p_id text, p_check bytea, p_added timestamptz, p_first boolean)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('{{schema}}/master-keys'));
    IF EXISTS (SELECT 1 FROM {{schema}}.master_keys WHERE cipher_id = p_id) THEN
        RAISE EXCEPTION 'master key registered' USING ERRCODE = 'SC001';
    END IF;
    IF p_first AND (EXISTS (SELECT 1 FROM {{schema}}.master_keys) OR EXISTS (SELECT 1 FROM {{schema}}.workspace_keys)) THEN
        RAISE EXCEPTION 'not a first start' USING ERRCODE = 'SC002';
    END IF;
    INSERT INTO {{schema}}.master_keys (cipher_id, check_value, added) VALUES (p_id, p_check, p_added);
END
$fn$;

-- put_secret applies one write (see secrets.Write). With p_single it is
-- the whole statement of a single write: it locks the workspace, reads its
-- row together with the secret's, and writes the workspace's new size and
-- state back. Without, the caller (put_batch) holds the lock and passes the
-- workspace's size, state and key generation in, and writes them back once
-- for a run of writes (a row updated many times in one transaction costs a
-- longer chain of row versions on every later update). The new entry and
-- its current version come as parameters; p_rs_* re-encrypt every retained
-- version (a rename or a flag change), as arrays in version order, or are
-- NULL.
--
-- Every Set runs this function, so it calls no other function and reads
-- the workspace's row and the secret's in one statement (the nested calls
-- and separate reads it replaced took about 8% of its time), and keeps
-- each condition that needs a query out of expressions that PL/pgSQL can
-- evaluate without one (see the name check): a new value for a live
-- secret runs seven statements.
CREATE FUNCTION {{schema}}.put_secret(
    p_single boolean, INOUT total bigint, INOUT state bigint, INOUT key_gen bigint,
    p_workspace text, p_secret_id text, p_expect bigint, p_new_version boolean, p_destroy boolean,
    p_check boolean, p_key_gen bigint, p_keep bigint, p_max_env bigint,
    p_name text, p_revision bigint, p_created timestamptz, p_created_by text,
    p_updated timestamptz, p_updated_by text, p_description text, p_expires timestamptz,
    p_rotate_by timestamptz, p_deleted timestamptz, p_deleted_by text,
    p_version bigint, p_flags smallint, p_format smallint, p_ciphertext bytea, p_key_id bigint,
    p_env_size bigint, p_fingerprint bytea, p_written timestamptz, p_written_by text,
    p_rs_versions bigint[], p_rs_names text[], p_rs_flags smallint[], p_rs_formats smallint[],
    p_rs_cts bytea[], p_rs_key_ids bigint[], p_rs_env bigint[]
) LANGUAGE plpgsql AS $fn$
DECLARE
    found_cur  boolean;
    c_revision bigint;
    c_deleted  timestamptz;
    c_name_key text;
    c_name     text;
    c_version  bigint;
    c_flags    smallint;
    c_env_size bigint;
    before     bigint;
    start      bigint;
    v          {{schema}}.versions%ROWTYPE;
BEGIN
    IF p_single THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'writes need READ COMMITTED' USING ERRCODE = 'SC010';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtext('{{schema}}'), hashtext(p_workspace));
        -- A workspace without a row has no secret either.
        SELECT w.env_size, w.state, w.key_gen, s.secret_id IS NOT NULL,
                s.revision, s.deleted, s.name_key, s.name, s.version, s.flags, s.env_size
            INTO total, state, key_gen, found_cur, c_revision, c_deleted, c_name_key, c_name, c_version, c_flags, c_env_size
            FROM {{schema}}.workspaces w
            LEFT JOIN {{schema}}.secrets s ON s.workspace = w.workspace AND s.secret_id = p_secret_id
            WHERE w.workspace = p_workspace;
        IF NOT FOUND THEN
            INSERT INTO {{schema}}.workspaces (workspace) VALUES (p_workspace) ON CONFLICT DO NOTHING;
            total := 0; state := 0; key_gen := 0; found_cur := false;
        END IF;
    ELSE
        SELECT s.revision, s.deleted, s.name_key, s.name, s.version, s.flags, s.env_size
            INTO c_revision, c_deleted, c_name_key, c_name, c_version, c_flags, c_env_size
            FROM {{schema}}.secrets s WHERE s.workspace = p_workspace AND s.secret_id = p_secret_id;
        found_cur := FOUND;
    END IF;
    before := total;
    start := state;

    IF p_key_gen > 0 AND p_key_gen <> key_gen THEN
        RAISE EXCEPTION 'key changed' USING ERRCODE = 'SC005';
    END IF;
    IF p_expect = 0 THEN
        IF found_cur OR p_destroy OR p_check OR p_revision <> 1 OR NOT p_new_version OR p_version <> 1 THEN
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
        IF EXISTS (SELECT 1 FROM {{schema}}.secrets WHERE workspace = p_workspace AND name_key = lower(p_name)) THEN
            RAISE EXCEPTION 'name taken' USING ERRCODE = 'SC001';
        END IF;
    ELSE
        IF NOT found_cur THEN
            RAISE EXCEPTION 'no such secret' USING ERRCODE = 'SC003';
        END IF;
        IF c_revision <> p_expect THEN
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
    END IF;
    IF p_check THEN
        RETURN;
    END IF;

    IF p_destroy THEN
        DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace AND secret_id = p_secret_id;
        DELETE FROM {{schema}}.versions WHERE workspace = p_workspace AND secret_id = p_secret_id;
        IF c_deleted IS NULL THEN
            total := total - c_env_size;
            INSERT INTO {{schema}}.ledger AS l (workspace, secret_id, state, at, name, version, write_only, fingerprint)
                VALUES (p_workspace, p_secret_id, nextval('{{schema}}.states'), p_updated, c_name, 0, false, NULL)
                RETURNING l.state INTO state;
        END IF;
    ELSE
        IF found_cur THEN
            IF p_revision <> p_expect + 1 OR p_version <> c_version + (CASE WHEN p_new_version THEN 1 ELSE 0 END) THEN
                RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
            END IF;
            -- Two IFs: the first is a simple expression; one with the
            -- subquery would be planned afresh on every call.
            IF lower(p_name) <> c_name_key THEN
                IF EXISTS (SELECT 1 FROM {{schema}}.secrets WHERE workspace = p_workspace AND name_key = lower(p_name)) THEN
                    RAISE EXCEPTION 'name taken' USING ERRCODE = 'SC001';
                END IF;
            END IF;
        END IF;

        IF p_rs_versions IS NOT NULL THEN
            IF p_rs_versions IS DISTINCT FROM (SELECT array_agg(x.version ORDER BY x.version) FROM {{schema}}.versions x
                    WHERE x.workspace = p_workspace AND x.secret_id = p_secret_id) THEN
                RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
            END IF;
            UPDATE {{schema}}.versions x SET name = u.name, flags = u.flags, format = u.format, ciphertext = u.ct,
                    key_id = u.kid, env_size = u.env
                FROM unnest(p_rs_versions, p_rs_names, p_rs_flags, p_rs_formats, p_rs_cts, p_rs_key_ids, p_rs_env)
                    AS u(version, name, flags, format, ct, kid, env)
                WHERE x.workspace = p_workspace AND x.secret_id = p_secret_id AND x.version = u.version;
        END IF;

        -- The current version: the new one, the re-encrypted one, or the
        -- stored one (never the caller's copy, which a concurrent rotation
        -- may have re-encrypted since it was read).
        IF p_new_version THEN
            v.version := p_version; v.flags := p_flags; v.format := p_format; v.ciphertext := p_ciphertext;
            v.key_id := p_key_id; v.env_size := p_env_size; v.fingerprint := p_fingerprint;
            v.written := p_written; v.written_by := p_written_by;
        ELSE
            SELECT * INTO v FROM {{schema}}.versions
                WHERE workspace = p_workspace AND secret_id = p_secret_id AND version = p_version;
        END IF;
        total := total - (CASE WHEN found_cur AND c_deleted IS NULL THEN c_env_size ELSE 0 END)
                       + (CASE WHEN p_deleted IS NULL THEN v.env_size ELSE 0 END);
        IF p_max_env > 0 AND total > p_max_env AND total > before THEN
            RAISE EXCEPTION 'environment budget' USING ERRCODE = 'SC004';
        END IF;

        IF p_new_version THEN
            INSERT INTO {{schema}}.versions (workspace, secret_id, version, name, flags, format, ciphertext, key_id,
                    env_size, fingerprint, written, written_by)
                VALUES (p_workspace, p_secret_id, p_version, p_name, p_flags, p_format, p_ciphertext, p_key_id,
                    p_env_size, p_fingerprint, p_written, p_written_by);
            IF p_version > greatest(p_keep, 1) THEN
                DELETE FROM {{schema}}.versions
                    WHERE workspace = p_workspace AND secret_id = p_secret_id AND version <= p_version - greatest(p_keep, 1);
            END IF;
        END IF;

        IF found_cur THEN
            UPDATE {{schema}}.secrets SET name_key = lower(p_name), name = p_name, revision = p_revision,
                    updated = p_updated, updated_by = p_updated_by, description = p_description,
                    expires = p_expires, rotate_by = p_rotate_by, deleted = p_deleted, deleted_by = p_deleted_by,
                    version = v.version, flags = v.flags, format = v.format, ciphertext = v.ciphertext,
                    key_id = v.key_id, env_size = v.env_size, fingerprint = v.fingerprint,
                    written = v.written, written_by = v.written_by
                WHERE workspace = p_workspace AND secret_id = p_secret_id;
        ELSE
            INSERT INTO {{schema}}.secrets (workspace, secret_id, name_key, name, revision, created, created_by,
                    updated, updated_by, description, expires, rotate_by, deleted, deleted_by,
                    version, flags, format, ciphertext, key_id, env_size, fingerprint, written, written_by)
                VALUES (p_workspace, p_secret_id, lower(p_name), p_name, p_revision, p_created, p_created_by,
                    p_updated, p_updated_by, p_description, p_expires, p_rotate_by, p_deleted, p_deleted_by,
                    v.version, v.flags, v.format, v.ciphertext, v.key_id, v.env_size, v.fingerprint, v.written, v.written_by);
        END IF;

        -- A ledger entry when what a job would receive changed.
        IF NOT found_cur OR (c_deleted IS NULL) <> (p_deleted IS NULL) OR (p_deleted IS NULL AND
                (c_name <> p_name OR c_version <> v.version OR c_flags <> v.flags)) THEN
            INSERT INTO {{schema}}.ledger AS l (workspace, secret_id, state, at, name, version, write_only, fingerprint)
                VALUES (p_workspace, p_secret_id, nextval('{{schema}}.states'), p_updated, p_name,
                    CASE WHEN p_deleted IS NULL THEN v.version ELSE 0 END,
                    p_deleted IS NULL AND v.flags & 1 = 1,
                    CASE WHEN p_deleted IS NULL THEN v.fingerprint END)
                RETURNING l.state INTO state;
        END IF;
    END IF;

    IF p_single AND (total <> before OR state <> start) THEN
        UPDATE {{schema}}.workspaces SET env_size = total, state = put_secret.state WHERE workspace = p_workspace;
    END IF;
END
$fn$;

-- put_batch applies a batch of writes (a JSON array of objects with the
-- parameters of put_secret, without re-encryptions; ciphertexts and
-- fingerprints in base64), in order, and returns the state of the last
-- write's workspace. Each workspace's row is written once per run of its
-- writes.
CREATE FUNCTION {{schema}}.put_batch(p_writes jsonb) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    r     record;
    w     record;
    a     record;
    ws    text;
    total bigint;
    st    bigint;
    start bigint;
    sz    bigint;
BEGIN
    FOR r IN SELECT x.* FROM jsonb_array_elements(p_writes) WITH ORDINALITY AS e(j, i),
            jsonb_to_record(e.j) AS x(workspace text, secret_id text, expect bigint, new_version boolean,
                destroy boolean, "check" boolean, key_gen bigint, keep bigint, max_env bigint, name text,
                revision bigint, created timestamptz, created_by text, updated timestamptz, updated_by text,
                description text, expires timestamptz, rotate_by timestamptz, deleted timestamptz, deleted_by text,
                version bigint, flags smallint, format smallint, ciphertext text, key_id bigint, env_size bigint,
                fingerprint text, written timestamptz, written_by text)
            ORDER BY e.i
    LOOP
        IF ws IS DISTINCT FROM r.workspace THEN
            IF ws IS NOT NULL AND (total <> sz OR st <> start) THEN
                UPDATE {{schema}}.workspaces SET env_size = total, state = st WHERE workspace = ws;
            END IF;
            ws := r.workspace;
            w := {{schema}}.lock_workspace(ws);
            total := w.total; st := w.state; sz := w.total; start := w.state;
        END IF;
        a := {{schema}}.put_secret(false, total, st, w.key_gen,
            r.workspace, r.secret_id, r.expect, r.new_version, r.destroy, r."check", r.key_gen, r.keep, r.max_env,
            r.name, r.revision, r.created, r.created_by, r.updated, r.updated_by, r.description, r.expires,
            r.rotate_by, r.deleted, r.deleted_by, r.version, r.flags, r.format, decode(r.ciphertext, 'base64'),
            r.key_id, r.env_size, decode(r.fingerprint, 'base64'), r.written, r.written_by,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        total := a.total; st := a.state;
    END LOOP;
    IF ws IS NOT NULL AND (total <> sz OR st <> start) THEN
        UPDATE {{schema}}.workspaces SET env_size = total, state = st WHERE workspace = ws;
    END IF;
    RETURN st;
END
$fn$;

-- reencrypt replaces ciphertexts in place (past versions and the current
-- copy) where they are still under the key p_from and the format
-- p_from_formats, and returns how many versions it changed; SC005 if the
-- key moved on.
CREATE FUNCTION {{schema}}.reencrypt(
    p_workspace text, p_key_gen bigint, p_secret_ids text[], p_versions bigint[], p_from bigint[],
    p_from_formats smallint[], p_ciphertexts bytea[], p_key_ids bigint[], p_formats smallint[]
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    w record;
    n bigint;
BEGIN
    w := {{schema}}.lock_workspace(p_workspace);
    IF p_key_gen <> w.key_gen THEN
        RAISE EXCEPTION 'key changed' USING ERRCODE = 'SC005';
    END IF;
    UPDATE {{schema}}.versions v SET ciphertext = u.ct, key_id = u.kid, format = u.fmt
        FROM unnest(p_secret_ids, p_versions, p_from, p_from_formats, p_ciphertexts, p_key_ids, p_formats)
            AS u(sid, ver, frm, ffmt, ct, kid, fmt)
        WHERE v.workspace = p_workspace AND v.secret_id = u.sid AND v.version = u.ver
          AND v.key_id = u.frm AND v.format = u.ffmt;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE {{schema}}.secrets s SET ciphertext = u.ct, key_id = u.kid, format = u.fmt
        FROM unnest(p_secret_ids, p_versions, p_from, p_from_formats, p_ciphertexts, p_key_ids, p_formats)
            AS u(sid, ver, frm, ffmt, ct, kid, fmt)
        WHERE s.workspace = p_workspace AND s.secret_id = u.sid AND s.version = u.ver
          AND s.key_id = u.frm AND s.format = u.ffmt;
    RETURN n;
END
$fn$;

-- delete_workspace removes a workspace's secrets, versions and key; the
-- ledger marks its live secrets as no longer delivered. Returns the final
-- state.
CREATE FUNCTION {{schema}}.delete_workspace(p_workspace text, p_at timestamptz) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    w         record;
    new_state bigint;
BEGIN
    w := {{schema}}.lock_workspace(p_workspace);
    new_state := nextval('{{schema}}.states');
    INSERT INTO {{schema}}.ledger (workspace, secret_id, state, at, name, version, write_only, fingerprint)
        SELECT workspace, secret_id, new_state, p_at, name, 0, false, NULL
        FROM {{schema}}.secrets WHERE workspace = p_workspace AND deleted IS NULL;
    DELETE FROM {{schema}}.versions WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspace_keys WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspaces WHERE workspace = p_workspace;
    RETURN new_state;
END
$fn$;

-- delivered is what a delivering event (inject, export) at state p_state
-- received: for each secret, its ledger entry current at that state, if
-- delivered (an export leaves write-only secrets out), restricted to the
-- names p_names (ignoring case) unless it is NULL.
CREATE FUNCTION {{schema}}.delivered(p_workspace text, p_state bigint, p_action text, p_names text[])
RETURNS TABLE (name text, version bigint, fingerprint bytea) LANGUAGE sql STABLE AS $fn$
    SELECT l.name, l.version, l.fingerprint FROM (
        SELECT DISTINCT ON (x.secret_id) x.name, x.version, x.write_only, x.fingerprint
        FROM {{schema}}.ledger x
        WHERE x.workspace = p_workspace AND x.state <= p_state
        ORDER BY x.secret_id, x.state DESC) l
    WHERE l.version > 0 AND (p_action <> 'export' OR NOT l.write_only)
      AND (p_names IS NULL OR lower(l.name) IN (SELECT lower(n) FROM unnest(p_names) n))
$fn$;
