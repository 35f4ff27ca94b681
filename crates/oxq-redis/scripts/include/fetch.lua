-- include/fetch.lua: promoting due delayed jobs and moving runnable jobs to active under a lock
-- (shared by move_to_active.lua and finish.lua's fetch-next), plain jobs first, then group jobs
-- round-robin across their groups (include/common.lua names the group keys). Needs
-- include/common.lua and the keys wait, paused, active, prioritized, pc, delayed, meta,
-- events, marker, limiter.

-- Delayed jobs due at `now` (score <= (now+1)*4096 - 1), at most 1000, soonest first, become
-- runnable (back of the line, or prioritized) with event `waiting prev delayed`.
local function promoteDue(now, maxLen, blocked)
  local due = redis.call('ZRANGEBYSCORE', k.delayed, 0, (now + 1) * 4096 - 1, 'LIMIT', 0, 1000)
  if #due == 0 then return 0 end
  for _, id in ipairs(due) do
    redis.call('ZREM', k.delayed, id)
    local jobKey = base .. id
    if redis.call('EXISTS', jobKey) == 1 then
      enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, false)
      redis.call('HSET', jobKey, 'delay', 0)
      emit(maxLen, 'waiting', 'jobId', id, 'prev', 'delayed')
    end
  end
  addBaseMarker(blocked)
  return #due
end

