-- include/parent.lua: flows (bullmq-v5-model.md §8). A child carries `parentKey` (the parent's
-- job key "prefix:queue:id") and `parent` (JSON {id, queueKey, fpof|idof|rdof|cpof}); a parent
-- names its children by their job keys in `<parentKey>:dependencies` (pending, a set),
-- `:processed` (hash of return values), `:failed` (hash of ignored failures) and
-- `:unsuccessful` (zset of failures that fail it). A parent waits in its queue's
-- `waiting-children`. Parent and child may live in different queues, so these helpers build
-- the other queue's keys themselves. A parent with a group (hash field `oxq.group`) waits in
-- `waiting-children` too, and every release puts it in its group on its own queue
-- (oxq:g:<group>, or oxq:gdelayed and oxq:gd:<group>; include/common.lua), never in `wait`,
-- `prioritized` or `delayed`. Needs include/common.lua first.

-- The keys of a queue from its root "prefix:name".
local function queueKeysOf(queueKey)
  local p = queueKey .. ':'
  return { base = p, id = p .. 'id', wait = p .. 'wait', paused = p .. 'paused',
    active = p .. 'active', prioritized = p .. 'prioritized', pc = p .. 'pc',
    delayed = p .. 'delayed', completed = p .. 'completed', failed = p .. 'failed',
    ['waiting-children'] = p .. 'waiting-children', stalled = p .. 'stalled', meta = p .. 'meta',
    events = p .. 'events', marker = p .. 'marker', ['repeat'] = p .. 'repeat' }
end

-- A job key "prefix:queue:id" split on its last colon: the id and the queue's root.
local function splitJobKey(jobKey)
  local id = string.match(jobKey, '([^:]*)$')
  return id, string.sub(jobKey, 1, #jobKey - #id - 1)
end

-- The event stream's target length of another queue (meta opts.maxLenEvents, set to 10000 when
-- missing), read once per queue table.
local function maxEventsAt(q)
  if not q.maxLen then
    local text = redis.call('HGET', q.meta, 'opts.maxLenEvents')
    if text then
      q.maxLen = fmt(math.max(0, math.floor(tonumber(text) or 10000)))
    else
      redis.call('HSET', q.meta, 'opts.maxLenEvents', '10000')
      q.maxLen = '10000'
    end
  end
  return q.maxLen
end

-- A parent from a child's `parentKey` and `parent` (JSON) fields: its key, id and queue keys
-- (from the JSON, else from the key); nil without a parentKey.
local function parentFrom(parentKey, parentJson)
  if not parentKey then return nil end
  local info = decodeJson(parentJson)
  local parentId, queueKey
  if type(info) == 'table' and info.id and info.queueKey then
    parentId, queueKey = tostring(info.id), info.queueKey
  else
    parentId, queueKey = splitJobKey(parentKey)
    info = {}
  end
  return { key = parentKey, id = parentId, q = queueKeysOf(queueKey), flags = info }
end

-- A job's parent, read from its hash (see parentFrom).
local function parentOf(jobKey)
  local m = redis.call('HMGET', jobKey, 'parentKey', 'parent')
  return parentFrom(m[1], m[2])
end

-- Whether a parent (from parentFrom) is delayed: in its queue's `delayed`, or with its group
-- `group` (false for none) in that queue's oxq:gdelayed.
local function parentDelayed(parent, group)
  if group then
    return redis.call('ZSCORE', parent.q.base .. 'oxq:gdelayed', parent.id) ~= false
  end
  return redis.call('ZSCORE', parent.q.delayed, parent.id) ~= false
end

-- Takes a parent with group `group` (false for none) out of its queue's delayed jobs; 1 when
-- it was there.
local function undelayParent(parent, group)
  local q = parent.q
  if not group then return redis.call('ZREM', q.delayed, parent.id) end
  redis.call('ZREM', q.base .. 'oxq:gd:' .. group, parent.id)
  return redis.call('ZREM', q.base .. 'oxq:gdelayed', parent.id)
end

