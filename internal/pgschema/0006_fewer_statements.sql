-- Version 6: fewer statements per write, measured. The check-and-set and
-- the update of the secret are one UPDATE; taken names and IDs are left to
-- the unique indexes instead of EXISTS queries; old versions are pruned
-- only once there are more than the secret keeps.

CREATE OR REPLACE FUNCTION {{schema}}.put_version(
    p_workspace text, p_secret_id text, p_name text, p_name_key text,
    p_version bigint, p_ciphertext bytea, p_key_id bigint, p_env_size bigint,
    p_created timestamptz, p_created_by text, p_updated timestamptz, p_updated_by text,
    p_expect bigint, p_keep bigint, p_max_env bigint, p_key_revision bigint,
    p_description text, p_expires timestamptz, p_rotate_by timestamptz, p_write_only boolean,
    p_fingerprint bytea
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    total    bigint;
    before   bigint;
    old_size bigint;
    have     bigint;
BEGIN
    total := {{schema}}.lock_workspace(p_workspace);
    before := total;
    IF p_key_revision > 0 AND p_key_revision IS DISTINCT FROM
            (SELECT revision FROM {{schema}}.workspace_keys WHERE workspace = p_workspace) THEN
        RAISE EXCEPTION 'key changed' USING ERRCODE = 'SC005';
    END IF;
    IF p_expect = 0 THEN
        IF p_version <> 1 THEN
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
        -- A name or ID already taken fails on the unique indexes (23505).
        INSERT INTO {{schema}}.secrets (workspace, secret_id, name_key, version, name, ciphertext,
                key_id, env_size, created, created_by, updated, updated_by,
                description, expires, rotate_by, write_only, fingerprint)
            VALUES (p_workspace, p_secret_id, p_name_key, 1, p_name, p_ciphertext,
                p_key_id, p_env_size, p_created, p_created_by, p_updated, p_updated_by,
                p_description, p_expires, p_rotate_by, p_write_only, p_fingerprint);
        total := total + p_env_size;
    ELSE
        -- Check-and-set and the update in one statement; a new name taken
        -- by another secret fails on the unique index (23505).
        UPDATE {{schema}}.secrets s SET version = p_version, name_key = p_name_key, name = p_name,
                ciphertext = p_ciphertext, key_id = p_key_id, env_size = p_env_size,
                created = p_created, created_by = p_created_by, updated = p_updated, updated_by = p_updated_by,
                description = p_description, expires = p_expires, rotate_by = p_rotate_by, write_only = p_write_only,
                fingerprint = p_fingerprint
            FROM (SELECT env_size FROM {{schema}}.secrets
                  WHERE workspace = p_workspace AND secret_id = p_secret_id) o
            WHERE s.workspace = p_workspace AND s.secret_id = p_secret_id
              AND s.version = p_expect AND p_version = p_expect + 1
            RETURNING o.env_size INTO old_size;
        IF NOT FOUND THEN
            SELECT version INTO have FROM {{schema}}.secrets
                WHERE workspace = p_workspace AND secret_id = p_secret_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no such secret' USING ERRCODE = 'SC003';
            END IF;
            RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
        END IF;
        total := total - old_size + p_env_size;
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
    IF p_version > greatest(p_keep, 1) THEN
        DELETE FROM {{schema}}.versions
            WHERE workspace = p_workspace AND secret_id = p_secret_id
              AND version <= p_version - greatest(p_keep, 1);
    END IF;
    IF total <> before THEN
        UPDATE {{schema}}.workspaces SET env_size = total WHERE workspace = p_workspace;
    END IF;
END
$fn$;
