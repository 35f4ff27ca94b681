-- steps_read.lua: a job's durable steps (oxq's own; see oxq_core::steps), read in one step.
--
-- A job's steps live in the hash base .. id .. ':steps' (Node BullMQ never reads it; it is
-- deleted with the job by deleteJobKeys): fields 'step:<name>' hold the runtime's entries,
-- 'signal:<name>' the signals sent to the job, 'wait' the signal a parked job waits for.
--
-- KEYS
-- (none: only the job's own keys, built from ARGV)
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   -1 when the job does not exist, else { field, value, ... } of its steps hash
-- Events
--   none

local jobKey = base .. ARGV[2]
if redis.call('EXISTS', jobKey) == 0 then return -1 end
return redis.call('HGETALL', jobKey .. ':steps')
