-- Environment scopes and protected secrets.
--
-- A secret of a scope other than '*' is stored under its name followed by
-- '@' and the scope ("API_TOKEN@production"): the name columns, name_key
-- (so names stay unique ignoring case within a scope), the ledger and
-- the events hold it whole, and no table changes shape. Flag 4 of
-- secrets.flags and versions.flags marks a protected secret. Scoped and
-- protected versions are sealed under associated data of format 3, which
-- binds the scope (in the name) and the protected flag; a replica of an
-- earlier release cannot decrypt them, so it fails such a job rather than
-- deliver what it does not know to keep from it.
--
-- The inject events of jobs that name an environment or are protected
-- record it: environment (NULL for none) and protected (NULL for not).
-- Columns only: a replica of the previous version keeps inserting and
-- reading events as before.
ALTER TABLE {{schema}}.audit
    ADD COLUMN environment text,
    ADD COLUMN protected   boolean;
