-- obliterate.lua: deletes a queue and its jobs, in bounded steps (BullMQ obliterate).
--
-- KEYS
--   1 active
--   2 delayed
--   3 completed
--   4 wait
--   5 paused
--   6 prioritized
--   7 failed
--   8 waiting-children
--   9 repeat
--   10 pc
--   11 stalled
--   12 stalled-check
--   13 meta
--   14 events
--   15 id
--   16 marker
--   17 limiter
--   18 delay
--   19 priority
--   20 metrics:completed
--   21 metrics:completed:data
--   22 metrics:failed
--   23 metrics:failed:data
-- ARGV
--   1 base key "prefix:name:"
--   2 '1' to delete even while jobs are active
--   3 budget: at most this many jobs deleted by this call
-- Returns
--   0 done (every queue key deleted), 1 budget used up (call again), -2 jobs are active and
--   force was not given (nothing deleted)
-- Events
--   none (the stream itself is deleted)
-- Keys outside this list (orphan job hashes, de:*, dn:*, repeat:*) are swept by the caller.
-- A child whose parent lives on another queue leaves that parent's dependencies (which may
-- release it, with its `waiting` event).

local force = ARGV[2] == '1'
local budget = tonumber(ARGV[3])
if not force and redis.call('LLEN', k.active) > 0 then return -2 end

local function dropJobs(ids)
  for _, id in ipairs(ids) do
    -- a group job's group keys go with it (include/common.lua)
    local group = redis.call('HGET', base .. id, GROUP_FIELD)
    if group then
      redis.call('DEL', groupKey(group), groupActiveKey(group), groupDelayedKey(group))
    end
    -- a child leaves a parent on another queue (this queue's parents go too)
    detachFromParent(base .. id, base)
    deleteJobKeys(base .. id)
  end
  budget = budget - #ids
end

for _, list in ipairs({ k.active, k.wait, k.paused }) do
  while budget > 0 do
    local ids = redis.call('LRANGE', list, 0, math.min(budget, 1000) - 1)
    if #ids == 0 then break end
    dropJobs(ids)
    redis.call('LTRIM', list, #ids, -1)
  end
end
for _, set in ipairs({ k.delayed, k.completed, k.prioritized, k.failed, k['waiting-children'] }) do
  while budget > 0 do
    local ids = redis.call('ZRANGE', set, 0, math.min(budget, 1000) - 1)
    if #ids == 0 then break end
    dropJobs(ids)
    redis.call('ZREM', set, unpack(ids))
  end
end
-- job groups: each group's runnable jobs, then the delayed ones
while budget > 0 do
  local group = redis.call('ZRANGE', GROUP_RING, 0, 0)[1]
  if not group then break end
  local ids = redis.call('ZRANGE', groupKey(group), 0, math.min(budget, 1000) - 1)
  if #ids == 0 then
    redis.call('ZREM', GROUP_RING, group)
  else
    redis.call('ZREM', groupKey(group), unpack(ids))
    dropJobs(ids)
  end
end
while budget > 0 do
  local ids = redis.call('ZRANGE', GROUP_DELAYED, 0, math.min(budget, 1000) - 1)
  if #ids == 0 then break end
  redis.call('ZREM', GROUP_DELAYED, unpack(ids))
  dropJobs(ids)
end
while budget > 0 do
  local ids = redis.call('ZRANGE', k['repeat'], 0, math.min(budget, 1000) - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do redis.call('DEL', base .. 'repeat:' .. id) end
  redis.call('ZREM', k['repeat'], unpack(ids))
  budget = budget - #ids
end
if budget <= 0 then return 1 end
redis.call('DEL', unpack(KEYS))
redis.call('DEL', GROUP_RING, GROUP_DELAYED, base .. 'oxq:gset', base .. 'oxq:gwin',
  base .. 'oxq:gseq')
return 0
