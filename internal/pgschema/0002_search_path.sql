-- Every function of the schema runs with search_path pg_catalog, pg_temp.
--
-- Without it a function resolves the names in its body through the
-- caller's search_path, which usually has public in it. A role that may
-- create objects in public could then define a better match for a call
-- than the built-in one, and have it run with the store's rights on every
-- write: nextval('{{schema}}.states') passes an untyped literal, which
-- Postgres sends to a public.nextval(text) in preference to
-- pg_catalog.nextval(regclass). Every table the functions use is
-- qualified with the schema, so pg_catalog is all they need; pg_temp comes
-- last so that no temporary object can shadow anything.
--
-- Functions that a later migration replaces must say SET search_path in
-- their CREATE OR REPLACE: TestPostgresFunctionsPinSearchPath checks that
-- every function of the schema has it.
DO $do$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = '{{schema}}'::regnamespace LOOP
        EXECUTE pg_catalog.format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp', f);
    END LOOP;
END
$do$;
