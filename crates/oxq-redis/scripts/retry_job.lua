-- retry_job.lua: moves one completed or failed job back to waiting (BullMQ reprocessJob).
--
-- KEYS
--   1 wait
--   2 active
--   3 prioritized
--   4 pc
--   5 completed
--   6 failed
--   7 meta
--   8 events
--   9 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   0, -1 no such job, -3 the job is neither completed nor failed
-- Events
--   waiting {jobId, prev failed | completed}
-- Keeps the attempt counters and the stacktrace; clears finishedOn, processedOn and the
-- returnvalue / failedReason of the finished state. A child is pending again in its parent
-- (include/parent.lua childPendingAgain); the parent is not moved.

local id = ARGV[2]
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return -1 end
local prev
if redis.call('ZREM', k.failed, id) == 1 then
  prev = 'failed'
  redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'failedReason')
elseif redis.call('ZREM', k.completed, id) == 1 then
  prev = 'completed'
  redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'returnvalue')
else
  return -3
end
local m = redis.call('HMGET', jobKey, 'priority', 'opts', 'parentKey')
local opts = decodeJson(m[2])
local lifo = type(opts) == 'table' and opts.lifo == true
local blocked = isBlocked()
enqueue(id, tonumber(m[1]) or 0, lifo)
addBaseMarker(blocked)
childPendingAgain(jobKey, m[3])
emit(maxEvents(), 'waiting', 'jobId', id, 'prev', prev)
return 0
