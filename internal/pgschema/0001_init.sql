-- Version 1 of the secrets schema. {{schema}} is replaced by the quoted
-- schema name the host configured.

-- One row a workspace: serializes writes to the workspace (its row is
-- locked by every write) and keeps the size of its environment.
CREATE TABLE {{schema}}.workspaces (
    workspace text PRIMARY KEY,
    env_size  bigint NOT NULL DEFAULT 0 CHECK (env_size >= 0)
);

-- The workspace's data keyset, wrapped by the master key cipher_id.
CREATE TABLE {{schema}}.workspace_keys (
    workspace text PRIMARY KEY,
    cipher_id text NOT NULL,
    wrapped   bytea NOT NULL,
    revision  bigint NOT NULL CHECK (revision > 0),
    updated   timestamptz NOT NULL
);
-- Re-wrap finds the keys still wrapped by an old master key.
CREATE INDEX workspace_keys_cipher ON {{schema}}.workspace_keys (cipher_id);

-- One row a live secret: a copy of its current version, so that EnvFor and
-- List read one table in name order through secrets_env, with no join
-- (whose plan would depend on fresh statistics). name_key is the name in
-- lower case: unique in the workspace.
CREATE TABLE {{schema}}.secrets (
    workspace  text NOT NULL,
    secret_id  text NOT NULL,
    name_key   text NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    name       text NOT NULL,
    ciphertext bytea NOT NULL,
    key_id     bigint NOT NULL,
    env_size   bigint NOT NULL CHECK (env_size >= 0),
    created    timestamptz NOT NULL,
    created_by text NOT NULL,
    updated    timestamptz NOT NULL,
    updated_by text NOT NULL,
    PRIMARY KEY (workspace, secret_id),
    UNIQUE (workspace, name_key)
);
CREATE INDEX secrets_env ON {{schema}}.secrets (workspace, name COLLATE "C");
-- Data-key rotation finds the current versions still under an old key.
CREATE INDEX secrets_key ON {{schema}}.secrets (workspace, key_id);

-- Every retained version, the current one included: ciphertext and
-- metadata, never a value.
CREATE TABLE {{schema}}.versions (
    workspace  text NOT NULL,
    secret_id  text NOT NULL,
    version    bigint NOT NULL,
    name       text NOT NULL,
    ciphertext bytea NOT NULL,
    key_id     bigint NOT NULL,
    env_size   bigint NOT NULL,
    created    timestamptz NOT NULL,
    created_by text NOT NULL,
    updated    timestamptz NOT NULL,
    updated_by text NOT NULL,
    PRIMARY KEY (workspace, secret_id, version),
    FOREIGN KEY (workspace, secret_id) REFERENCES {{schema}}.secrets ON DELETE CASCADE
);
-- Data-key rotation finds the versions still encrypted by an old key.
CREATE INDEX versions_key ON {{schema}}.versions (workspace, key_id);

-- put_version adds a version in one statement (one round trip), under the
-- workspace's row lock. Its errors carry SQLSTATEs of class SC, which the
-- Go store maps to its sentinel errors:
--   SC001 name taken, SC002 check-and-set conflict, SC003 no such secret,
--   SC004 over the environment budget.
CREATE FUNCTION {{schema}}.put_version(
    p_workspace text, p_secret_id text, p_name text, p_name_key text,
    p_version bigint, p_ciphertext bytea, p_key_id bigint, p_env_size bigint,
    p_created timestamptz, p_created_by text, p_updated timestamptz, p_updated_by text,
    p_expect bigint, p_keep bigint, p_max_env bigint
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    total bigint;
    cur   {{schema}}.secrets%ROWTYPE;
BEGIN
    INSERT INTO {{schema}}.workspaces AS w (workspace) VALUES (p_workspace)
        ON CONFLICT (workspace) DO UPDATE SET env_size = w.env_size
        RETURNING w.env_size INTO total;
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

-- delete_secret removes a secret and its versions if it is at p_expect.
CREATE FUNCTION {{schema}}.delete_secret(p_workspace text, p_secret_id text, p_expect bigint)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    cur {{schema}}.secrets%ROWTYPE;
BEGIN
    INSERT INTO {{schema}}.workspaces AS w (workspace) VALUES (p_workspace)
        ON CONFLICT (workspace) DO UPDATE SET env_size = w.env_size;
    SELECT * INTO cur FROM {{schema}}.secrets
        WHERE workspace = p_workspace AND secret_id = p_secret_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such secret' USING ERRCODE = 'SC003';
    END IF;
    IF cur.version <> p_expect THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
    END IF;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace AND secret_id = p_secret_id;
    UPDATE {{schema}}.workspaces SET env_size = env_size - cur.env_size WHERE workspace = p_workspace;
END
$fn$;