-- Appends ids to `out` unless they are pre-5.0 markers ("0:<n>") left in a list.
local function keepJobIds(out, ids)
  for _, id in ipairs(ids) do
    if string.sub(id, 1, 2) ~= '0:' then out[#out + 1] = id end
  end
end

-- Takes up to n runnable ids and pushes them to the left of `active` (the first taken ends up
-- rightmost, as n single LMOVEs would leave them): a legacy 5.x `paused` list first (a 6.x
-- resume would run those first), then `wait` from the right, then the lowest prioritized
-- scores. One pop per source instead of one per job.
local function takeRunnable(n)
  local ids = {}
  for _, list in ipairs({ k.paused, k.wait }) do
    while #ids < n do
      local popped = redis.call('RPOP', list, n - #ids)
      if not popped then break end
      keepJobIds(ids, popped)
    end
  end
  if #ids < n then
    local popped = redis.call('ZPOPMIN', k.prioritized, n - #ids)
    for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
    if #ids < n then redis.call('DEL', k.pc) end
  end
  for i = 1, #ids, 1000 do
    redis.call('LPUSH', k.active, unpack(ids, i, math.min(i + 999, #ids)))
  end
  return ids
end

-- Locks one job for `token` (lockMs is decimal text), records the attempt start
-- (processedOn = startedOn, pb when named, ats + 1) and returns the job hash as it is now. Its
-- `active` event is not trimmed (fetchJobs trims once).
-- A group job (`group` true) is locked without expiry and its heartbeat set with PX lockMs
-- instead (include/common.lua HEARTBEAT): a Node worker's stalled check never moves it.
-- A hash read after the writes needs no patching, and HINCRBY needs no search of the fields.
-- An id whose hash is gone (deleted by hand) comes back with only these fields, which the
-- caller fails as a malformed job.
local function activate(id, startedOn, token, lockMs, workerName, group)
  local jobKey = base .. id
  if group then
    redis.call('SET', jobKey .. ':lock', token)
    redis.call('SET', jobKey .. HEARTBEAT, token, 'PX', lockMs)
  else
    redis.call('SET', jobKey .. ':lock', token, 'PX', lockMs)
  end
  redis.call('HINCRBY', jobKey, 'ats', '1')
  if workerName ~= '' then
    redis.call('HSET', jobKey, 'processedOn', startedOn, 'pb', workerName)
  else
    redis.call('HSET', jobKey, 'processedOn', startedOn)
  end
  redis.call('XADD', k.events, '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
  return redis.call('HGETALL', jobKey)
end

-- Delayed group jobs due at `now` (oxq:gdelayed, at most 1000, soonest first) go back to their
-- groups, as promoteDue does for `delayed`.
local function promoteGroupDue(now, maxLen, blocked)
  local due = redis.call('ZRANGEBYSCORE', GROUP_DELAYED, 0, (now + 1) * 4096 - 1, 'LIMIT', 0, 1000)
  if #due == 0 then return end
  for _, id in ipairs(due) do
    redis.call('ZREM', GROUP_DELAYED, id)
    local m = redis.call('HMGET', base .. id, 'priority', GROUP_FIELD)
    if m[2] then
      redis.call('ZREM', groupDelayedKey(m[2]), id)
      groupEnqueue(id, tonumber(m[1]) or 0, false, m[2])
      redis.call('HSET', base .. id, 'delay', 0)
      emit(maxLen, 'waiting', 'jobId', id, 'prev', 'delayed')
    end
  end
  addBaseMarker(blocked)
end

-- How many more jobs group `g` may start at `now` (a large number when unlimited): none while
-- paused, its concurrency less its active jobs, its rate limit's max less the starts of its
-- open window. Also the window the starts count in ({starts, end}, nil without a rate limit),
-- and its end when the window is full (else nil).
-- A group at its concurrency first forgets active jobs no worker holds (lockHeld: the
-- heartbeat expired, or the job's keys are gone): such a job stalled and comes back to its
-- group through oxq's stalled check (or its holder, alive after all, counts it again at its
-- next renewal, extend_locks.lua), or it ended where oxq could not see it (deleted by hand).
local function groupRoom(g, now)
  local s = redis.call('HMGET', base .. 'oxq:gset', 'p:' .. g, 'c:' .. g, 'c:', 'r:' .. g, 'r:')
  if s[1] then return 0, nil end
  local room = 1e15
  local cap = tonumber(s[2] or s[3])
  if cap then
    local activeKey = groupActiveKey(g)
    local active = redis.call('SCARD', activeKey)
    if active >= cap then
      for _, id in ipairs(redis.call('SMEMBERS', activeKey)) do
        if not lockHeld(base .. id) then
          redis.call('SREM', activeKey, id)
          active = active - 1
        end
      end
    end
    room = math.max(0, cap - active)
  end
  local rate = s[4] or s[5]
  if not rate then return room, nil end
  local max, ms = string.match(rate, '^(%d+):(%d+)$')
  max, ms = tonumber(max), tonumber(ms)
  if not max then return room, nil end
  local used, ends = string.match(redis.call('HGET', base .. 'oxq:gwin', g) or '', '^(%d+):(%d+)$')
  used, ends = tonumber(used), tonumber(ends)
  if not ends or ends <= now then
    used, ends = 0, now + ms
  end
  local left = max - used
  local limitedUntil = nil
  if left <= 0 then limitedUntil = ends end
  return math.max(0, math.min(room, left)), { used, ends }, limitedUntil
end

-- Takes up to n group jobs round-robin: one job per group per turn, groups in key order from the
-- one after the group served last (oxq:gset 'cursor'), skipping groups that may start none
-- (groupRoom). A group's next job is the lowest score of oxq:g:<group>. Taken jobs join
-- `active` and their group's active set; the groups' rate windows count the starts and the
-- cursor moves. Returns the ids, in order, and the earliest end of a rate window that held a
-- group with runnable jobs back (nil for none).
local function takeGroupJobs(n, now)
  local settings = base .. 'oxq:gset'
  local cursor = redis.call('HGET', settings, 'cursor') or ''
  local ids = {}
  local seen = {}
  local idle = {}
  local heldUntil = nil
  while #ids < n do
    local g
    if cursor ~= '' then
      g = redis.call('ZRANGEBYLEX', GROUP_RING, '(' .. cursor, '+', 'LIMIT', 0, 1)[1]
    end
    if not g then g = redis.call('ZRANGE', GROUP_RING, 0, 0)[1] end
    -- a whole turn of groups passed over since the last job taken ends the fetch
    if not g or idle[g] then break end
    cursor = g
    local turn = seen[g]
    if not turn then
      local room, window, limitedUntil = groupRoom(g, now)
      turn = { room = room, window = window, started = 0 }
      seen[g] = turn
      if limitedUntil and (not heldUntil or limitedUntil < heldUntil) then
        heldUntil = limitedUntil
      end
    end
    local popped = {}
    if turn.room > 0 then popped = redis.call('ZPOPMIN', groupKey(g)) end
    if popped[1] then
      local id = popped[1]
      if redis.call('EXISTS', groupKey(g)) == 0 then redis.call('ZREM', GROUP_RING, g) end
      redis.call('LPUSH', k.active, id)
      redis.call('SADD', groupActiveKey(g), id)
      ids[#ids + 1] = id
      turn.room = turn.room - 1
      turn.started = turn.started + 1
      idle = {}
    else
      if turn.room > 0 then redis.call('ZREM', GROUP_RING, g) end
      idle[g] = true
    end
  end
  for g, turn in pairs(seen) do
    if turn.window and turn.started > 0 then
      redis.call('HSET', base .. 'oxq:gwin', g,
        fmt(turn.window[1] + turn.started) .. ':' .. fmt(turn.window[2]))
    end
  end
  if #ids > 0 then redis.call('HSET', settings, 'cursor', cursor) end
  return ids, heldUntil
end

-- The `limiter` counter a manual rate limit (BullMQ's `rateLimit(ms)`) sets, with PX ms: past
-- any max, so every fetch that knows a max is limited until the key expires.
local MANUAL_RATE_LIMIT = 9007199254740991

-- Promotes due delayed jobs, then moves up to maxJobs runnable jobs to active, honouring pause,
-- global concurrency (meta `concurrency`) and the rate limit: the `limiter` counter counts
-- every start while a max is known (BullMQ: meta `max` wins over the worker's limiterMax, the
-- worker's limiterMs wins over meta `duration` for the window). With no max known, the queue is
-- limited only by a manual limit (the counter at MANUAL_RATE_LIMIT with a TTL; a Node worker
-- would not stop there): one GET per fetch is all a queue without limits pays.
-- Returns { {id, fields, id, fields, ...}, hint, limitedUntil } where hint is the next due time
-- of a delayed job or -1, and limitedUntil the end of the rate limit in force (ms) or -1.
local function fetchJobs(now, token, lockMs, maxJobs, workerName, maxLen, limiterMax, limiterMs)
  -- one read of the queue's settings (blockedAt's check, without reading them again)
  local meta = redis.call('HMGET', k.meta, 'paused', 'concurrency', 'max', 'duration')
  local cap = tonumber(meta[2])
  local function atCap() return cap and redis.call('LLEN', k.active) >= cap end
  promoteDue(now, maxLen, meta[1] or atCap())
  -- all a queue without job groups pays for them: one EXISTS
  local groups = redis.call('EXISTS', GROUP_RING, GROUP_DELAYED) > 0
  local hint = nextDueIn(k.delayed) or -1
  if groups then
    promoteGroupDue(now, maxLen, meta[1] or atCap())
    local groupDue = nextDueIn(GROUP_DELAYED)
    if groupDue and (hint < 0 or groupDue < hint) then hint = groupDue end
  end
  local jobs = {}
  if meta[1] then return { jobs, hint, -1 } end
  if cap then maxJobs = math.min(maxJobs, cap - redis.call('LLEN', k.active)) end
  local rateMax = tonumber(meta[3]) or limiterMax
  local rateWindow = limiterMs or tonumber(meta[4]) or 0
  local used = tonumber(redis.call('GET', k.limiter)) or 0
  if used >= (rateMax or MANUAL_RATE_LIMIT) then
    local pttl = redis.call('PTTL', k.limiter)
    if pttl > 0 then return { jobs, hint, now + pttl } end
    -- a counter whose window is over (or that never got one) starts again
    redis.call('DEL', k.limiter)
    used = 0
  end
  if rateMax then maxJobs = math.min(maxJobs, rateMax - used) end
  local fetched = 0
  local startedOn = fmt(now)
  local function start(ids, group)
    for _, id in ipairs(ids) do
      fetched = fetched + 1
      jobs[#jobs + 1] = id
      jobs[#jobs + 1] = activate(id, startedOn, token, lockMs, workerName, group)
      if rateMax and redis.call('HEXISTS', base .. id, 'defa') == 0 then
        if redis.call('INCR', k.limiter) == 1 and rateWindow > 0 then
          redis.call('PEXPIRE', k.limiter, rateWindow)
        end
      end
    end
  end
  while fetched < maxJobs do
    local ids = takeRunnable(maxJobs - fetched)
    if #ids == 0 then break end
    start(ids, false)
  end
  -- group jobs after the plain ones; a group's rate window that holds its jobs back wakes the
  -- worker at its end (the hint)
  if groups and fetched < maxJobs then
    local ids, heldUntil = takeGroupJobs(maxJobs - fetched, now)
    start(ids, true)
    if heldUntil and (hint < 0 or heldUntil < hint) then hint = heldUntil end
  end
  if fetched > 0 then trimEvents(maxLen) end
  if fetched > 0 and not atCap() and (redis.call('LLEN', k.wait) > 0
      or redis.call('ZCARD', k.prioritized) > 0 or redis.call('LLEN', k.paused) > 0
      or (groups and redis.call('EXISTS', GROUP_RING) == 1)) then
    -- wake another idle worker (Node or oxq): there is more to do
    addBaseMarker(false)
  end
  return { jobs, hint, -1 }
end
