-- Version 2: key rotation. Writes carry the key revision they were
-- encrypted under, so a replica holding a rotated-away keyset cannot add
-- ciphertext under a retiring key; key updates take the workspace's row
-- lock, like writes, so the two are serialized.

DROP FUNCTION {{schema}}.put_version(text, text, text, text, bigint, bytea, bigint, bigint,
    timestamptz, text, timestamptz, text, bigint, bigint, bigint);

-- SC005: the workspace key is no longer at the revision the write used.
CREATE FUNCTION {{schema}}.put_version(
    p_workspace text, p_secret_id text, p_name text, p_name_key text,
    p_version bigint, p_ciphertext bytea, p_key_id bigint, p_env_size bigint,
    p_created timestamptz, p_created_by text, p_updated timestamptz, p_updated_by text,
    p_expect bigint, p_keep bigint, p_max_env bigint, p_key_revision bigint
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    total bigint;
    cur   {{schema}}.secrets%ROWTYPE;
BEGIN
    INSERT INTO {{schema}}.workspaces AS w (workspace) VALUES (p_workspace)
        ON CONFLICT (workspace) DO UPDATE SET env_size = w.env_size
        RETURNING w.env_size INTO total;
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
                key_id, env_size, created, created_by, updated, updated_by)
            VALUES (p_workspace, p_secret_id, p_name_key, 1, p_name, p_ciphertext,
                p_key_id, p_env_size, p_created, p_created_by, p_updated, p_updated_by);
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
                created = p_created, created_by = p_created_by, updated = p_updated, updated_by = p_updated_by
            WHERE workspace = p_workspace AND secret_id = p_secret_id;
        total := total - cur.env_size + p_env_size;
    END IF;
    IF p_max_env > 0 AND total > p_max_env THEN
        RAISE EXCEPTION 'environment budget' USING ERRCODE = 'SC004';
    END IF;
    INSERT INTO {{schema}}.versions (workspace, secret_id, version, name, ciphertext, key_id,
            env_size, created, created_by, updated, updated_by)
        VALUES (p_workspace, p_secret_id, p_version, p_name, p_ciphertext, p_key_id,
            p_env_size, p_created, p_created_by, p_updated, p_updated_by);
    DELETE FROM {{schema}}.versions
        WHERE workspace = p_workspace AND secret_id = p_secret_id
          AND version <= p_version - greatest(p_keep, 1);
    UPDATE {{schema}}.workspaces SET env_size = total WHERE workspace = p_workspace;
END
$fn$;

-- put_key stores a workspace key if it is at revision p_expect (0: none
-- yet), under the workspace's row lock. SC002 otherwise.
CREATE FUNCTION {{schema}}.put_key(
    p_workspace text, p_cipher_id text, p_wrapped bytea, p_updated timestamptz, p_expect bigint
) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO {{schema}}.workspaces AS w (workspace) VALUES (p_workspace)
        ON CONFLICT (workspace) DO UPDATE SET env_size = w.env_size;
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

-- reencrypt replaces ciphertexts in place (past versions and the current
-- copy) where they are still under the key p_from. It returns how many
-- versions it changed; SC005 if the key moved on.
CREATE FUNCTION {{schema}}.reencrypt(
    p_workspace text, p_key_revision bigint,
    p_secret_ids text[], p_versions bigint[], p_from bigint[], p_ciphertexts bytea[], p_key_ids bigint[]
) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    n bigint;
BEGIN
    INSERT INTO {{schema}}.workspaces AS w (workspace) VALUES (p_workspace)
        ON CONFLICT (workspace) DO UPDATE SET env_size = w.env_size;
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

-- delete_workspace removes a workspace's secrets, versions and key.
CREATE FUNCTION {{schema}}.delete_workspace(p_workspace text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM 1 FROM {{schema}}.workspaces WHERE workspace = p_workspace FOR UPDATE;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspace_keys WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspaces WHERE workspace = p_workspace;
END
$fn$;
