-- Version 5: cheaper writes, measured: a write took its workspace's row
-- lock by updating the row (a new tuple and WAL each time, twice per
-- write), and every version row took a foreign-key lock on its secret.
-- Writes now serialize on a transaction-scoped advisory lock (no WAL),
-- update the workspace row only when the environment's size changes, and
-- keep versions consistent with their secret in these functions instead of
-- by a foreign key. Lower fill factors leave room for HOT updates, which
-- touch no index.

ALTER TABLE {{schema}}.versions DROP CONSTRAINT IF EXISTS versions_workspace_secret_id_fkey;
ALTER TABLE {{schema}}.secrets SET (fillfactor = 80);
ALTER TABLE {{schema}}.workspaces SET (fillfactor = 50);

-- lock_workspace serializes the writes to one workspace, across every
-- replica, until the transaction ends, and returns its environment size
-- (creating its row, at 0, the first time).
CREATE FUNCTION {{schema}}.lock_workspace(p_workspace text) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    total bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('{{schema}}'), hashtext(p_workspace));
    SELECT env_size INTO total FROM {{schema}}.workspaces WHERE workspace = p_workspace;
    IF NOT FOUND THEN
        INSERT INTO {{schema}}.workspaces (workspace) VALUES (p_workspace);
        total := 0;
    END IF;
    RETURN total;
END
$fn$;

