-- include/dedup.lua: deduplication ids (BullMQ 6's `deduplication` job option, opts `de`), in
-- BullMQ's layout: `<base>de:<id>` holds the id of the job that owns the deduplication id (with
-- a PX TTL for a window), `<base>dn:<id>` a job kept aside by keepLastIfActive (hash: name,
-- data, opts, jid), and the owning job's hash has `deid`. Needs include/common.lua and the keys
-- wait, paused, active, prioritized, pc, delayed, meta, events, marker; add.lua also
-- include/read_job.lua. Release on removal and the TTL-less release on finish live in
-- common.lua (releaseDedupOnRemoval, releaseDedupOnFinish).
-- Windows follow the caller's clock (`now`, as every oxq time): a window is written as an
-- absolute expiry (`PXAT now + ttl`, the same moment as BullMQ's `PX ttl` when the clocks
-- agree), and a key whose expiry is at or before `now` counts as gone (PEXPIRETIME, Redis 7;
-- on 6.2 Redis's own expiry alone decides).

-- Deletes the key when its window has passed by the caller's clock.
local function dropDedupIfDue(dedupKey, now)
  local at = redis.pcall('PEXPIRETIME', dedupKey)
  if type(at) == 'number' and at > 0 and at <= now then redis.call('DEL', dedupKey) end
end

-- The `deduplicated` event: `kept` stands, `dropped` does not.
local function emitDeduplicated(maxLen, kept, dedupId, dropped)
  emit(maxLen, 'deduplicated', 'jobId', kept, 'deduplicationId', dedupId,
    'deduplicatedJobId', dropped)
end

-- Makes `id` the owner: without a TTL for keepLastIfActive (held until the job finishes),
-- else for the window `ttl` (ms) when there is one.
local function setDedupOwner(dedupKey, id, de, now)
  local ttl = tonumber(de.ttl) or 0
  if de.keepLastIfActive ~= true and ttl > 0 then
    redis.call('SET', dedupKey, id, 'PXAT', fmt(now + ttl))
  else
    redis.call('SET', dedupKey, id)
  end
end

-- A key without a TTL whose owner's hash is gone is stale (its job vanished without releasing
-- it): dropped with what was kept aside, and `id` takes it. True when that happened.
local function recoverStaleDedup(dedupKey, dedupId, owner, id, de, now)
  if redis.call('PTTL', dedupKey) ~= -1 or redis.call('EXISTS', base .. owner) == 1 then
    return false
  end
  redis.call('DEL', dedupKey, base .. 'dn:' .. dedupId)
  setDedupOwner(dedupKey, id, de, now)
  return true
end

-- keepLastIfActive while the owner is active: the add is kept aside (replacing one kept
-- before), the key loses its TTL, and the event names the owner. True when kept.
local function keepAsideIfActive(maxLen, dedupKey, dedupId, de, owner, id, name, data, opts)
  if de.keepLastIfActive ~= true or not redis.call('LPOS', k.active, owner) then return false end
  local nextKey = base .. 'dn:' .. dedupId
  redis.call('DEL', nextKey)
  redis.call('HSET', nextKey, 'name', name, 'data', data, 'opts', opts, 'jid', id)
  redis.call('PERSIST', dedupKey)
  emitDeduplicated(maxLen, owner, dedupId, id)
  return true
end

-- Takes a delayed owner out of its delayed zset (`delayed`, or oxq:gdelayed and its group's for
-- a group job: include/common.lua); true when it was delayed.
local function undelayOwner(owner)
  local group = redis.call('HGET', base .. owner, GROUP_FIELD)
  if group then return groupUndelay(owner, group) == 1 end
  return redis.call('ZREM', k.delayed, owner) == 1
end

