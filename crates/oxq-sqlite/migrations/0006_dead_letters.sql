-- oxq embedded store: dead letter queues.
--
-- `dead_letter_queues`: one row per queue that has a dead letter queue (`qid` the source,
-- `target` the dead letter queue's name under the same prefix). A failure for good looks here
-- (a primary-key lookup on the failure path only; completions never do).
--
-- `dead_letters`: one row per dead job, keyed by the internal key of its copy, a `failed` job
-- of the dead letter queue (`qid`). `source_name` and `source_id` say where it failed (the
-- same prefix), `dead_at` when it was copied; `replays` counts its replays and `replayed_as`
-- is the id the last one was added under. `jobs.dead_letter` holds the reverse link on a
-- replayed job: the dead letter queue's name and the dead entry's id, as JSON
-- `{"queue": ..., "id": ...}`.

CREATE TABLE dead_letter_queues (
    qid    INTEGER PRIMARY KEY,
    target TEXT    NOT NULL
);

CREATE TABLE dead_letters (
    jid         INTEGER PRIMARY KEY,
    qid         INTEGER NOT NULL,
    source_name TEXT    NOT NULL,
    source_id   TEXT    NOT NULL,
    dead_at     INTEGER NOT NULL,
    replays     INTEGER NOT NULL DEFAULT 0,
    replayed_as TEXT
);
CREATE INDEX dead_letters_by_queue ON dead_letters (qid, dead_at, jid);

ALTER TABLE jobs ADD COLUMN dead_letter TEXT;

-- Obliterating a queue deletes its setting and its dead entries.
CREATE TRIGGER dead_letters_follow_their_queue AFTER DELETE ON queues
BEGIN
    DELETE FROM dead_letter_queues WHERE qid = OLD.qid;
    DELETE FROM dead_letters WHERE qid = OLD.qid;
END;
