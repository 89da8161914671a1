-- A workspace stores at most Config.MaxSecrets secrets, live and
-- soft-deleted together: workspaces.secret_count counts its rows of
-- secrets, so that the check costs no count(*) a write. put_secret keeps
-- it (a new overload, with the count passed through as n_secrets and the
-- limit as p_max_secrets, 0 for none) and refuses, under the workspace's
-- lock, a new secret past the limit with
--   SC008 over the workspace's limit on its number of secrets;
-- put_batch, a new overload with the limit as its second argument, checks
-- it once at the end of each workspace's run of writes, so that a batch
-- that destroys as many as it creates passes whatever its order.
-- delete_workspace deletes the row, count included.
--
-- NULL is "not counted yet": the first write of this release to a
-- workspace counts its secrets (under the workspace's lock) and stores
-- the count. The column is not filled here, because a write of the
-- previous release that started before this migration (holding its
-- workspace's lock, waiting for the table) goes on with the previous
-- put_secret after it and adds a secret that a count taken here would
-- miss; the lazy count runs after it, under the same lock. Rows a replica
-- of the previous release makes stay NULL for the same reason (no
-- default).
--
-- The previous signature of put_secret stays, for a replica of the
-- previous release during a rolling upgrade: it calls the new one without
-- a limit, so its writes keep the count too; so does the previous
-- put_batch(jsonb). Both new signatures are what this release calls, so
-- that a replica of it on a schema not yet migrated fails ("call
-- Migrate") rather than write past the limit unchecked.
ALTER TABLE {{schema}}.workspaces ADD COLUMN secret_count bigint;

-- put_secret, as in migration 1, keeping the count.
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
    p_rs_cts bytea[], p_rs_key_ids bigint[], p_rs_env bigint[],
    INOUT n_secrets bigint, p_max_secrets bigint
) LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
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
    before_n   bigint;
    start      bigint;
    v          {{schema}}.versions%ROWTYPE;
BEGIN
    IF p_single THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'writes need READ COMMITTED' USING ERRCODE = 'SC010';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtext('{{schema}}'), hashtext(p_workspace));
        -- A workspace without a row has no secret either.
        SELECT w.env_size, w.state, w.key_gen, w.secret_count, s.secret_id IS NOT NULL,
                s.revision, s.deleted, s.name_key, s.name, s.version, s.flags, s.env_size
            INTO total, state, key_gen, n_secrets, found_cur, c_revision, c_deleted, c_name_key, c_name, c_version, c_flags, c_env_size
            FROM {{schema}}.workspaces w
            LEFT JOIN {{schema}}.secrets s ON s.workspace = w.workspace AND s.secret_id = p_secret_id
            WHERE w.workspace = p_workspace;
        IF NOT FOUND THEN
            INSERT INTO {{schema}}.workspaces (workspace) VALUES (p_workspace) ON CONFLICT DO NOTHING;
            total := 0; state := 0; key_gen := 0; n_secrets := 0; found_cur := false;
        END IF;
    ELSE
        SELECT s.revision, s.deleted, s.name_key, s.name, s.version, s.flags, s.env_size
            INTO c_revision, c_deleted, c_name_key, c_name, c_version, c_flags, c_env_size
            FROM {{schema}}.secrets s WHERE s.workspace = p_workspace AND s.secret_id = p_secret_id;
        found_cur := FOUND;
    END IF;
    before := total;
    before_n := n_secrets;
    IF n_secrets IS NULL THEN
        SELECT count(*) INTO n_secrets FROM {{schema}}.secrets WHERE workspace = p_workspace;
    END IF;
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
        n_secrets := n_secrets - 1;
        IF c_deleted IS NULL THEN
            total := total - c_env_size;
            INSERT INTO {{schema}}.ledger AS l (workspace, secret_id, state, at, name, version, write_only, fingerprint)
                VALUES (p_workspace, p_secret_id, nextval('{{schema}}.states'), p_updated, c_name, 0, false, NULL)
                RETURNING l.state INTO state;
        END IF;
    ELSE
        IF NOT found_cur THEN
            n_secrets := n_secrets + 1;
            -- A run of put_batch checks the count once, at its end.
            IF p_single AND p_max_secrets > 0 AND n_secrets > p_max_secrets THEN
                RAISE EXCEPTION 'secret count' USING ERRCODE = 'SC008';
            END IF;
        END IF;
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

    IF p_single AND (total <> before OR state <> start OR n_secrets IS DISTINCT FROM before_n) THEN
        UPDATE {{schema}}.workspaces SET env_size = total, state = put_secret.state, secret_count = n_secrets
            WHERE workspace = p_workspace;
    END IF;
END
$fn$;

-- The previous signature, for a replica of the previous release.
CREATE OR REPLACE FUNCTION {{schema}}.put_secret(
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
) LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    r := {{schema}}.put_secret(p_single, total, state, key_gen,
        p_workspace, p_secret_id, p_expect, p_new_version, p_destroy, p_check, p_key_gen, p_keep, p_max_env,
        p_name, p_revision, p_created, p_created_by, p_updated, p_updated_by, p_description, p_expires,
        p_rotate_by, p_deleted, p_deleted_by, p_version, p_flags, p_format, p_ciphertext, p_key_id,
        p_env_size, p_fingerprint, p_written, p_written_by,
        p_rs_versions, p_rs_names, p_rs_flags, p_rs_formats, p_rs_cts, p_rs_key_ids, p_rs_env, 0, 0);
    total := r.total; state := r.state; key_gen := r.key_gen;
END
$fn$;

-- put_batch, as in migration 1, keeping the count and checking it at the
-- end of each workspace's run against p_max_secrets (0 for none; n0 is
-- the stored count, NULL if not counted yet; ns the count).
CREATE FUNCTION {{schema}}.put_batch(p_writes jsonb, p_max_secrets bigint) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r     record;
    w     record;
    a     record;
    ws    text;
    total bigint;
    st    bigint;
    start bigint;
    sz    bigint;
    n     bigint;
    n0    bigint;
    ns    bigint;
    lim   bigint;
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
            IF ws IS NOT NULL THEN
                IF lim > 0 AND n > lim AND n > ns THEN
                    RAISE EXCEPTION 'secret count' USING ERRCODE = 'SC008';
                END IF;
                IF total <> sz OR st <> start OR n IS DISTINCT FROM n0 THEN
                    UPDATE {{schema}}.workspaces SET env_size = total, state = st, secret_count = n WHERE workspace = ws;
                END IF;
            END IF;
            ws := r.workspace;
            w := {{schema}}.lock_workspace(ws);
            SELECT x.secret_count INTO n FROM {{schema}}.workspaces x WHERE x.workspace = ws;
            n0 := n;
            IF n IS NULL THEN
                SELECT count(*) INTO n FROM {{schema}}.secrets WHERE workspace = ws;
            END IF;
            ns := n;
            total := w.total; st := w.state; sz := w.total; start := w.state; lim := p_max_secrets;
        END IF;
        a := {{schema}}.put_secret(false, total, st, w.key_gen,
            r.workspace, r.secret_id, r.expect, r.new_version, r.destroy, r."check", r.key_gen, r.keep, r.max_env,
            r.name, r.revision, r.created, r.created_by, r.updated, r.updated_by, r.description, r.expires,
            r.rotate_by, r.deleted, r.deleted_by, r.version, r.flags, r.format, decode(r.ciphertext, 'base64'),
            r.key_id, r.env_size, decode(r.fingerprint, 'base64'), r.written, r.written_by,
            NULL, NULL, NULL, NULL, NULL, NULL, NULL, n, 0);
        total := a.total; st := a.state; n := a.n_secrets;
    END LOOP;
    IF ws IS NOT NULL THEN
        IF lim > 0 AND n > lim AND n > ns THEN
            RAISE EXCEPTION 'secret count' USING ERRCODE = 'SC008';
        END IF;
        IF total <> sz OR st <> start OR n IS DISTINCT FROM n0 THEN
            UPDATE {{schema}}.workspaces SET env_size = total, state = st, secret_count = n WHERE workspace = ws;
        END IF;
    END IF;
    RETURN st;
END
$fn$;

-- The previous signature, for a replica of the previous release: no limit.
CREATE OR REPLACE FUNCTION {{schema}}.put_batch(p_writes jsonb) RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT {{schema}}.put_batch(p_writes, 0)
$fn$;
