-- include/parent.lua: flows created by Node's FlowProducer (a child in `:dependencies` of a
-- parent that waits in its queue's `waiting-children`). Needs include/common.lua first.

-- The keys of another queue from its root "prefix:name".
local function queueKeysOf(queueKey)
  local p = queueKey .. ':'
  return { wait = p .. 'wait', active = p .. 'active', prioritized = p .. 'prioritized',
    pc = p .. 'pc', delayed = p .. 'delayed', meta = p .. 'meta', events = p .. 'events',
    marker = p .. 'marker', ['waiting-children'] = p .. 'waiting-children', failed = p .. 'failed' }
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
    parentId = string.match(parentKey, '([^:]+)$')
    queueKey = string.sub(parentKey, 1, #parentKey - #parentId - 1)
    info = {}
  end
  return { key = parentKey, id = parentId, q = queueKeysOf(queueKey), flags = info }
end

-- A job's parent, read from its hash (see parentFrom).
local function parentOf(jobKey)
  local m = redis.call('HMGET', jobKey, 'parentKey', 'parent')
  return parentFrom(m[1], m[2])
end

local function maxEventsOf(q)
  return tonumber(redis.call('HGET', q.meta, 'opts.maxLenEvents')) or 10000
end

-- Moves a parent out of waiting-children (or delayed, when `fromDelayed`) per its own delay
-- and priority: delayed from now, else the front of its wait list, else prioritized.
local function releaseParent(parent, now, fromDelayed)
  local q = parent.q
  if fromDelayed then
    if redis.call('ZREM', q.delayed, parent.id) == 0 then return end
    redis.call('HSET', parent.key, 'delay', 0)
  elseif redis.call('ZREM', q['waiting-children'], parent.id) == 0 then
    return
  end
  local m = redis.call('HMGET', parent.key, 'priority', 'delay')
  local priority, delay = tonumber(m[1]) or 0, tonumber(m[2]) or 0
  local maxLen = maxEventsOf(q)
  if delay > 0 then
    local due = now + delay
    redis.call('ZADD', q.delayed, due * 4096, parent.id)
    emitTo(q.events, maxLen, 'delayed', 'jobId', parent.id, 'delay', due)
    delayMarkerAt(q.marker, q.delayed)
  else
    local blocked = blockedAt(q.meta, q.active)
    enqueueIn(q, parent.id, priority, true)
    baseMarkerAt(q.marker, blocked)
    emitTo(q.events, maxLen, 'waiting', 'jobId', parent.id, 'prev', 'waiting-children')
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
-- (fpof, cpof, idof, rdof; none = the parent keeps waiting for it).
local function childFailed(parent, jobKey, reason, now)
  if not parent then return end
  local flags = parent.flags
  local deps = parent.key .. ':dependencies'
  if flags.fpof then
    redis.call('SREM', deps, jobKey)
    redis.call('ZADD', parent.key .. ':unsuccessful', now, jobKey)
    if redis.call('EXISTS', parent.key) == 0 then return end
    local message = 'child ' .. jobKey .. ' failed'
    if redis.call('ZSCORE', parent.q['waiting-children'], parent.id) then
      redis.call('HSET', parent.key, 'defa', message)
      releaseParent(parent, now, false)
    elseif redis.call('ZSCORE', parent.q.delayed, parent.id) then
      redis.call('HSET', parent.key, 'defa', message)
      releaseParent(parent, now, true)
    elseif not redis.call('ZSCORE', parent.q.failed, parent.id) then
      redis.call('HSET', parent.key, 'defa', message)
    end
  elseif flags.cpof then
    redis.call('SREM', deps, jobKey)
    redis.call('HSET', parent.key .. ':failed', jobKey, reason)
    releaseParent(parent, now, false)
  elseif flags.idof then
    redis.call('SREM', deps, jobKey)
    redis.call('HSET', parent.key .. ':failed', jobKey, reason)
    releaseParentIfDone(parent, now)
  elseif flags.rdof then
    redis.call('SREM', deps, jobKey)
    releaseParentIfDone(parent, now)
  end
end

-- A child is deleted (removal, immediate retention): drop it from its parent's dependencies and
-- release the parent to the front of its wait list when nothing else is pending.
local function detachFromParent(jobKey)
  local parent = parentOf(jobKey)
  if not parent then return end
  if redis.call('SREM', parent.key .. ':dependencies', jobKey) == 0 then return end
  if redis.call('SCARD', parent.key .. ':dependencies') > 0 then return end
  local q = parent.q
  if redis.call('ZREM', q['waiting-children'], parent.id) == 0 then return end
  local blocked = blockedAt(q.meta, q.active)
  redis.call('RPUSH', q.wait, parent.id)
  baseMarkerAt(q.marker, blocked)
  emitTo(q.events, maxEventsOf(q), 'waiting', 'jobId', parent.id, 'prev', 'waiting-children')
end
