-- oxq embedded store: a job's group stored at insert, and score bands instead of a second
-- runnable index.
--
-- Migration 0010 read the group from the options JSON through a virtual column, so every
-- add, fetch and finish of every job evaluated it again to keep the group index (and 0011's
-- plain-runnable index) up to date: a JSON parse per index per write for a job with options,
-- and a second index entry for every runnable job without a group. Now:
-- * `group_key` is an ordinary column, written once when the job is inserted (NULL without a
--   group), so the group index's condition costs a job without a group one NULL test;
-- * a runnable group job's score sits in a band of its own (`band.rs` in the crate: waiting
--   + 2^62, prioritized − 2^63), so the plain fetch seeks past group jobs in `jobs_by_state`
--   and `jobs_runnable_plain` goes;
-- * `jobs_by_group` is on the stored column and holds unfinished group jobs only (states 0-3:
--   runnable, delayed, active): a group's next runnable job, the next group after the
--   round-robin cursor, a group's active and delayed counts. A finished group job leaves it, so
--   the index does not grow with the queue's history and a finish writes it once. Queries that
--   use it repeat `+state < 4` word for word: SQLite uses a partial index only when the
--   query's terms imply its condition. The unary `+` keeps the planner from seeking on that
--   range instead of the query's `state = ?` (which it did without it), and unlike
--   `state IN (0, 1, 2, 3)` it builds no temporary table at each run.

DROP INDEX jobs_runnable_plain;
DROP INDEX jobs_by_group;
ALTER TABLE jobs DROP COLUMN group_key;
ALTER TABLE jobs ADD COLUMN group_key TEXT;

UPDATE jobs SET group_key = json_extract(options, '$.group')
WHERE options IS NOT NULL AND json_valid(options) AND json_type(options, '$.group') = 'text';

UPDATE jobs SET score = score + CASE state WHEN 0 THEN 4611686018427387904
                                           ELSE -9223372036854775807 - 1 END
WHERE group_key IS NOT NULL AND state IN (0, 1);

CREATE INDEX jobs_by_group ON jobs (qid, state, group_key, score)
    WHERE group_key IS NOT NULL AND +state < 4;
