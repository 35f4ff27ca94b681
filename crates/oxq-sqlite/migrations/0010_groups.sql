-- oxq embedded store: job groups (tenant fairness).
--
-- A job's group is its options' `group` field (JobOptions::group), read by the virtual
-- column `group_key` (NULL for a job without a group, or whose options are not JSON). The
-- partial index holds group jobs only, by state then group, so a fetch finds the next group
-- with a runnable job, a group's next job and a group's active count with one probe each, and
-- a queue without group jobs pays one probe that finds nothing.
--
-- `queue_groups` holds settings: one row per (queue, group) with a setting or a counted
-- window, and the row with group_key '' holding the settings for every group (a group key is
-- never empty). `paused` stops one group; `concurrency` caps its active jobs; `rate_max`
-- starts per `rate_duration` ms, counted in `window_count` until `window_end` (the callers'
-- clock). `queue_group_cursor` is the round-robin cursor: the group served last.

ALTER TABLE jobs ADD COLUMN group_key TEXT GENERATED ALWAYS AS
    (CASE WHEN json_valid(options) THEN json_extract(options, '$.group') END) VIRTUAL;

CREATE INDEX jobs_by_group ON jobs (qid, state, group_key, score) WHERE group_key IS NOT NULL;

CREATE TABLE queue_groups (
    qid           INTEGER NOT NULL,
    group_key     TEXT NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0,
    concurrency   INTEGER CHECK (concurrency IS NULL OR concurrency >= 1),
    rate_max      INTEGER CHECK (rate_max IS NULL OR rate_max >= 1),
    rate_duration INTEGER CHECK (rate_duration IS NULL OR rate_duration >= 1),
    window_count  INTEGER NOT NULL DEFAULT 0,
    window_end    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (qid, group_key)
) WITHOUT ROWID;

CREATE TABLE queue_group_cursor (
    qid        INTEGER PRIMARY KEY,
    last_group TEXT NOT NULL
);

CREATE TRIGGER queue_groups_follow_their_queue AFTER DELETE ON queues
BEGIN
    DELETE FROM queue_groups WHERE qid = OLD.qid;
    DELETE FROM queue_group_cursor WHERE qid = OLD.qid;
END;