-- Decides an add with deduplication id `dedupId` (options `de`) that would be job `id`:
-- answers the owner that stands when nothing is to be written, or nil to write the job (which
-- then owns the id; a replaced delayed owner is gone).
local function deduplicate(now, maxLen, dedupId, de, id, name, data, opts)
  local dedupKey = base .. 'de:' .. dedupId
  dropDedupIfDue(dedupKey, now)
  local ttl = tonumber(de.ttl) or 0
  local owner
  if de.replace == true then
    owner = redis.call('GET', dedupKey)
    if not owner then
      setDedupOwner(dedupKey, id, de, now)
      return nil
    end
    if undelayOwner(owner) then
      -- debounce: the delayed owner goes, this add stands in its place
      deleteJobKeys(base .. owner)
      redis.call('DEL', base .. 'dn:' .. dedupId)
      emit(maxLen, 'removed', 'jobId', owner, 'prev', 'delayed')
      emitDeduplicated(maxLen, id, dedupId, owner)
      if de.keepLastIfActive ~= true and ttl > 0 and de.extend ~= true then
        redis.call('SET', dedupKey, id, 'KEEPTTL')
      else
        setDedupOwner(dedupKey, id, de, now)
      end
      return nil
    end
    if recoverStaleDedup(dedupKey, dedupId, owner, id, de, now) then return nil end
    if not keepAsideIfActive(maxLen, dedupKey, dedupId, de, owner, id, name, data, opts) then
      emitDeduplicated(maxLen, owner, dedupId, id)
    end
    return owner
  end
  if ttl > 0 and de.extend == true then
    owner = redis.call('GET', dedupKey)
    if not owner then
      setDedupOwner(dedupKey, id, de, now)
      return nil
    end
    if recoverStaleDedup(dedupKey, dedupId, owner, id, de, now) then return nil end
    if keepAsideIfActive(maxLen, dedupKey, dedupId, de, owner, id, name, data, opts) then
      return owner
    end
    setDedupOwner(dedupKey, owner, de, now)
    emitDeduplicated(maxLen, owner, dedupId, id)
    return owner
  end
  local taken
  if ttl > 0 and de.keepLastIfActive ~= true then
    taken = redis.call('SET', dedupKey, id, 'PXAT', fmt(now + ttl), 'NX')
  else
    taken = redis.call('SET', dedupKey, id, 'NX')
  end
  if taken then return nil end
  owner = redis.call('GET', dedupKey)
  if recoverStaleDedup(dedupKey, dedupId, owner, id, de, now) then return nil end
  if not keepAsideIfActive(maxLen, dedupKey, dedupId, de, owner, id, name, data, opts) then
    emitDeduplicated(maxLen, owner, dedupId, id)
  end
  return owner
end

-- After the owner of `deid` finished (and released it): the job kept aside, if any, is
-- written under the id it was given at its add, takes the deduplication id and is queued as an
-- add would queue it (delayed, prioritized, or at the back or front of wait; a group job, its
-- opts' oxq.group, in its group's keys). Uses an id of the counter (`<base>id`), as BullMQ does.
local function requeueKeptAside(deid, now, maxLen)
  local nextKey = base .. 'dn:' .. deid
  local kept = redis.call('HMGET', nextKey, 'name', 'data', 'opts', 'jid')
  if not kept[1] then return end
  local counter = redis.call('INCR', base .. 'id')
  local id = kept[4] or fmt(counter)
  local opts = decodeJson(kept[3])
  if type(opts) ~= 'table' then opts = {} end
  local de = opts.de
  if type(de) ~= 'table' then de = {} end
  setDedupOwner(base .. 'de:' .. deid, id, de, now)
  local delay = math.max(0, math.floor(tonumber(opts.delay) or 0))
  local priority = math.max(0, math.floor(tonumber(opts.priority) or 0))
  local group = type(opts.oxq) == 'table' and opts.oxq.group
  if type(group) ~= 'string' then group = false end
  redis.call('HSET', base .. id, 'name', kept[1], 'data', kept[2], 'opts', kept[3],
    'timestamp', fmt(now), 'delay', fmt(delay), 'priority', fmt(priority), 'deid', deid)
  if group then redis.call('HSET', base .. id, GROUP_FIELD, group) end
  emit(maxLen, 'added', 'jobId', id, 'name', kept[1])
  if delay > 0 then
    local dueAt = now + delay
    delayJob(id, dueAt, group)
    emit(maxLen, 'delayed', 'jobId', id, 'delay', fmt(dueAt))
    addDelayMarker()
  else
    local blocked = isBlocked()
    enqueue(id, priority, opts.lifo == true, group)
    addBaseMarker(blocked)
    emit(maxLen, 'waiting', 'jobId', id)
  end
  redis.call('DEL', nextKey)
end
