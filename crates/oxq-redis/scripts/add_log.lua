-- add_log.lua: appends a line to a job's log (BullMQ addLog).
--
-- KEYS
--   1 meta
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
--   3 the line
--   4 keep only the newest this many lines (0 = keep all)
-- Returns
--   the number of lines the job has, or -1 when the job does not exist
-- Events
--   none
-- KEYS[1] is not touched; it only routes the call to the queue's slot.

local jobKey = base .. ARGV[2]
if redis.call('EXISTS', jobKey) == 0 then return -1 end
local n = redis.call('RPUSH', jobKey .. ':logs', ARGV[3])
local keep = tonumber(ARGV[4])
if keep > 0 then
  redis.call('LTRIM', jobKey .. ':logs', -keep, -1)
  return math.min(n, keep)
end
return n
