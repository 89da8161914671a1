-- A master key can be retired: once the store has moved to a new master
-- key (Rewrap), the former one is marked retired, and from then on no
-- workspace key wrapped by it is stored, so that a replica or a tool
-- still configured with it cannot make workspace keys that replicas
-- without it cannot read. The check is a trigger on workspace_keys, not a
-- change of put_key: a replica of the previous version, which knows
-- nothing of retirement, runs its own put_key and is refused too.
--
-- SQLSTATEs of class SC added here (see 0001_init.sql):
--   SC006 the master key that wraps a workspace key is retired,
--   SC007 a master key that still wraps workspace keys cannot be retired.
ALTER TABLE {{schema}}.master_keys ADD COLUMN retired timestamptz;

-- The trigger locks the master key's row FOR SHARE, which
-- retire_master_key's FOR UPDATE waits for (and the other way round): a
-- workspace key is either stored before the key is retired, and then
-- retire_master_key sees it and refuses, or after, and then it is
-- refused. A cipher_id that is no registered master key passes. It runs
-- as the role that writes (no SECURITY DEFINER): FOR SHARE needs UPDATE on
-- master_keys, which the runtime role of PostgresGrants has, as it has on
-- every table of the schema (TestPostgresRuntimeRoleConformance).
CREATE FUNCTION {{schema}}.workspace_key_master() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r timestamptz;
BEGIN
    SELECT m.retired INTO r FROM {{schema}}.master_keys m WHERE m.cipher_id = NEW.cipher_id FOR SHARE;
    IF r IS NOT NULL THEN
        RAISE EXCEPTION 'master key % is retired', NEW.cipher_id USING ERRCODE = 'SC006';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER workspace_key_master BEFORE INSERT OR UPDATE OF cipher_id, wrapped ON {{schema}}.workspace_keys
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.workspace_key_master();

-- retire_master_key marks the master key p_id retired at p_at and returns
-- true, or returns false if p_id is not registered. SC007 (changing
-- nothing) while a workspace key is wrapped by it. Retiring a retired key
-- keeps its first time.
CREATE FUNCTION {{schema}}.retire_master_key(p_id text, p_at timestamptz)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r timestamptz;
BEGIN
    SELECT m.retired INTO r FROM {{schema}}.master_keys m WHERE m.cipher_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF r IS NOT NULL THEN
        RETURN true;
    END IF;
    -- A new statement, so a new snapshot: it sees every workspace key
    -- whose writer held the row's FOR SHARE lock until it committed.
    IF EXISTS (SELECT 1 FROM {{schema}}.workspace_keys k WHERE k.cipher_id = p_id) THEN
        RAISE EXCEPTION 'master key % still wraps workspace keys', p_id USING ERRCODE = 'SC007';
    END IF;
    UPDATE {{schema}}.master_keys SET retired = p_at WHERE cipher_id = p_id;
    RETURN true;
END
$fn$;
