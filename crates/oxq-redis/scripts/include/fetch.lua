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

-- The next runnable id, moved to the left of `active`: a legacy 5.x `paused` list first (a 6.x
-- resume would run those first), then `wait` from the right, then the lowest prioritized score.
local function popRunnable()
  for _, list in ipairs({ k.paused, k.wait }) do
    local id = redis.call('LMOVE', list, k.active, 'RIGHT', 'LEFT')
    while id and string.sub(id, 1, 2) == '0:' do
      -- a pre-5.0 marker left in the list
      redis.call('LREM', k.active, 1, id)
      id = redis.call('LMOVE', list, k.active, 'RIGHT', 'LEFT')
    end
    if id then return id end
  end
  local popped = redis.call('ZPOPMIN', k.prioritized)
  if popped[1] then
    redis.call('LPUSH', k.active, popped[1])
    return popped[1]
  end
  redis.call('DEL', k.pc)
  return nil
end

-- Locks one job for `token` and records the attempt start; returns its fields, or nil when the
-- id had no job hash (it is dropped from active).
local function activate(id, now, token, lockMs, workerName, maxLen)
  local jobKey = base .. id
  if redis.call('EXISTS', jobKey) == 0 then
    redis.call('LREM', k.active, -1, id)
    return nil
  end
  redis.call('SET', jobKey .. ':lock', token, 'PX', lockMs)
  if workerName ~= '' then
    redis.call('HSET', jobKey, 'processedOn', now, 'pb', workerName)
  else
    redis.call('HSET', jobKey, 'processedOn', now)
  end
  redis.call('HINCRBY', jobKey, 'ats', 1)
  emit(maxLen, 'active', 'jobId', id, 'prev', 'waiting')
  return redis.call('HGETALL', jobKey)
end

-- Promotes due delayed jobs, then moves up to maxJobs runnable jobs to active, honouring pause,
-- global concurrency (meta `concurrency`) and the global rate limit (meta `max`/`duration` with
-- the `limiter` counter). Returns { {id, fields, id, fields, ...}, hint } where hint is the next
-- due time of a delayed job, or the end of the rate-limit window, or -1.
local function fetchJobs(now, token, lockMs, maxJobs, workerName, maxLen)
  local meta = redis.call('HMGET', k.meta, 'paused', 'concurrency', 'max', 'duration')
  local blocked = isBlocked()
  promoteDue(now, maxLen, blocked)
  local jobs = {}
  local hint = nextDueIn(k.delayed) or -1
  if meta[1] then return { jobs, hint } end
  local cap = tonumber(meta[2])
  if cap then maxJobs = math.min(maxJobs, cap - redis.call('LLEN', k.active)) end
  local rateMax, rateWindow = tonumber(meta[3]), tonumber(meta[4]) or 0
  if rateMax then
    local used = tonumber(redis.call('GET', k.limiter)) or 0
    if used >= rateMax then
      local pttl = redis.call('PTTL', k.limiter)
      if pttl > 0 then
        local until_ = now + pttl
        if hint < 0 or until_ < hint then hint = until_ end
        return { jobs, hint }
      end
      redis.call('DEL', k.limiter)
      used = 0
    end
    maxJobs = math.min(maxJobs, rateMax - used)
  end
  local fetched = 0
  while fetched < maxJobs do
    local id = popRunnable()
    if not id then break end
    local fields = activate(id, now, token, lockMs, workerName, maxLen)
    if fields then
      fetched = fetched + 1
      jobs[#jobs + 1] = id
      jobs[#jobs + 1] = fields
      if rateMax and redis.call('HEXISTS', base .. id, 'defa') == 0 then
        if redis.call('INCR', k.limiter) == 1 and rateWindow > 0 then
          redis.call('PEXPIRE', k.limiter, rateWindow)
        end
      end
    end
  end
  if fetched > 0 and not isBlocked() and (redis.call('LLEN', k.wait) > 0
      or redis.call('ZCARD', k.prioritized) > 0 or redis.call('LLEN', k.paused) > 0) then
    -- wake another idle worker (Node or oxq): there is more to do
    addBaseMarker(false)
  end
  return { jobs, hint }
end
