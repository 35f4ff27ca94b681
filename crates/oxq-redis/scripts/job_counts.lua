-- job_counts.lua: how many jobs each state holds, in one step (BullMQ getJobCounts; read
-- only). oxq's group jobs (include/common.lua) count where they stand: a runnable one as
-- waiting, or as prioritized when it has a priority (its score in its group), a delayed one
-- (oxq:gdelayed) as delayed. Waiting counts the legacy 5.x `paused` list too (BullMQ 6 hides
-- those jobs; oxq shows them, since its fetch runs them).
--
-- KEYS
--   1 wait
--   2 paused
--   3 prioritized
--   4 delayed
--   5 active
--   6 waiting-children
--   7 completed
--   8 failed
-- ARGV
--   1 base key "prefix:name:"
-- Returns
--   { waiting, prioritized, delayed, active, waiting-children, completed, failed }
-- Events
--   none

local waiting = redis.call('LLEN', k.wait) + redis.call('LLEN', k.paused)
local prioritized = redis.call('ZCARD', k.prioritized)
for _, group in ipairs(redis.call('ZRANGE', GROUP_RING, 0, -1)) do
  local key = groupKey(group)
  local withPriority = redis.call('ZCOUNT', key, GROUP_PRIORITIZED, '+inf')
  waiting = waiting + redis.call('ZCARD', key) - withPriority
  prioritized = prioritized + withPriority
end
return { waiting, prioritized, redis.call('ZCARD', k.delayed) + redis.call('ZCARD', GROUP_DELAYED),
  redis.call('LLEN', k.active), redis.call('ZCARD', k['waiting-children']),
  redis.call('ZCARD', k.completed), redis.call('ZCARD', k.failed) }
