-- env_audited, as migration 6 made it, but a read audited durably (not
-- p_relaxed) commits its event with synchronous_commit on when the
-- session has it off or local (a role's or a database's setting), so that
-- the event is flushed, and on a synchronous standby, before any value is
-- returned, as the audit modes promise (a trial: with it off for the role,
-- EnvFor returned values whose events a crash then lost). remote_write
-- and remote_apply are kept. The store's other statements that commit
-- writes and events do the same themselves (queries.sql).
--
-- The same signature and rows: a replica of the previous release calls
-- this one, and gets the same answers.
CREATE OR REPLACE FUNCTION {{schema}}.env_audited(p_workspace text, p_names text[], p_relaxed boolean,
    p_at timestamptz, p_actor text, p_action text, p_outcome text, p_detail text)
RETURNS TABLE (secret_id text, name text, packed bigint, ciphertext bytea, expires timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_relaxed THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    ELSIF current_setting('synchronous_commit') IN ('off', 'local') THEN
        PERFORM set_config('synchronous_commit', 'on', true);
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
