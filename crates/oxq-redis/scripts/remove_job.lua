-- remove_job.lua: removes one job that no worker holds (BullMQ removeJob, without children).
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 delayed
--   6 completed
--   7 failed
--   8 waiting-children
--   9 stalled
--   10 meta
--   11 events
--   12 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   1 removed, 0 no such job, -2 locked by a worker, -8 the pending iteration of a job scheduler
-- Events
--   removed {jobId, prev = the key suffix it was found in, or 'unknown'}
-- The job leaves its parent's dependencies (which may release the parent) and its dedup key.

local id = ARGV[2]
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return 0 end
if schedulerIterations()[id] then return -8 end
if redis.call('EXISTS', jobKey .. ':lock') == 1 then return -2 end

local prev = 'unknown'
for _, suffix in ipairs({ 'completed', 'waiting-children', 'delayed', 'failed', 'prioritized' }) do
  if redis.call('ZREM', k[suffix], id) == 1 then
    prev = suffix
    break
  end
end
if prev == 'unknown' then
  for _, suffix in ipairs({ 'wait', 'paused', 'active' }) do
    if redis.call('LREM', k[suffix], 1, id) > 0 then
      prev = suffix
      break
    end
  end
end
redis.call('SREM', k.stalled, id)
detachFromParent(jobKey)
releaseDedupOnRemoval(jobKey, id)
deleteJobKeys(jobKey)
emit(maxEvents(), 'removed', 'jobId', id, 'prev', prev)
return 1
