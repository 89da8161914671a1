-- The events of a workspace but its successful list events, newest first:
-- the panel's Activity view asks for a page of those
-- (EventQuery.SkipLists), which reads by anyone who may list would
-- otherwise push out of the page, or make the database skip one by one
-- (a panel trial: a viewer's 300 lists left the view empty). Partial, so
-- that the list events, most of the trail, cost it nothing.
--
-- Building it reads the whole audit table, and blocks the writes of new
-- events (every audited call) until Migrate commits: seconds for a few
-- million events. Migrate at a quiet time, or build the index beforehand
-- with CREATE INDEX CONCURRENTLY under this name and definition: this
-- migration then finds it.
CREATE INDEX IF NOT EXISTS audit_workspace_changes ON {{schema}}.audit (workspace, id)
    WHERE NOT (action = 'list' AND outcome = 'ok');
