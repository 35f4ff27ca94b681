-- promote.lua: makes one delayed job runnable now (BullMQ promote).
--
-- KEYS
--   1 wait
--   2 active
--   3 prioritized
--   4 pc
--   5 delayed
--   6 meta
--   7 events
--   8 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   0, -1 no such job, -3 the job is not delayed
-- Events
--   waiting {jobId, prev delayed}

local id = ARGV[2]
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return -1 end
-- a delayed group job waits in oxq:gdelayed and goes back to its group (include/common.lua)
local m = redis.call('HMGET', jobKey, 'priority', GROUP_FIELD)
local group = m[2] or false
if group then
  if groupUndelay(id, group) == 0 then return -3 end
elseif redis.call('ZREM', k.delayed, id) == 0 then
  return -3
end
local blocked = isBlocked()
enqueue(id, tonumber(m[1]) or 0, false, group)
addBaseMarker(blocked)
redis.call('HSET', jobKey, 'delay', 0)
emit(maxEvents(), 'waiting', 'jobId', id, 'prev', 'delayed')
return 0
