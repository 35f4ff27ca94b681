-- oxq embedded store, schema version 2: job schedulers.
--
-- One row per scheduler of a queue. `repeat` is the schedule (oxq_core::Repeat) as JSON; the
-- template is the job name, the payload (JSON text) and the options (JSON of JobOptions, NULL
-- for the defaults) every iteration gets. `next_run` is the time of the pending iteration,
-- whose job id is `repeat:<id>:<next_run>`; NULL once the limit or the end date leaves none.
-- `iterations` counts the iterations created so far (the limit is checked against it).

CREATE TABLE job_schedulers (
    qid        INTEGER NOT NULL,
    id         TEXT    NOT NULL,
    repeat     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    options    TEXT,
    next_run   INTEGER,
    iterations INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (qid, id)
) WITHOUT ROWID;
CREATE INDEX job_schedulers_by_next_run ON job_schedulers (qid, next_run);

-- Obliterating a queue deletes its row; its schedulers go with it.
CREATE TRIGGER job_schedulers_follow_their_queue AFTER DELETE ON queues
BEGIN
    DELETE FROM job_schedulers WHERE qid = OLD.qid;
END;