-- Moves a parent out of waiting-children (or delayed, when `fromDelayed`) per its own delay
-- and priority: delayed from now, else the front of its wait list, else prioritized; a parent
-- with a group the same within its group (include/common.lua). Its event is `delayed`, or
-- `waiting` with prev the state it left.
local function releaseParent(parent, now, fromDelayed)
  local q = parent.q
  local m = redis.call('HMGET', parent.key, 'priority', 'delay', GROUP_FIELD)
  local priority, delay, group = tonumber(m[1]) or 0, tonumber(m[2]) or 0, m[3]
  if fromDelayed then
    if undelayParent(parent, group) == 0 then return end
    redis.call('HSET', parent.key, 'delay', 0)
    delay = 0
  elseif redis.call('ZREM', q['waiting-children'], parent.id) == 0 then
    return
  end
  local maxLen = maxEventsAt(q)
  if delay > 0 then
    local due = now + delay
    if group then
      groupDelayAt(q.base, parent.id, due, group)
    else
      redis.call('ZADD', q.delayed, due * 4096, parent.id)
    end
    emitTo(q.events, maxLen, 'delayed', 'jobId', parent.id, 'delay', fmt(due))
    delayMarkerAt(q.base, q.marker, q.delayed)
  else
    local blocked = blockedAt(q.meta, q.active)
    if group then
      groupEnqueueAt(q.base, parent.id, priority, true, group)
    else
      enqueueIn(q, parent.id, priority, true)
    end
    baseMarkerAt(q.marker, blocked)
    local prev = 'waiting-children'
    if fromDelayed then prev = 'delayed' end
    emitTo(q.events, maxLen, 'waiting', 'jobId', parent.id, 'prev', prev)
  end
end

local function releaseParentIfDone(parent, now)
  if redis.call('SCARD', parent.key .. ':dependencies') == 0 then releaseParent(parent, now, false) end
end

-- A child completed: record its value in its parent (from parentFrom; nil for none) and
-- release the parent when it was the last.
local function childCompleted(parent, jobKey, returnValue, now)
  if not parent then return end
  if redis.call('SREM', parent.key .. ':dependencies', jobKey) == 1 then
    redis.call('HSET', parent.key .. ':processed', jobKey, returnValue)
    releaseParentIfDone(parent, now)
  end
end

-- A child failed for good: apply its parent's (from parentFrom; nil for none) failure policy
-- (fpof, cpof, idof, rdof; none = the parent keeps waiting for it). Only a pending child
-- counts: one its parent no longer waits for changes nothing.
local function childFailed(parent, jobKey, reason, now)
  if not parent then return end
  local flags = parent.flags
  if not (flags.fpof or flags.cpof or flags.idof or flags.rdof) then return end
  if redis.call('SREM', parent.key .. ':dependencies', jobKey) == 0 then return end
  if flags.fpof then
    redis.call('ZADD', parent.key .. ':unsuccessful', now, jobKey)
    if redis.call('EXISTS', parent.key) == 0 then return end
    local message = 'child ' .. jobKey .. ' failed'
    if redis.call('ZSCORE', parent.q['waiting-children'], parent.id) then
      redis.call('HSET', parent.key, 'defa', message)
      releaseParent(parent, now, false)
    elseif parentDelayed(parent, redis.call('HGET', parent.key, GROUP_FIELD)) then
      redis.call('HSET', parent.key, 'defa', message)
      releaseParent(parent, now, true)
    elseif not redis.call('ZSCORE', parent.q.failed, parent.id) then
      redis.call('HSET', parent.key, 'defa', message)
    end
  elseif flags.cpof then
    redis.call('HSET', parent.key .. ':failed', jobKey, reason)
    releaseParent(parent, now, false)
  elseif flags.idof then
    redis.call('HSET', parent.key .. ':failed', jobKey, reason)
    releaseParentIfDone(parent, now)
  else
    releaseParentIfDone(parent, now)
  end
end

-- A child is deleted (removal, immediate retention): drop it from its parent's dependencies and
-- release the parent to the front of its wait list (of its group, with one) when nothing else
-- is pending. A parent whose key starts with `skipBase` (one being deleted by the same call) is
-- left alone.
local function detachFromParent(jobKey, skipBase)
  local parent = parentOf(jobKey)
  if not parent then return end
  if skipBase and string.sub(parent.key, 1, #skipBase) == skipBase then return end
  if redis.call('SREM', parent.key .. ':dependencies', jobKey) == 0 then return end
  if redis.call('SCARD', parent.key .. ':dependencies') > 0 then return end
  local q = parent.q
  if redis.call('ZREM', q['waiting-children'], parent.id) == 0 then return end
  local blocked = blockedAt(q.meta, q.active)
  local group = redis.call('HGET', parent.key, GROUP_FIELD)
  if group then
    groupEnqueueAt(q.base, parent.id, 0, true, group)
  else
    redis.call('RPUSH', q.wait, parent.id)
  end
  baseMarkerAt(q.marker, blocked)
  emitTo(q.events, maxEventsAt(q), 'waiting', 'jobId', parent.id, 'prev', 'waiting-children')
end

-- A child retried from completed or failed is pending again in its parent (when the parent
-- still exists): its recorded value or failure is forgotten. The parent is not moved.
local function childPendingAgain(jobKey, parentKey)
  if not parentKey or redis.call('EXISTS', parentKey) == 0 then return end
  redis.call('ZREM', parentKey .. ':unsuccessful', jobKey)
  redis.call('HDEL', parentKey .. ':failed', jobKey)
  redis.call('HDEL', parentKey .. ':processed', jobKey)
  redis.call('SADD', parentKey .. ':dependencies', jobKey)
end
