-- job_dependencies.lua: what a job knows of its children, read in one step (BullMQ
-- Job.getDependencies; bullmq-v5-model.md §8.6).
--
-- KEYS
-- (none: only the job's own keys, built from ARGV)
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   {} when the job does not exist, else { processed, pending, ignored, failed }: processed
--   { child key, return value JSON, ... } (`:processed`), pending { child key, ... }
--   (`:dependencies`), ignored { child key, failure reason, ... } (`:failed`), failed
--   { child key, ... } (`:unsuccessful`, oldest first). Child keys are "prefix:queue:id".
-- Events
--   none

local jobKey = base .. ARGV[2]
if redis.call('EXISTS', jobKey) == 0 then return {} end
return { redis.call('HGETALL', jobKey .. ':processed'),
  redis.call('SMEMBERS', jobKey .. ':dependencies'),
  redis.call('HGETALL', jobKey .. ':failed'),
  redis.call('ZRANGE', jobKey .. ':unsuccessful', 0, -1) }