CREATE OR REPLACE FUNCTION {{schema}}.put_version(
    p_workspace text, p_secret_id text, p_name text, p_name_key text,
    p_version bigint, p_ciphertext bytea, p_key_id bigint, p_env_size bigint,
    p_created timestamptz, p_created_by text, p_updated timestamptz, p_updated_by text,
    p_expect bigint, p_keep bigint, p_max_env bigint, p_key_revision bigint,
    p_description text, p_expires timestamptz, p_rotate_by timestamptz, p_write_only boolean,
    p_fingerprint bytea
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    total  bigint;
    before bigint;
    cur   {{schema}}.secrets%ROWTYPE;
BEGIN
    total := {{schema}}.lock_workspace(p_workspace);
    before := total;
    IF p_key_revision > 0 AND p_key_revision IS DISTINCT FROM
            (SELECT revision FROM {{schema}}.workspace_keys WHERE workspace = p_workspace) THEN
        RAISE EXCEPTION 'key changed' USING ERRCODE = 'SC005';
    END IF;
    IF p_expect = 0 THEN
        IF EXISTS (SELECT 1 FROM {{schema}}.secrets
                   WHERE workspace = p_workspace AND name_key = p_name_key) THEN
            RAISE EXCEPTION 'name taken' USING ERRCODE = 'SC001';
        END IF;
        IF p_version <> 1 OR EXISTS (SELECT 1 FROM {{schema}}.secrets
                   WHERE workspace = p_workspace AND secret_id = p_secret_id) THEN
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
        INSERT INTO {{schema}}.secrets (workspace, secret_id, name_key, version, name, ciphertext,
                key_id, env_size, created, created_by, updated, updated_by,
                description, expires, rotate_by, write_only, fingerprint)
            VALUES (p_workspace, p_secret_id, p_name_key, 1, p_name, p_ciphertext,
                p_key_id, p_env_size, p_created, p_created_by, p_updated, p_updated_by,
                p_description, p_expires, p_rotate_by, p_write_only, p_fingerprint);
        total := total + p_env_size;
    ELSE
        SELECT * INTO cur FROM {{schema}}.secrets
            WHERE workspace = p_workspace AND secret_id = p_secret_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no such secret' USING ERRCODE = 'SC003';
        END IF;
        IF cur.version <> p_expect OR p_version <> p_expect + 1 THEN
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
        IF cur.name_key <> p_name_key AND EXISTS (SELECT 1 FROM {{schema}}.secrets
                   WHERE workspace = p_workspace AND name_key = p_name_key) THEN
            RAISE EXCEPTION 'name taken' USING ERRCODE = 'SC001';
        END IF;
        UPDATE {{schema}}.secrets SET version = p_version, name_key = p_name_key, name = p_name,
                ciphertext = p_ciphertext, key_id = p_key_id, env_size = p_env_size,
                created = p_created, created_by = p_created_by, updated = p_updated, updated_by = p_updated_by,
                description = p_description, expires = p_expires, rotate_by = p_rotate_by, write_only = p_write_only,
                fingerprint = p_fingerprint
            WHERE workspace = p_workspace AND secret_id = p_secret_id;
        total := total - cur.env_size + p_env_size;
    END IF;
    IF p_max_env > 0 AND total > p_max_env THEN
        RAISE EXCEPTION 'environment budget' USING ERRCODE = 'SC004';
    END IF;
    INSERT INTO {{schema}}.versions (workspace, secret_id, version, name, ciphertext, key_id,
            env_size, created, created_by, updated, updated_by,
            description, expires, rotate_by, write_only, fingerprint)
        VALUES (p_workspace, p_secret_id, p_version, p_name, p_ciphertext, p_key_id,
            p_env_size, p_created, p_created_by, p_updated, p_updated_by,
            p_description, p_expires, p_rotate_by, p_write_only, p_fingerprint);
    DELETE FROM {{schema}}.versions
        WHERE workspace = p_workspace AND secret_id = p_secret_id
          AND version <= p_version - greatest(p_keep, 1);
    IF total <> before THEN
        UPDATE {{schema}}.workspaces SET env_size = total WHERE workspace = p_workspace;
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION {{schema}}.delete_secret(p_workspace text, p_secret_id text, p_expect bigint)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    cur {{schema}}.secrets%ROWTYPE;
BEGIN
    PERFORM {{schema}}.lock_workspace(p_workspace);
    SELECT * INTO cur FROM {{schema}}.secrets
        WHERE workspace = p_workspace AND secret_id = p_secret_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such secret' USING ERRCODE = 'SC003';
    END IF;
    IF cur.version <> p_expect THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
    END IF;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace AND secret_id = p_secret_id;
    DELETE FROM {{schema}}.versions WHERE workspace = p_workspace AND secret_id = p_secret_id;
    UPDATE {{schema}}.workspaces SET env_size = env_size - cur.env_size WHERE workspace = p_workspace;
END
$fn$;

CREATE OR REPLACE FUNCTION {{schema}}.put_key(
    p_workspace text, p_cipher_id text, p_wrapped bytea, p_updated timestamptz, p_expect bigint
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM {{schema}}.lock_workspace(p_workspace);
    IF p_expect = 0 THEN
        INSERT INTO {{schema}}.workspace_keys (workspace, cipher_id, wrapped, revision, updated)
            VALUES (p_workspace, p_cipher_id, p_wrapped, 1, p_updated)
            ON CONFLICT (workspace) DO NOTHING;
    ELSE
        UPDATE {{schema}}.workspace_keys
            SET cipher_id = p_cipher_id, wrapped = p_wrapped, revision = revision + 1, updated = p_updated
            WHERE workspace = p_workspace AND revision = p_expect;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION {{schema}}.reencrypt(
    p_workspace text, p_key_revision bigint,
    p_secret_ids text[], p_versions bigint[], p_from bigint[], p_ciphertexts bytea[], p_key_ids bigint[]
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
BEGIN
    PERFORM {{schema}}.lock_workspace(p_workspace);
    IF p_key_revision IS DISTINCT FROM
            (SELECT revision FROM {{schema}}.workspace_keys WHERE workspace = p_workspace) THEN
        RAISE EXCEPTION 'key changed' USING ERRCODE = 'SC005';
    END IF;
    UPDATE {{schema}}.versions v SET ciphertext = u.ct, key_id = u.kid
        FROM unnest(p_secret_ids, p_versions, p_from, p_ciphertexts, p_key_ids) AS u(sid, ver, frm, ct, kid)
        WHERE v.workspace = p_workspace AND v.secret_id = u.sid AND v.version = u.ver AND v.key_id = u.frm;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE {{schema}}.secrets s SET ciphertext = u.ct, key_id = u.kid
        FROM unnest(p_secret_ids, p_versions, p_from, p_ciphertexts, p_key_ids) AS u(sid, ver, frm, ct, kid)
        WHERE s.workspace = p_workspace AND s.secret_id = u.sid AND s.version = u.ver AND s.key_id = u.frm;
    RETURN n;
END
$fn$;

CREATE OR REPLACE FUNCTION {{schema}}.delete_workspace(p_workspace text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM {{schema}}.lock_workspace(p_workspace);
    DELETE FROM {{schema}}.versions WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspace_keys WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspaces WHERE workspace = p_workspace;
END
$fn$;
