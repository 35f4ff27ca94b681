-- move_to_active.lua: a worker fetches up to n jobs (BullMQ moveToActive, batched).
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 pc
--   6 delayed
--   7 meta
--   8 events
--   9 marker
--   10 limiter
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 lock token
--   4 lock duration (ms)
--   5 max jobs
--   6 worker name ('' for none; stored as `pb`)
-- Returns
--   { {id1, fields1, id2, fields2, ...}, hint } where fields is the job hash (HGETALL) after
--   activation and hint is the next delayed due time / rate-limit end (ms) or -1.
-- Events
--   waiting {jobId, prev delayed} per promoted delayed job; active {jobId, prev waiting} per job.
-- Writes per job: `:lock` = token PX duration, processedOn, pb, ats + 1; the base marker when
-- runnable jobs remain (so another idle worker wakes).

local now = tonumber(ARGV[2])
return fetchJobs(now, ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], maxEvents())
