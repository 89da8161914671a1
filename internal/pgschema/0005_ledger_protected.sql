-- The ledger knows which entries were protected, so that the event of a
-- job without an environment or protection (recorded in the statement
-- that reads, before the job's secrets are known) resolves to what such
-- a job got: no scoped secret (an '@' in the name) and no protected one.
-- The flag is taken, by a trigger, from the secret the entry is written
-- for, which put_secret has already written: no function of the earlier
-- migrations changes, and a replica of the previous version writes
-- entries that get it too.
ALTER TABLE {{schema}}.ledger ADD COLUMN protected boolean;

CREATE FUNCTION {{schema}}.ledger_protected() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    SELECT s.flags & 4 <> 0 INTO NEW.protected FROM {{schema}}.secrets s
        WHERE s.workspace = NEW.workspace AND s.secret_id = NEW.secret_id;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER ledger_protected BEFORE INSERT ON {{schema}}.ledger
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.ledger_protected();

-- delivered, as in migration 1, leaving out what a job without an
-- environment or protection never gets.
CREATE OR REPLACE FUNCTION {{schema}}.delivered(p_workspace text, p_state bigint, p_action text, p_names text[])
RETURNS TABLE (name text, version bigint, fingerprint bytea) LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT l.name, l.version, l.fingerprint FROM (
        SELECT DISTINCT ON (x.secret_id) x.name, x.version, x.write_only, x.protected, x.fingerprint
        FROM {{schema}}.ledger x
        WHERE x.workspace = p_workspace AND x.state <= p_state
        ORDER BY x.secret_id, x.state DESC) l
    WHERE l.version > 0 AND (p_action <> 'export' OR NOT l.write_only)
      AND strpos(l.name, '@') = 0 AND NOT coalesce(l.protected, false)
      AND (p_names IS NULL OR lower(l.name) IN (SELECT lower(n) FROM unnest(p_names) n))
$fn$;
