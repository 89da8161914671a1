-- Version 4: each version keeps the audit fingerprint of its value
-- (computed by the Manager at write time, with its audit key), so that
-- EnvFor can read the values and record its audit event, fingerprints
-- included, in one statement.

ALTER TABLE {{schema}}.secrets ADD COLUMN fingerprint bytea;
ALTER TABLE {{schema}}.versions ADD COLUMN fingerprint bytea;

DROP FUNCTION {{schema}}.put_version(text, text, text, text, bigint, bytea, bigint, bigint,
    timestamptz, text, timestamptz, text, bigint, bigint, bigint, bigint,
    text, timestamptz, timestamptz, boolean);

CREATE FUNCTION {{schema}}.put_version(
    p_workspace text, p_secret_id text, p_name text, p_name_key text,
    p_version bigint, p_ciphertext bytea, p_key_id bigint, p_env_size bigint,
    p_created timestamptz, p_created_by text, p_updated timestamptz, p_updated_by text,
    p_expect bigint, p_keep bigint, p_max_env bigint, p_key_revision bigint,
    p_description text, p_expires timestamptz, p_rotate_by timestamptz, p_write_only boolean,
    p_fingerprint bytea
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
    UPDATE {{schema}}.workspaces SET env_size = total WHERE workspace = p_workspace;
END
$fn$;
