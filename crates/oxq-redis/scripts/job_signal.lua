-- job_signal.lua: records a signal for a job (oxq's own; see steps_read.lua for the hash) and
-- makes the job runnable now when it is delayed waiting for that signal, as promote does (a
-- group job in its group). A job still active that waits for it is not woken here: its finish
-- finds the signal where it would park the job, and runs it again at once instead (finish.lua,
-- Signals).
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
--   3 signal name
--   4 payload (JSON text)
-- Returns
--   1 the job was woken, 0 the signal is stored (the job does not wait for it now), -1 no
--   such job
-- Events
--   waiting {jobId, prev delayed} when the job is woken

local id = ARGV[2]
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return -1 end
local stepsKey = jobKey .. ':steps'
redis.call('HSET', stepsKey, 'signal:' .. ARGV[3], ARGV[4])
if redis.call('HGET', stepsKey, 'wait') ~= ARGV[3] then return 0 end
-- a parked group job waits in oxq:gdelayed and goes back to its group (include/common.lua)
local m = redis.call('HMGET', jobKey, 'priority', GROUP_FIELD)
local group = m[2] or false
if group then
  if groupUndelay(id, group) == 0 then return 0 end
elseif redis.call('ZREM', k.delayed, id) == 0 then
  return 0
end
redis.call('HDEL', stepsKey, 'wait')
local blocked = isBlocked()
enqueue(id, tonumber(m[1]) or 0, false, group)
addBaseMarker(blocked)
redis.call('HSET', jobKey, 'delay', 0)
emit(maxEvents(), 'waiting', 'jobId', id, 'prev', 'delayed')
return 1
