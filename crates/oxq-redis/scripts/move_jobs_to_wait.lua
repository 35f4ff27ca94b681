-- move_jobs_to_wait.lua: moves many finished or delayed jobs back to the line (BullMQ
-- moveJobsToWait: Queue.retryJobs and Queue.promoteJobs).
--
-- KEYS
--   1 wait
--   2 active
--   3 prioritized
--   4 pc
--   5 delayed
--   6 completed
--   7 failed
--   8 meta
--   9 events
--   10 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 source: 'failed' | 'completed' | 'delayed'
--   3 only members scored at or below this (finish time; '+inf' for delayed)
--   4 at most this many jobs
-- Returns
--   how many jobs moved
-- Events
--   waiting {jobId, prev = source} per job
-- Finished jobs lose finishedOn, processedOn and returnvalue / failedReason (attempt counters
-- stay) and a child is pending again in its parent (include/parent.lua childPendingAgain);
-- delayed jobs get delay 0. Prioritized jobs go back to prioritized.

local source = ARGV[2]
local ids = redis.call('ZRANGEBYSCORE', k[source], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
if #ids == 0 then return 0 end
local maxLen = maxEvents()
local blocked = isBlocked()
for _, id in ipairs(ids) do
  redis.call('ZREM', k[source], id)
  local jobKey = base .. id
  if redis.call('EXISTS', jobKey) == 1 then
    if source == 'failed' then
      redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'failedReason')
      childPendingAgain(jobKey, redis.call('HGET', jobKey, 'parentKey'))
    elseif source == 'completed' then
      redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'returnvalue')
      childPendingAgain(jobKey, redis.call('HGET', jobKey, 'parentKey'))
    else
      redis.call('HSET', jobKey, 'delay', 0)
    end
    enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, false)
    emit(maxLen, 'waiting', 'jobId', id, 'prev', source)
  end
end
addBaseMarker(blocked)
return #ids
