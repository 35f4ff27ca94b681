-- include/common.lua: helpers every oxq script starts with (prepended at build time).
--
-- Conventions shared by all scripts:
--   * ARGV[1] is the queue's base key "prefix:name:" and every KEYS[i] is base .. suffix, so the
--     table `k` below names each key by its suffix (k.wait, k['stalled-check'], ...).
--   * A job's hash is base .. id; its lock base .. id .. ':lock'; its log base .. id .. ':logs'.
--     An active group job's lock has no expiry; its holder's liveness is the heartbeat
--     base .. id .. ':oxq.hb' (see lockHeld).
--   * Times are milliseconds since the epoch, passed by the client (never Redis TIME).
--   * Validate first, write last: Lua does not roll back.
--   * Hot paths (a job's fetch and completion) pass numbers to redis.call as text ('1', '-1',
--     the caller's time): Redis formats a Lua number argument with printf on every call.
-- Layout and encodings follow BullMQ 6 (see shared/design/bullmq-v5-model.md and -v6-delta.md);
-- the code is oxq's own.

local base = ARGV[1]
local k = {}
for i = 1, #KEYS do
  k[string.sub(KEYS[i], #base + 1)] = KEYS[i]
end

-- An integer as decimal text (never scientific notation).
local function fmt(n)
  return string.format('%d', n)
end

local function decodeJson(text)
  if not text then return nil end
  local ok, value = pcall(cjson.decode, text)
  if ok then return value end
  return nil
end

-- The event stream's target length as decimal text, from the meta field opts.maxLenEvents as
-- read (`text`, false when missing: then 10000 is written).
local function maxEventsOf(text)
  if text and string.find(text, '^%d+$') then return text end
  local n = tonumber(text)
  if n then return fmt(math.max(0, math.floor(n))) end
  redis.call('HSET', k.meta, 'opts.maxLenEvents', '10000')
  return '10000'
end

-- The event stream's target length as decimal text (meta field opts.maxLenEvents, set to 10000
-- when missing).
local function maxEvents()
  return maxEventsOf(redis.call('HGET', k.meta, 'opts.maxLenEvents'))
end

-- Appends `event <name> <field> <value> ...` to a stream, trimmed approximately.
local function emitTo(eventsKey, maxLen, name, ...)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', maxLen, '*', 'event', name, ...)
end

-- The hot paths (a job's `active` and `completed` events) append without MAXLEN and the script
-- trims once before it returns: a trim check on every XADD costs more than one XTRIM per call,
-- and nobody sees the stream in between (a script runs alone).
local function trimEvents(maxLen)
  redis.call('XTRIM', k.events, 'MAXLEN', '~', maxLen)
end

-- Paused (meta field `paused`) or at its global concurrency (meta `concurrency`): runnable jobs
-- still go to `wait`/`prioritized` (BullMQ 6) but no worker is woken.
-- `paused` and `concurrency` are the meta fields as read.
local function blockedBy(paused, concurrency, activeKey)
  if paused then return true end
  local cap = tonumber(concurrency)
  if cap and redis.call('LLEN', activeKey) >= cap then return true end
  return false
end

local function blockedAt(metaKey, activeKey)
  local m = redis.call('HMGET', metaKey, 'paused', 'concurrency')
  return blockedBy(m[1], m[2], activeKey)
end

-- Marker member "0" with score 0: a job is runnable now.
local function baseMarkerAt(markerKey, blocked)
  if not blocked then redis.call('ZADD', markerKey, 0, '0') end
end

-- Due time (ms) of the earliest delayed job of a delayed zset, or nil.
local function nextDueIn(delayedKey)
  local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if first[2] then return math.floor(tonumber(first[2]) / 4096) end
  return nil
end

-- Marker member "1" scored with the next due time of the queue whose base key is `b`: the
-- earliest of its `delayed` zset (`delayedKey`) and of its delayed group jobs (oxq:gdelayed,
-- below), so neither kind is woken late (written even while paused).
local function delayMarkerAt(b, markerKey, delayedKey)
  local due = nextDueIn(delayedKey)
  local groupDue = nextDueIn(b .. 'oxq:gdelayed')
  if groupDue and (not due or groupDue < due) then due = groupDue end
  if due then redis.call('ZADD', markerKey, due, '1') end
end

-- Delayed score for a job due at dueAt: dueAt*4096 + a tie-breaker keeping FIFO order among
-- jobs due in the same millisecond (highest existing score in that millisecond + 1).
local function delayedScoreIn(delayedKey, dueAt)
  local low = dueAt * 4096
  local high = low + 4095
  local top = redis.call('ZREVRANGEBYSCORE', delayedKey, high, low, 'WITHSCORES', 'LIMIT', 0, 1)
  if top[2] then return math.min(tonumber(top[2]) + 1, high) end
  return low
end

-- Prioritized score: priority * 2^32 + (INCR pc mod 2^32): lower runs first, FIFO per priority.
local function priorityScoreIn(pcKey, priority)
  local counter = redis.call('INCR', pcKey)
  return priority * 4294967296 + (counter % 4294967296)
end

-- Makes a job runnable in queue `q` (a table of that queue's keys): priority 0 goes to the wait
-- list (LPUSH = back of the line, RPUSH = next to run), otherwise to prioritized.
local function enqueueIn(q, id, priority, front)
  if priority > 0 then
    redis.call('ZADD', q.prioritized, priorityScoreIn(q.pc, priority), id)
  elseif front then
    redis.call('RPUSH', q.wait, id)
  else
    redis.call('LPUSH', q.wait, id)
  end
end

-- Job groups (tenant fairness) are oxq's own: BullMQ has them only in its paid tier. A group
-- job never sits in `wait`, `prioritized`, `paused` or `delayed`, the keys a Node worker takes
-- and promotes jobs from, so a Node worker on the queue never takes one. Keys under base:
--   oxq:groups      zset, every score 0: the groups with runnable jobs, in key order (the
--                   round-robin ring of include/fetch.lua)
--   oxq:g:<group>   zset: the group's runnable jobs, next first (scores: groupEnqueueAt)
--   oxq:gdelayed    zset: delayed group jobs of every group, scored as `delayed`
--   oxq:gd:<group>  zset: the same for one group (its delayed count)
--   oxq:ga:<group>  set: the group's active jobs (its concurrency count)
--   oxq:gseq        counter: the order of group jobs
--   oxq:gset        hash: settings, 'p:<g>' paused, 'c:<g>' concurrency, 'r:<g>' rate limit
--                   "max:ms" ('c:' and 'r:' hold the ones for every group), and 'cursor', the
--                   group served last
--   oxq:gwin        hash: '<g>' -> "starts:end" of the group's rate window (the caller's ms)
-- A group job's hash names its group in field `oxq.group` (its opts in `oxq.group` too). Group
-- keys hold no ':' (oxq_core::validate_group_key), so the hash fields cannot collide.
local GROUP_RING = base .. 'oxq:groups'
local GROUP_DELAYED = base .. 'oxq:gdelayed'
local GROUP_FIELD = 'oxq.group'
-- A runnable group job scored at or above this has a priority (see groupEnqueueAt).
local GROUP_PRIORITIZED = 4294967296
local function groupKey(group) return base .. 'oxq:g:' .. group end
local function groupActiveKey(group) return base .. 'oxq:ga:' .. group end
local function groupDelayedKey(group) return base .. 'oxq:gd:' .. group end

-- Makes job `id` runnable in `group` of the queue whose base key is `b`: unprioritized jobs in
-- order (or at the front, next to run, with `front`), then prioritized ones by priority
-- (priority * 2^32 + order), as the `wait` list and `prioritized` zset order plain jobs.
local function groupEnqueueAt(b, id, priority, front, group)
  local seq = redis.call('INCR', b .. 'oxq:gseq') % 4294967296
  local score = seq
  if priority > 0 then
    score = priority * GROUP_PRIORITIZED + seq
  elseif front then
    score = -seq
  end
  redis.call('ZADD', b .. 'oxq:g:' .. group, score, id)
  redis.call('ZADD', b .. 'oxq:groups', 0, group)
end

-- Puts job `id` of `group`, due at dueAt, among the delayed group jobs of the queue whose base
-- key is `b` (oxq:gdelayed and oxq:gd:<group>, scored as `delayed`).
local function groupDelayAt(b, id, dueAt, group)
  local key = b .. 'oxq:gdelayed'
  local score = delayedScoreIn(key, dueAt)
  redis.call('ZADD', key, score, id)
  redis.call('ZADD', b .. 'oxq:gd:' .. group, score, id)
end

-- groupEnqueueAt for this script's queue.
local function groupEnqueue(id, priority, front, group)
  groupEnqueueAt(base, id, priority, front, group)
end

-- Takes job `id` out of its group's runnable jobs (and the group out of the ring when that
-- leaves it none); 1 when it was there.
local function groupDequeue(id, group)
  local key = groupKey(group)
  local removed = redis.call('ZREM', key, id)
  if removed == 1 and redis.call('EXISTS', key) == 0 then redis.call('ZREM', GROUP_RING, group) end
  return removed
end

-- Takes a delayed group job out of oxq:gdelayed and its group's; 1 when it was delayed.
local function groupUndelay(id, group)
  redis.call('ZREM', groupDelayedKey(group), id)
  return redis.call('ZREM', GROUP_DELAYED, id)
end

-- Takes job `id` of `group` out of every group key of the queue whose base key is `b` (its
-- group's active set, its runnable jobs with the ring, the delayed zsets); answers the state
-- it left: 'prioritized' or 'wait' (runnable), 'delayed', or nil (active, or in none).
local function groupRemoveAt(b, id, group)
  redis.call('SREM', b .. 'oxq:ga:' .. group, id)
  local key = b .. 'oxq:g:' .. group
  local score = redis.call('ZSCORE', key, id)
  if score then
    redis.call('ZREM', key, id)
    if redis.call('EXISTS', key) == 0 then redis.call('ZREM', b .. 'oxq:groups', group) end
    if tonumber(score) >= GROUP_PRIORITIZED then return 'prioritized' end
    return 'wait'
  end
  redis.call('ZREM', b .. 'oxq:gd:' .. group, id)
  if redis.call('ZREM', b .. 'oxq:gdelayed', id) == 1 then return 'delayed' end
  return nil
end

-- groupRemoveAt for a job of this script's queue, its group read from its hash; nil for a job
-- without a group too.
local function groupRemove(id)
  local group = redis.call('HGET', base .. id, GROUP_FIELD)
  if not group then return nil end
  return groupRemoveAt(base, id, group)
end

-- Shorthands for this script's own queue.
local function emit(maxLen, name, ...) emitTo(k.events, maxLen, name, ...) end
local function isBlocked() return blockedAt(k.meta, k.active) end
local function addBaseMarker(blocked) baseMarkerAt(k.marker, blocked) end
-- the delay marker at the earliest due time of `delayed` and oxq:gdelayed
local function addDelayMarker() delayMarkerAt(base, k.marker, k.delayed) end
-- After jobs left this queue's `active`: when the queue has a global concurrency (meta
-- `concurrency`, as read) and is now below it, is not paused (meta `paused`, as read) and has
-- runnable jobs, the base marker wakes its idle workers (Node's too). While the queue was at
-- its concurrency, adds and promotions woke nobody (blockedBy), so without this the freed slot
-- would wait for an idle worker's next look (its drain delay).
local function wakeForFreedSlot(paused, concurrency)
  local cap = tonumber(concurrency)
  if paused or not cap or redis.call('LLEN', k.active) >= cap then return end
  if redis.call('LLEN', k.wait) > 0 or redis.call('ZCARD', k.prioritized) > 0
      or redis.call('LLEN', k.paused) > 0 or redis.call('EXISTS', GROUP_RING) == 1 then
    addBaseMarker(false)
  end
end
-- Makes a job of this queue runnable: in its group when it has one. `group` is the job's
-- group, false for none, or nil to read it from the job's hash (one HGET).
local function enqueue(id, priority, front, group)
  if group == nil then group = redis.call('HGET', base .. id, GROUP_FIELD) end
  if group then
    groupEnqueue(id, priority, front, group)
  else
    enqueueIn(k, id, priority, front)
  end
end
-- Puts a job of this queue among its delayed jobs, due at dueAt: in `delayed`, or with a group
-- (false for none) in oxq:gdelayed and its group's (groupDelayAt), never in `delayed`.
local function delayJob(id, dueAt, group)
  if group then
    groupDelayAt(base, id, dueAt, group)
  else
    redis.call('ZADD', k.delayed, delayedScoreIn(k.delayed, dueAt), id)
  end
end

-- An active group job's heartbeat, beside its lock: job key .. HEARTBEAT.
--
-- A group job must never run on a Node worker, and Node's stalled check (moveStalledJobsToWait)
-- moves an active job whose `:lock` key is gone to `wait`, where any worker takes it outside its
-- group. So an oxq worker locks a group job without expiry (Node always finds it locked and
-- leaves it alone) and its liveness is this key instead: the lock token, with the lock's
-- duration as `PX`, set at the fetch (include/fetch.lua activate) and renewed by
-- extend_locks.lua in place of the lock. Once it has expired, oxq's own stalled check
-- (recover_stalled.lua) puts the job back into its group and deletes both keys. Every path
-- that ends an active job deletes both. A plain job's lock keeps its `PX` and has no heartbeat.
local HEARTBEAT = ':oxq.hb'

-- Whether a worker holds the job whose hash is `jobKey`: its lock is there and, when it has
-- no expiry (a group job's), so is its heartbeat. One PTTL for a plain job (as one EXISTS).
local function lockHeld(jobKey)
  local ttl = redis.call('PTTL', jobKey .. ':lock')
  if ttl == -2 then return false end
  if ttl == -1 then return redis.call('EXISTS', jobKey .. HEARTBEAT) == 1 end
  return true
end

-- Deletes a job's hash and every key hanging off it.
local function deleteJobKeys(jobKey)
  redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':lock', jobKey .. HEARTBEAT,
    jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed',
    jobKey .. ':unsuccessful', jobKey .. ':steps')
end

-- Releases a deduplication key (the job's `deid` field, false for none) when the job that owns
-- it finishes: keys with a TTL are left to expire (throttle), keys without one are deleted if
-- they still name this job.
local function releaseDedupOnFinish(id, deid)
  if not deid then return end
  local dedupKey = base .. 'de:' .. deid
  local pttl = redis.call('PTTL', dedupKey)
  if pttl == 0 or (pttl == -1 and redis.call('GET', dedupKey) == id) then
    redis.call('DEL', dedupKey)
  end
end

-- Releases a deduplication key owned by a job that is being removed; `jobBase` is the job's
-- queue's "prefix:name:" when it is not this script's queue.
local function releaseDedupOnRemoval(jobKey, id, jobBase)
  local deid = redis.call('HGET', jobKey, 'deid')
  if not deid then return end
  local b = jobBase or base
  local dedupKey = b .. 'de:' .. deid
  if redis.call('GET', dedupKey) == id then
    redis.call('DEL', dedupKey, b .. 'dn:' .. deid)
  end
end

-- Ids of the pending iteration of every job scheduler ("repeat:<id>:<millis>"), as a set.
local function schedulerIterations()
  local set = {}
  if not k['repeat'] then return set end
  local entries = redis.call('ZRANGE', k['repeat'], 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    set['repeat:' .. entries[i] .. ':' .. fmt(tonumber(entries[i + 1]))] = true
  end
  return set
end
