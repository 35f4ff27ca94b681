-- oxq embedded store: deduplication ids (BullMQ 6's `deduplication` job option).
--
-- `dedup_keys` is BullMQ's `de:<id>` key: one row per deduplication id that a job owns, with
-- that job's id and internal key, and the end of its window (`expires_at`, ms; NULL: owned
-- until released). A row whose `expires_at` is at or before a call's `now` counts as gone.
-- `next_*` is BullMQ's `dn:<id>`: the job keepLastIfActive kept aside while the owner was
-- active (`next_id` NULL: none), written as a job when the owner finishes.
--
-- `jobs.flow` bit 4 marks a job added with a deduplication id, so the hot paths (finishing,
-- removing) see "nothing to do" in the column they already read for flows; `dedup_keys` is
-- looked up by the owner's key only for those jobs.

CREATE TABLE dedup_keys (
    qid          INTEGER NOT NULL,
    dedup_id     TEXT    NOT NULL,
    job_id       TEXT    NOT NULL,
    job_jid      INTEGER NOT NULL,
    expires_at   INTEGER,
    next_id      TEXT,
    next_name    TEXT,
    next_data    TEXT,
    next_options TEXT,
    PRIMARY KEY (qid, dedup_id)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_by_owner ON dedup_keys (job_jid);
