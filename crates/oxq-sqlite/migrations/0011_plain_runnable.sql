-- oxq embedded store: runnable jobs without a group, indexed apart.
--
-- While group jobs are runnable, a fetch takes jobs without a group first (ops/groups.rs,
-- `NEXT_PLAIN`). Through `jobs_by_state` that query walks the runnable rows in score order and
-- skips every group job in front of the first plain one, so a backlog of 10,000 group jobs
-- made each plain fetch read 10,000 rows. This index holds only waiting and prioritized jobs
-- without a group, so that fetch reads the rows it takes and nothing else; group jobs have
-- `jobs_by_group` (0010). The WHERE clause is repeated word for word in the queries that use
-- it (`state IN (0, 1)`): SQLite uses a partial index only when the query's terms imply it.

CREATE INDEX jobs_runnable_plain ON jobs (qid, state, score) WHERE group_key IS NULL AND state IN (0, 1);
