-- A job's read as functions, so that Postgres plans it once per
-- connection instead of at every job.
--
-- A statement sent as an unnamed statement or a simple query (the store's
-- default, which leaves nothing on a connection a pooler may hand to
-- another client) is parsed and planned each time it runs; the read of a
-- workspace with its header rows and its event is planned in about as
-- long as it takes to run. PL/pgSQL keeps each statement of a function
-- prepared for the session, so a call of one of these costs the planning
-- of a one-line SELECT. They return the rows the store's earlier
-- statements returned, in the same order: a header row for the workspace
-- (or each level) whose secret_id is NULL, name its state and packed its
-- key generation; for an audited read a row "event N"; then the secrets,
-- sorted by name, packed = version<<10 | format<<4 | flags.
--
-- New functions only: a replica of the previous version keeps running its
-- own statements.

-- env_read: one workspace, every scope, unaudited. p_names, when not
-- NULL, keeps the secrets whose variable (the name before any '@',
-- lower-cased) it lists.
CREATE FUNCTION {{schema}}.env_read(p_workspace text, p_names text[])
RETURNS TABLE (secret_id text, name text, packed bigint, ciphertext bytea, expires timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY
    SELECT NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz
    FROM {{schema}}.workspaces w WHERE w.workspace = p_workspace
    UNION ALL
    (SELECT s.secret_id::text, s.name, (s.version::bigint << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
    FROM {{schema}}.secrets s
    WHERE s.workspace = p_workspace AND s.deleted IS NULL
      AND (p_names IS NULL OR split_part(s.name_key, '@', 1) = ANY (p_names))
    ORDER BY s.name COLLATE "C");
END
$fn$;

-- env_audited: what a job without an environment or protection gets of
-- one workspace (no scoped secret, no protected one), and its inject
-- event, recorded in the same statement and snapshot; p_names, when not
-- NULL, keeps the secrets it names (lower-cased). p_relaxed commits the
-- event without waiting for its flush.
CREATE FUNCTION {{schema}}.env_audited(p_workspace text, p_names text[], p_relaxed boolean,
    p_at timestamptz, p_actor text, p_action text, p_outcome text, p_detail text)
RETURNS TABLE (secret_id text, name text, packed bigint, ciphertext bytea, expires timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_relaxed THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    RETURN QUERY
    WITH w AS (SELECT x.state, x.key_gen FROM {{schema}}.workspaces x WHERE x.workspace = p_workspace),
    a AS (INSERT INTO {{schema}}.audit (at, actor, action, workspace, state, names, outcome, detail)
        VALUES (p_at, p_actor, p_action, p_workspace, coalesce((SELECT w.state FROM w), 0), p_names, p_outcome, p_detail)
        RETURNING id)
    SELECT NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz FROM w
    UNION ALL
    SELECT NULL::text, 'event ' || a.id, 0::bigint, NULL::bytea, NULL::timestamptz FROM a
    UNION ALL
    (SELECT s.secret_id::text, s.name, (s.version::bigint << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
    FROM {{schema}}.secrets s
    WHERE s.workspace = p_workspace AND s.deleted IS NULL AND strpos(s.name, '@') = 0 AND s.flags & 4 = 0
      AND (p_names IS NULL OR s.name_key = ANY (p_names))
    ORDER BY s.name COLLATE "C");
END
$fn$;

-- env_levels: a workspace and its parents (p_containers, nearest first)
-- as env_read reads one, each row starting with its level (0 for the
-- workspace); a header row for each level that exists.
CREATE FUNCTION {{schema}}.env_levels(p_containers text[], p_names text[])
RETURNS TABLE (level int, secret_id text, name text, packed bigint, ciphertext bytea, expires timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY
    WITH lv AS NOT MATERIALIZED (SELECT x.c COLLATE "C" AS workspace, (x.o - 1)::int AS level
        FROM unnest(p_containers) WITH ORDINALITY AS x(c, o))
    SELECT lv.level, NULL::text, w.state::text, w.key_gen, NULL::bytea, NULL::timestamptz
    FROM lv JOIN {{schema}}.workspaces w ON w.workspace = lv.workspace
    UNION ALL
    (SELECT lv.level, s.secret_id::text, s.name, (s.version::bigint << 10) | (s.format << 4) | s.flags, s.ciphertext, s.expires
    FROM lv JOIN {{schema}}.secrets s ON s.workspace = lv.workspace AND s.deleted IS NULL
      AND (p_names IS NULL OR split_part(s.name_key, '@', 1) = ANY (p_names))
    ORDER BY lv.level, s.name COLLATE "C");
END
$fn$;
