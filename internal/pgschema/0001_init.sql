-- The secrets schema. {{schema}} is replaced by the quoted name of the
-- schema the host configured. No column holds a value or a key in the
-- clear: values are Tink AEAD ciphertexts, workspace keys are wrapped by
-- the master key, audit rows hold names, versions and keyed fingerprints.
--
-- Writes go through the functions below, each one statement for the
-- client: they serialize per workspace on a transaction-scoped advisory
-- lock and report refusals with SQLSTATEs of class SC, which the Go store
-- maps to its errors:
--   SC002 check-and-set conflict, SC003 no such secret,
--   SC004 over the environment budget, SC005 key revision moved on;
-- a taken name fails on a unique index (23505).

-- One row a workspace: the size of its environment (sum of env_size).
CREATE TABLE {{schema}}.workspaces (
    workspace text PRIMARY KEY,
    env_size  bigint NOT NULL DEFAULT 0 CHECK (env_size >= 0)
) WITH (fillfactor = 50);

-- The workspace's data keyset, wrapped by the master key cipher_id.
-- revision increases with every change (rotation, re-wrap, kill switch);
-- writes carry the revision they encrypted under.
CREATE TABLE {{schema}}.workspace_keys (
    workspace text PRIMARY KEY,
    cipher_id text NOT NULL,
    wrapped   bytea NOT NULL,
    revision  bigint NOT NULL CHECK (revision > 0),
    updated   timestamptz NOT NULL
);
-- Re-wrap finds the keys still wrapped by a former master key.
CREATE INDEX workspace_keys_cipher ON {{schema}}.workspace_keys (cipher_id);

-- One row a live secret: a copy of its current version, so that EnvFor and
-- List read one table in name order through secrets_env, with no join
-- (whose plan would depend on fresh statistics). name_key is the name in
-- lower case: unique in the workspace. The fill factor leaves room for HOT
-- updates, which touch no index.
CREATE TABLE {{schema}}.secrets (
    workspace   text NOT NULL,
    secret_id   text NOT NULL,
    name_key    text NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    name        text NOT NULL,
    ciphertext  bytea NOT NULL,
    key_id      bigint NOT NULL,
    env_size    bigint NOT NULL CHECK (env_size >= 0),
    created     timestamptz NOT NULL,
    created_by  text NOT NULL,
    updated     timestamptz NOT NULL,
    updated_by  text NOT NULL,
    description text NOT NULL DEFAULT '',
    expires     timestamptz,
    rotate_by   timestamptz,
    write_only  boolean NOT NULL DEFAULT false,
    fingerprint bytea,
    PRIMARY KEY (workspace, secret_id),
    UNIQUE (workspace, name_key)
) WITH (fillfactor = 80);
CREATE INDEX secrets_env ON {{schema}}.secrets (workspace, name COLLATE "C");
-- Secrets whose expiry or rotation is coming, across workspaces.
CREATE INDEX secrets_expires ON {{schema}}.secrets (expires) WHERE expires IS NOT NULL;
CREATE INDEX secrets_rotate_by ON {{schema}}.secrets (rotate_by) WHERE rotate_by IS NOT NULL;

-- Every retained version, the current one included. Kept consistent with
-- secrets by the functions (a foreign key would lock the secret's row for
-- every version written).
CREATE TABLE {{schema}}.versions (
    workspace   text NOT NULL,
    secret_id   text NOT NULL,
    version     bigint NOT NULL,
    name        text NOT NULL,
    ciphertext  bytea NOT NULL,
    key_id      bigint NOT NULL,
    env_size    bigint NOT NULL,
    created     timestamptz NOT NULL,
    created_by  text NOT NULL,
    updated     timestamptz NOT NULL,
    updated_by  text NOT NULL,
    description text NOT NULL DEFAULT '',
    expires     timestamptz,
    rotate_by   timestamptz,
    write_only  boolean NOT NULL DEFAULT false,
    fingerprint bytea,
    PRIMARY KEY (workspace, secret_id, version)
);
-- Data-key rotation finds the versions still under an old key by scanning
-- its workspace through the primary key: an index on key_id would cost
-- every write and serve only that inequality.

-- One row an event. names, versions and fingerprints are parallel arrays;
-- an empty fingerprint means none.
CREATE TABLE {{schema}}.audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    workspace    text NOT NULL,
    names        text[] NOT NULL,
    versions     bigint[] NOT NULL,
    fingerprints bytea[] NOT NULL,
    outcome      text NOT NULL,
    detail       text NOT NULL
);
CREATE INDEX audit_workspace ON {{schema}}.audit (workspace, id);
CREATE INDEX audit_actor ON {{schema}}.audit (actor, id);
-- Events arrive in time order, so a BRIN index serves time ranges at
-- almost no cost per insert.
CREATE INDEX audit_at ON {{schema}}.audit USING brin (at);
CREATE INDEX audit_fingerprints ON {{schema}}.audit USING gin (fingerprints);

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

-- put_version adds a version: check-and-set, budget, history pruning.
CREATE FUNCTION {{schema}}.put_version(
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

-- delete_secret removes a secret and its versions if it is at p_expect.
CREATE FUNCTION {{schema}}.delete_secret(p_workspace text, p_secret_id text, p_expect bigint)
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

-- put_key stores a workspace key if it is at revision p_expect (0: none
-- yet). SC002 otherwise.
CREATE FUNCTION {{schema}}.put_key(
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

-- reencrypt replaces ciphertexts in place (past versions and the current
-- copy) where they are still under the key p_from, and returns how many
-- versions it changed; SC005 if the key moved on.
CREATE FUNCTION {{schema}}.reencrypt(
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

-- delete_workspace removes a workspace's secrets, versions and key.
CREATE FUNCTION {{schema}}.delete_workspace(p_workspace text) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM {{schema}}.lock_workspace(p_workspace);
    DELETE FROM {{schema}}.versions WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.secrets WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspace_keys WHERE workspace = p_workspace;
    DELETE FROM {{schema}}.workspaces WHERE workspace = p_workspace;
END
$fn$;
