-- Inject events of jobs that inherit from parent containers record what
-- they delivered explicitly, with where each secret came from: parents is
-- the chain the job read (nearest first), containers holds, parallel to
-- names, the container of each secret ('' for the event's workspace), and
-- withheld marks those the host kept from the job. Such events are not
-- resolved through the ledger. Columns only: a replica of the previous
-- version keeps inserting and reading events as before.
ALTER TABLE {{schema}}.audit
    ADD COLUMN parents    text[],
    ADD COLUMN containers text[],
    ADD COLUMN withheld   boolean[];
