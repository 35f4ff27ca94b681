-- include/retention.lua: removeOnComplete / removeOnFail trims of the completed and failed sets
-- (BullMQ 4.9). Needs include/common.lua (and include/parent.lua for detaching children).

-- Deletes a finished job evicted by retention: no dedup release, soft parent detach.
local function evict(id)
  local jobKey = base .. id
  detachFromParent(jobKey)
  deleteJobKeys(jobKey)
end

-- Keeps the newest `count` members of a finished set.
local function trimByCount(setKey, count)
  local old = redis.call('ZREVRANGE', setKey, count, -1)
  if #old == 0 then return end
  for _, id in ipairs(old) do evict(id) end
  redis.call('ZREMRANGEBYRANK', setKey, 0, -(count + 1))
end

-- Removes members that finished at or before now - ageMs, at most 1000 per call.
local function trimByAge(setKey, now, ageMs)
  local old = redis.call('ZRANGEBYSCORE', setKey, '-inf', now - ageMs, 'LIMIT', 0, 1000)
  for i = 1, #old do
    evict(old[i])
  end
  for i = 1, #old, 1000 do
    redis.call('ZREM', setKey, unpack(old, i, math.min(i + 999, #old)))
  end
end

-- Pending trims, applied once per (set, policy) at the end of a script.
local pendingTrims = {}

local function addTrim(setKey, count, ageMs)
  if count < 0 and ageMs <= 0 then return end
  pendingTrims[setKey .. '|' .. fmt(count) .. '|' .. fmt(ageMs)] = { setKey, count, ageMs }
end

local function applyTrims(now)
  for _, t in pairs(pendingTrims) do
    if t[3] > 0 then trimByAge(t[1], now, t[3]) end
    if t[2] > 0 then trimByCount(t[1], t[2]) end
  end
end
