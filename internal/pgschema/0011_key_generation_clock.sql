-- A workspace key's generation is never one a running replica may hold
-- for another key, also after the database is restored.
--
-- put_key took the generation from the states sequence. A restore
-- (pg_restore, a point-in-time recovery) sets the sequence back, so the
-- first rotation after it could be given the very number a rotation after
-- the backup had been given, for another key; a replica that still had
-- that key cached (up to KeyCacheTTL) saw its number match and wrote under
-- a key the database no longer holds: acknowledged values no one could
-- read again (an SRE trial). Writes compare only the number (p_key_gen).
--
-- The generation is now the database clock in microseconds, or one more
-- than the workspace's last generation if the clock is not past it: it
-- still only grows within a workspace (what the replicas compare), and a
-- generation given after a restore is later than every one given before
-- it unless the server's clock went back across the restore.
--
-- The same signature and result: a replica of the previous release calls
-- this one.
CREATE OR REPLACE FUNCTION {{schema}}.put_key(
    p_workspace text, p_cipher_id text, p_wrapped bytea, p_updated timestamptz, p_expect bigint
) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    w   record;
    gen bigint;
BEGIN
    w := {{schema}}.lock_workspace(p_workspace);
    IF w.key_gen <> p_expect THEN
        RAISE EXCEPTION 'conflict' USING ERRCODE = 'SC002';
    END IF;
    gen := greatest((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, w.key_gen + 1);
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
