-- oxq embedded store, schema version 3: parent/child jobs (flows).
--
-- `jobs.flow` says whether a job takes part in a flow, so that the hot paths (finishing,
-- removing) see "nothing to do" in a column they read anyway: bit 1 = the job is a child (its
-- options name a parent), bit 2 = the job is a parent (a child was ever added to it). 0 for
-- every other job, which then costs nothing more.
--
-- `job_dependencies` holds what a parent knows of each child: one row per child, keyed by the
-- parent's internal key and the child's queue and id (by name, not by internal key: a child
-- may live on another queue, and its value outlives its own row). `status`: 0 pending,
-- 1 processed (`value` = its return value, JSON text), 2 ignored (`value` = its failure
-- reason), 3 failed (it failed its parent). A child removed from its parent's dependencies
-- has no row.

ALTER TABLE jobs ADD COLUMN flow INTEGER NOT NULL DEFAULT 0;

CREATE TABLE job_dependencies (
    parent_jid   INTEGER NOT NULL,
    child_prefix TEXT    NOT NULL,
    child_queue  TEXT    NOT NULL,
    child_id     TEXT    NOT NULL,
    status       INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
    value        TEXT,
    PRIMARY KEY (parent_jid, child_prefix, child_queue, child_id)
) WITHOUT ROWID;
-- Each kind of a parent's children, by key, and its count.
CREATE INDEX job_dependencies_by_status
    ON job_dependencies (parent_jid, status, child_prefix, child_queue, child_id);

-- A parent's dependencies go with it, however it is deleted (removal, retention, drain,
-- clean, obliterate). The WHEN clause keeps this off every other job's delete.
CREATE TRIGGER job_dependencies_follow_their_parent AFTER DELETE ON jobs WHEN OLD.flow & 2
BEGIN
    DELETE FROM job_dependencies WHERE parent_jid = OLD.jid;
END;
