-- clean.lua: removes up to `limit` jobs of one state that are older than a cut-off (BullMQ
-- cleanJobsInSet).
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 delayed
--   6 completed
--   7 failed
--   8 waiting-children
--   9 meta
--   10 events
--   11 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 state: 'wait' (also the legacy 'paused' list) | 'active' | 'prioritized' | 'delayed' |
--     'completed' | 'failed' | 'waiting-children'
--   3 cut-off (ms): only jobs whose time is at or before it
--   4 limit (0 = no limit)
-- Returns
--   the ids removed, oldest first
-- Events
--   cleaned {count}
-- The time of a job: finishedOn (its score) for completed and failed; the first present of
-- finishedOn, processedOn, timestamp for lists; processedOn or timestamp for delayed;
-- timestamp otherwise. Active jobs are only removed when no worker holds them (lockHeld in
-- include/common.lua: the lock is gone, or a group job's heartbeat); pending scheduler
-- iterations are never removed from unfinished states. Group jobs waiting, prioritized or
-- delayed in their group's keys are cleaned with their state (after the plain jobs).

local state = ARGV[2]
local cutoff = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local removed = {}
local function full() return limit > 0 and #removed >= limit end

local function drop(id)
  local jobKey = base .. id
  detachFromParent(jobKey)
  releaseDedupOnRemoval(jobKey, id)
  deleteJobKeys(jobKey)
  removed[#removed + 1] = id
end

local function jobTime(jobKey, fields)
  local m = redis.call('HMGET', jobKey, unpack(fields))
  for i = 1, #fields do
    if m[i] then return tonumber(m[i]) end
  end
  return nil
end

if state == 'completed' or state == 'failed' then
  local ids = redis.call('ZRANGEBYSCORE', k[state], '-inf', cutoff, 'LIMIT', 0, limit > 0 and limit or -1)
  for _, id in ipairs(ids) do drop(id) end
  for i = 1, #ids, 1000 do
    redis.call('ZREM', k[state], unpack(ids, i, math.min(i + 999, #ids)))
  end
else
  local keep = schedulerIterations()
  if state == 'wait' or state == 'active' then
    local lists = { k[state] }
    if state == 'wait' then lists = { k.paused, k.wait } end
    local fields = { 'finishedOn', 'processedOn', 'timestamp' }
    for _, list in ipairs(lists) do
      local ids = redis.call('LRANGE', list, 0, -1)
      local marked = false
      for i = #ids, 1, -1 do
        if full() then break end
        local id = ids[i]
        local jobKey = base .. id
        local t = jobTime(jobKey, fields)
        local locked = state == 'active' and lockHeld(jobKey)
        if not keep[id] and not locked and (t == nil or t <= cutoff) then
          redis.call('LSET', list, i - 1, '__oxq_cleaned__')
          marked = true
          -- an active group job frees its group's slot (include/common.lua)
          if state == 'active' then groupRemove(id) end
          drop(id)
        end
      end
      if marked then redis.call('LREM', list, 0, '__oxq_cleaned__') end
    end
  else
    local fields = { 'timestamp' }
    if state == 'delayed' then fields = { 'processedOn', 'timestamp' } end
    local ids = redis.call('ZRANGE', k[state], 0, -1)
    local gone = {}
    for _, id in ipairs(ids) do
      if full() then break end
      local t = jobTime(base .. id, fields)
      if not keep[id] and (t == nil or t <= cutoff) then
        drop(id)
        gone[#gone + 1] = id
      end
    end
    for i = 1, #gone, 1000 do
      redis.call('ZREM', k[state], unpack(gone, i, math.min(i + 999, #gone)))
    end
  end
end

-- Group jobs (include/common.lua) of the state, after the plain ones, each taken out of its
-- group's keys: the runnable jobs of every group of the ring ('wait': the unprioritized,
-- 'prioritized': the others), or the delayed ones (oxq:gdelayed). The pending iteration of a
-- job scheduler whose template has a group stays, as a plain one does.
local keepIterations = nil
local function cleanGroupJob(id, group, fields)
  keepIterations = keepIterations or schedulerIterations()
  if keepIterations[id] then return end
  local t = jobTime(base .. id, fields)
  if t ~= nil and t > cutoff then return end
  groupRemoveAt(base, id, group)
  drop(id)
end
if state == 'delayed' then
  for _, id in ipairs(redis.call('ZRANGE', GROUP_DELAYED, 0, -1)) do
    if full() then break end
    local group = redis.call('HGET', base .. id, GROUP_FIELD)
    if group then cleanGroupJob(id, group, { 'processedOn', 'timestamp' }) end
  end
elseif state == 'wait' or state == 'prioritized' then
  local low, high = '-inf', '(' .. GROUP_PRIORITIZED
  local fields = { 'finishedOn', 'processedOn', 'timestamp' }
  if state == 'prioritized' then low, high, fields = GROUP_PRIORITIZED, '+inf', { 'timestamp' } end
  for _, group in ipairs(redis.call('ZRANGE', GROUP_RING, 0, -1)) do
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', groupKey(group), low, high)) do
      if full() then break end
      cleanGroupJob(id, group, fields)
    end
  end
end
emit(maxEvents(), 'cleaned', 'count', #removed)
return removed
