-- oxq embedded store: rate limits and global concurrency of a queue.
--
-- One row per queue that has a limit or has counted starts: the global rate limit
-- (`rate_max` starts per `rate_duration` ms) and the global concurrency, NULL when not set;
-- and the current window of the start counter every limit shares: `window_count` starts
-- counted until `window_end` (ms since the epoch, the callers' clock). A window that has ended
-- counts nothing. A manual limit sets `window_count` to 2^53 - 1 until its end, so it stops
-- every fetch, whatever max it knows. A queue without a row pays one primary-key lookup per
-- fetch.

CREATE TABLE queue_limits (
    qid           INTEGER PRIMARY KEY,
    rate_max      INTEGER CHECK (rate_max IS NULL OR rate_max >= 1),
    rate_duration INTEGER CHECK (rate_duration IS NULL OR rate_duration >= 1),
    concurrency   INTEGER CHECK (concurrency IS NULL OR concurrency >= 1),
    window_count  INTEGER NOT NULL DEFAULT 0,
    window_end    INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER queue_limits_follow_their_queue AFTER DELETE ON queues
BEGIN
    DELETE FROM queue_limits WHERE qid = OLD.qid;
END;
