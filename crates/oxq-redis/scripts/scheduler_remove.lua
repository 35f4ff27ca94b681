-- scheduler_remove.lua: removes a job scheduler and its pending iteration if that has not
-- started (BullMQ removeJobScheduler).
--
-- KEYS
--   1 wait
--   2 paused
--   3 prioritized
--   4 delayed
--   5 meta
--   6 events
--   7 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 scheduler id
-- Returns
--   1 removed, 0 no such scheduler
-- Events
--   removed {jobId, prev} for the pending iteration

local id = ARGV[2]
local schedulerKey = base .. 'repeat:' .. id
local score = redis.call('ZSCORE', k['repeat'], id)
if not score and redis.call('EXISTS', schedulerKey) == 0 then return 0 end
if score then
  local pendingId = iterationId(id, tonumber(score))
  if redis.call('EXISTS', base .. pendingId) == 1 then
    local state = pendingState(pendingId)
    if state then removePending(pendingId, state, maxEvents()) end
  end
end
redis.call('ZREM', k['repeat'], id)
redis.call('DEL', schedulerKey)
return 1
