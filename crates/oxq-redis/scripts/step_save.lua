-- step_save.lua: writes one durable-step entry of a job under its lock (oxq's own; see
-- steps_read.lua for the hash), and sets or clears the signal the job waits for.
--
-- KEYS
-- (none: only the job's own keys, built from ARGV)
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
--   3 lock token
--   4 step name
--   5 entry (JSON text)
--   6 the signal the job now waits for ('' for none)
-- Returns
--   { 0 } written, { 0, payload } written and the awaited signal was sent already,
--   { -1 } no such job, { -2 } the lock is missing or held by another token (nothing written)
-- Events
--   none

local jobKey = base .. ARGV[2]
if redis.call('EXISTS', jobKey) == 0 then return { -1 } end
if redis.call('GET', jobKey .. ':lock') ~= ARGV[3] then return { -2 } end
local stepsKey = jobKey .. ':steps'
redis.call('HSET', stepsKey, 'step:' .. ARGV[4], ARGV[5])
if ARGV[6] == '' then
  redis.call('HDEL', stepsKey, 'wait')
  return { 0 }
end
redis.call('HSET', stepsKey, 'wait', ARGV[6])
local sent = redis.call('HGET', stepsKey, 'signal:' .. ARGV[6])
if sent then return { 0, sent } end
return { 0 }
