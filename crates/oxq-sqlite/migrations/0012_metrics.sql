-- oxq embedded store: per-minute metrics (BullMQ's worker option `metrics.maxDataPoints`).
--
-- One row per (queue, series): `kind` 0 counts completions, 1 final failures. `count` is every
-- job counted; `prev_ts` (NULL before the first finish) and `prev_count` are when the newest
-- point was closed and `count` then; `data` is the points as a JSON array of integers, newest
-- minute first, at most the writer's max points long. A finish adds to `count` with one
-- upsert and rewrites `data` only when it closes a minute (see src/ops/metrics.rs), in the
-- finish's transaction. Queues whose workers do not record metrics have no row.

CREATE TABLE queue_metrics (
    qid        INTEGER NOT NULL,
    kind       INTEGER NOT NULL CHECK (kind IN (0, 1)),
    count      INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    prev_ts    INTEGER,
    prev_count INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (qid, kind)
) WITHOUT ROWID;

CREATE TRIGGER queue_metrics_follow_their_queue AFTER DELETE ON queues
BEGIN
    DELETE FROM queue_metrics WHERE qid = OLD.qid;
END;
