-- include/fetch.lua: promoting due delayed jobs and moving runnable jobs to active under a lock
-- (shared by move_to_active.lua and finish.lua's fetch-next). Needs include/common.lua and the
-- keys wait, paused, active, prioritized, pc, delayed, meta, events, marker, limiter.

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
-- A hash read after the writes needs no patching, and HINCRBY needs no search of the fields.
-- An id whose hash is gone (deleted by hand) comes back with only these fields, which the
-- caller fails as a malformed job.
local function activate(id, startedOn, token, lockMs, workerName)
  local jobKey = base .. id
  redis.call('SET', jobKey .. ':lock', token, 'PX', lockMs)
  redis.call('HINCRBY', jobKey, 'ats', '1')
  if workerName ~= '' then
    redis.call('HSET', jobKey, 'processedOn', startedOn, 'pb', workerName)
  else
    redis.call('HSET', jobKey, 'processedOn', startedOn)
  end
  redis.call('XADD', k.events, '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
  return redis.call('HGETALL', jobKey)
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
  local jobs = {}
  local hint = nextDueIn(k.delayed) or -1
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
  while fetched < maxJobs do
    local ids = takeRunnable(maxJobs - fetched)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      fetched = fetched + 1
      jobs[#jobs + 1] = id
      jobs[#jobs + 1] = activate(id, startedOn, token, lockMs, workerName)
      if rateMax and redis.call('HEXISTS', base .. id, 'defa') == 0 then
        if redis.call('INCR', k.limiter) == 1 and rateWindow > 0 then
          redis.call('PEXPIRE', k.limiter, rateWindow)
        end
      end
    end
  end
  if fetched > 0 then trimEvents(maxLen) end
  if fetched > 0 and not atCap() and (redis.call('LLEN', k.wait) > 0
      or redis.call('ZCARD', k.prioritized) > 0 or redis.call('LLEN', k.paused) > 0) then
    -- wake another idle worker (Node or oxq): there is more to do
    addBaseMarker(false)
  end
  return { jobs, hint, -1 }
end
