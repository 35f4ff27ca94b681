-- update_progress.lua: stores a job's progress (BullMQ updateProgress).
--
-- KEYS
--   1 meta
--   2 events
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
--   3 progress (JSON text)
-- Returns
--   0, or -1 when the job does not exist
-- Events
--   progress {jobId, data}

local jobKey = base .. ARGV[2]
if redis.call('EXISTS', jobKey) == 0 then return -1 end
redis.call('HSET', jobKey, 'progress', ARGV[3])
emit(maxEvents(), 'progress', 'jobId', ARGV[2], 'data', ARGV[3])
return 0
