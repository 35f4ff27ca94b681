-- drain.lua: removes every job waiting to run, and the delayed ones when asked (BullMQ drain).
--
-- KEYS
--   1 wait
--   2 paused
--   3 prioritized
--   4 pc
--   5 delayed
--   6 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 '1' to remove delayed jobs too
-- Returns
--   how many jobs were removed
-- Events
--   none (as BullMQ)
-- The pending iteration of each job scheduler is kept. Children leave their parents. Group
-- jobs waiting or delayed in their group's keys are drained too.

local keep = schedulerIterations()
local removed = 0

local function drop(id)
  local jobKey = base .. id
  detachFromParent(jobKey)
  releaseDedupOnRemoval(jobKey, id)
  deleteJobKeys(jobKey)
  removed = removed + 1
end

for _, list in ipairs({ k.wait, k.paused }) do
  local ids = redis.call('LRANGE', list, 0, -1)
  local kept = {}
  for _, id in ipairs(ids) do
    if keep[id] then kept[#kept + 1] = id else drop(id) end
  end
  redis.call('DEL', list)
  for i = 1, #kept, 1000 do
    redis.call('RPUSH', list, unpack(kept, i, math.min(i + 999, #kept)))
  end
end

local sets = { k.prioritized }
if ARGV[2] == '1' then sets[2] = k.delayed end
for _, set in ipairs(sets) do
  local ids = redis.call('ZRANGE', set, 0, -1)
  local gone = {}
  for _, id in ipairs(ids) do
    if not keep[id] then
      drop(id)
      gone[#gone + 1] = id
    end
  end
  for i = 1, #gone, 1000 do
    redis.call('ZREM', set, unpack(gone, i, math.min(i + 999, #gone)))
  end
end

-- Group jobs (include/common.lua): every group's runnable jobs, with the ring, and the delayed
-- ones when asked; a group's active set and settings stay, and so does the pending iteration
-- of a job scheduler whose template has a group (in its group's keys).
for _, group in ipairs(redis.call('ZRANGE', GROUP_RING, 0, -1)) do
  local key = groupKey(group)
  local kept = false
  for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if keep[id] then kept = true else drop(id) end
  end
  if kept then
    for _, id in ipairs(redis.call('ZRANGE', key, 0, -1)) do
      if not keep[id] then redis.call('ZREM', key, id) end
    end
  else
    redis.call('DEL', key)
    redis.call('ZREM', GROUP_RING, group)
  end
end
if ARGV[2] == '1' then
  for _, id in ipairs(redis.call('ZRANGE', GROUP_DELAYED, 0, -1)) do
    if not keep[id] then
      local group = redis.call('HGET', base .. id, GROUP_FIELD)
      if group then redis.call('ZREM', groupDelayedKey(group), id) end
      redis.call('ZREM', GROUP_DELAYED, id)
      drop(id)
    end
  end
end
if redis.call('ZCARD', k.prioritized) == 0 then redis.call('DEL', k.pc) end
return removed
