-- Events filtered by a secret's name find the deliveries of that name
-- through this index: a delivery (an inject or export event that records
-- only its state) delivered a secret of the name if the ledger entry of
-- that name current at the event's state is a delivered one. Before, the
-- filter resolved every delivery's whole list and looked for the name in
-- it: a trial's 1,000 injections of a workspace of 50,000 secrets took
-- 67 s. On a large ledger the index is built while writes to the ledger
-- wait, for the migration's length.
CREATE INDEX ledger_name ON {{schema}}.ledger (workspace, lower(name), state);
