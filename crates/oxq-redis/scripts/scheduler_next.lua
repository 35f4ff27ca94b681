-- scheduler_next.lua: a worker took iteration `repeat:<id>:<prev>`; if that is the scheduler's
-- pending run, create the next one (BullMQ updateJobScheduler; the time is computed by the
-- client, oxq_core::Repeat::next_run). Whoever takes the pending run creates the next, so each
-- tick makes one job however many workers race; a run taken again creates nothing.
--
-- KEYS
--   1 id
--   2 wait
--   3 paused
--   4 active
--   5 prioritized
--   6 pc
--   7 delayed
--   8 meta
--   9 events
--   10 marker
--   11 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 scheduler id
--   4 the taken iteration's time
--   5 the next iteration's time
--   6 the iterations' opts JSON (template opts, repeatJobKey, repeat)
-- Returns
--   the new iteration's id, or 0 when the taken run was not the pending one (or the next
--   exists already)
-- Events
--   added, then delayed or waiting; duplicated {jobId} when the next exists already

local now = tonumber(ARGV[2])
local id = ARGV[3]
local score = redis.call('ZSCORE', k['repeat'], id)
if not score or tonumber(score) ~= tonumber(ARGV[4]) then return 0 end
local millis = tonumber(ARGV[5])
local nextId = iterationId(id, millis)
local maxLen = maxEvents()
if redis.call('EXISTS', base .. nextId) == 1 then
  emit(maxLen, 'duplicated', 'jobId', nextId)
  return 0
end
local schedulerKey = base .. 'repeat:' .. id
redis.call('ZADD', k['repeat'], millis, id)
local iterations = redis.call('HINCRBY', schedulerKey, 'ic', 1)
local attrs = redis.call('HMGET', schedulerKey, 'name', 'data')
createIteration(id, millis, now, attrs[1] or '', attrs[2] or '{}', ARGV[6], iterations, maxLen)
redis.call('HSET', base .. iterationId(id, tonumber(ARGV[4])), 'nrjid', nextId)
return nextId
