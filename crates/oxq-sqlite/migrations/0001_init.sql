-- oxq embedded store, schema version 1.
--
-- Conventions
-- * Times are integer milliseconds since the Unix epoch.
-- * A queue is one row of `queues`; every other table refers to it by `qid`.
-- * A job's state is a small integer (see `job_states`, and `codec.rs` in the crate):
--   0 waiting, 1 prioritized, 2 delayed, 3 active, 4 waiting-children, 5 completed, 6 failed.
-- * `jobs.score` orders the jobs of one state, so one index serves every state:
--     waiting          position: back of the line counts up from 1, front counts down from -1
--     prioritized      priority * 2^42 + position (lower runs first, FIFO within a priority)
--     delayed          due time
--     active           lock expiry (lock_until)
--     waiting-children time added
--     completed/failed finish time (finished_on)
--   Ties are broken by `jid`, the insertion order.
-- * Internal integer keys carry their queue in the high bits, so the common lookups are rowid
--   lookups and appends go to the end of a B-tree:
--     jobs.jid   = qid * 2^40 + the queue's id counter when the job was added; for a job with
--                  an automatic id that counter IS the id, so job "17" of queue q is row
--                  q * 2^40 + 17. Custom ids are found through a partial unique index.
--     events.eid = qid * 2^40 + the sequence number of the last event packed in the row.

CREATE TABLE queues (
    qid                INTEGER PRIMARY KEY,
    prefix             TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    paused             INTEGER NOT NULL DEFAULT 0 CHECK (paused BETWEEN 0 AND 1),
    -- The last automatic job id handed out ("1", "2", ...); bumped by every add.
    last_id            INTEGER NOT NULL DEFAULT 0,
    -- The last positions used at the back (> 0) and the front (< 0) of the line.
    back_pos           INTEGER NOT NULL DEFAULT 0,
    front_pos          INTEGER NOT NULL DEFAULT 0,
    -- The id of the newest event of the queue.
    event_seq          INTEGER NOT NULL DEFAULT 0,
    -- When a stalled-job check last ran (whichever process ran it).
    stalled_checked_at INTEGER,
    UNIQUE (prefix, name)
);

-- Event ids must keep growing when a queue is obliterated and created again, so a listener
-- holding an old cursor does not skip the new queue's events.
CREATE TABLE retired_queues (
    prefix    TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    event_seq INTEGER NOT NULL,
    PRIMARY KEY (prefix, name)
) WITHOUT ROWID;

CREATE TABLE job_states (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO job_states (code, name) VALUES
    (0, 'waiting'), (1, 'prioritized'), (2, 'delayed'), (3, 'active'),
    (4, 'waiting-children'), (5, 'completed'), (6, 'failed');

CREATE TABLE jobs (
    jid              INTEGER PRIMARY KEY, -- qid * 2^40 + id counter, see above
    qid              INTEGER NOT NULL,
    id               TEXT    NOT NULL,
    state            INTEGER NOT NULL CHECK (state BETWEEN 0 AND 6),
    score            INTEGER NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    lifo             INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    custom_id        INTEGER NOT NULL DEFAULT 0,
    timestamp        INTEGER NOT NULL,
    attempts_made    INTEGER NOT NULL DEFAULT 0,
    attempts_started INTEGER NOT NULL DEFAULT 0,
    stalled_count    INTEGER NOT NULL DEFAULT 0,
    name             TEXT    NOT NULL,
    -- The payload, JSON text exactly as given.
    data             TEXT    NOT NULL,
    -- JobOptions as JSON without `job_id`; NULL means the defaults.
    options          TEXT,
    -- JSON text; NULL means "0".
    progress         TEXT,
    processed_on     INTEGER,
    lock_token       TEXT,
    processed_by     TEXT,
    return_value     TEXT,
    failed_reason    TEXT,
    -- JSON array of the failure reasons, oldest first; NULL means [].
    stacktrace       TEXT,
    deferred_failure TEXT
);
CREATE UNIQUE INDEX jobs_by_custom_id ON jobs (qid, id) WHERE custom_id = 1;
CREATE INDEX jobs_by_state ON jobs (qid, state, score);

CREATE TABLE logs (
    jid  INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    line TEXT    NOT NULL,
    PRIMARY KEY (jid, n)
) WITHOUT ROWID;

-- Events are packed: one row holds consecutive events of one queue that share a timestamp
-- (see `ops/event_log.rs` for the BLOB format). `first` is the sequence number of the first
-- event in the row, the key carries the last one; an event's public id is its sequence number.
CREATE TABLE events (
    eid    INTEGER PRIMARY KEY, -- qid * 2^40 + sequence number of the row's LAST event
    first  INTEGER NOT NULL,
    ts     INTEGER NOT NULL,
    events BLOB    NOT NULL
);

-- For people reading the file with the sqlite3 shell.
CREATE VIEW jobs_readable AS
SELECT q.prefix, q.name AS queue, j.id, s.name AS state, j.priority, j.score, j.name,
       j.data, j.options, j.timestamp, j.processed_on, j.attempts_made, j.attempts_started,
       j.stalled_count, j.lock_token, j.return_value, j.failed_reason, j.deferred_failure
FROM jobs j
JOIN queues q ON q.qid = j.qid
JOIN job_states s ON s.code = j.state;
