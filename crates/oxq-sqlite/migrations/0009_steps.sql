-- oxq embedded store: durable steps (see oxq_core::steps).
--
-- `job_steps` holds a job's step entries (kind 0: step name → the entry the runtime wrote,
-- JSON text) and the signals sent to it (kind 1: signal name → payload, JSON text), keyed by
-- the job's internal key. `jobs.steps` is 1 once either was written, so that deleting any
-- other job (the hot path's retention) skips the trigger below; `jobs.waits_for` names the
-- signal a job parked in delayed waits for (a signal of that name makes it runnable).

ALTER TABLE jobs ADD COLUMN steps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN waits_for TEXT;

CREATE TABLE job_steps (
    jid   INTEGER NOT NULL,
    kind  INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 1),
    name  TEXT    NOT NULL,
    value TEXT    NOT NULL,
    PRIMARY KEY (jid, kind, name)
) WITHOUT ROWID;

-- A job's steps go with it, however it is deleted (removal, retention, drain, clean,
-- obliterate).
CREATE TRIGGER job_steps_follow_their_job AFTER DELETE ON jobs WHEN OLD.steps = 1
BEGIN
    DELETE FROM job_steps WHERE jid = OLD.jid;
END;
