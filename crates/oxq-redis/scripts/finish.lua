-- finish.lua: ends attempts of jobs a worker holds, then optionally fetches the next jobs
-- (BullMQ moveToFinished, retryJob and moveToDelayed, with and without skip-attempt, for many
-- jobs in one call).
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 pc
--   6 delayed
--   7 completed
--   8 failed
--   9 meta
--   10 events
--   11 marker
--   12 limiter
--   13 waiting-children
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 number of items n, then 8 values per item:
--     job id, lock token,
--     kind: 'completed' | 'retry' (failed, waiting again) | 'delay' (failed, delayed by its
--       backoff) | 'failed' (for good) | 'postpone' (the processor asked to run again later:
--       delayed without using an attempt) | 'wait-children' (the processor asked to wait for
--       its children, without using an attempt) | 'rate-limited' (the processor hit a rate
--       limit: back to the front of its line without using an attempt, and the queue limited
--       for `delay` ms; BullMQ's rateLimit(ms) + moveJobFromActiveToWait),
--     value (return value JSON for completed, the error message for the failed kinds, '' for
--       postpone and wait-children),
--     delay (ms, for 'delay' and 'postpone'), keep count (-1 all, 0 none, n newest), keep age
--       (ms, 0 = none),
--     note: the attempts made once this one ends (decimal text), from the note the job's fetch
--       took (it rides with the job as its memo) when it has neither a parent nor a dedup id,
--       else ''
--   then 7 values (fetch-next, on this queue): '1' or '0', lock token, lock duration (ms),
--     max jobs, worker name, the worker limiter's max and duration (ms) ('' for none)
--   then 1 value: metrics, the most data points to keep per series ('' records none; see
--     Metrics below)
-- Returns
--   { {code1, code2, ...}, {id, fields, ...}, hint } with per item code 0 done, -1 no such job,
--   -2 the lock holds another token, or is gone and the job is no longer active, -3 the job is
--   not active though the caller's lock is still there, { -4, pending count } a completion of
--   a parent whose children are pending, { -9, child key } a completion of a parent a child
--   failed (its `:unsuccessful`); after -4 and -9 nothing was written (the job stays active
--   under its lock). The fetched jobs, hint and limitedUntil as in move_to_active.lua (empty,
--   -1 and -1 without fetch-next).
-- Events (per item)
--   completed {jobId, returnvalue, prev active}
--   retry: waiting {jobId, prev active};  delay and postpone: delayed {jobId, delay = due time}
--   (postpone of a job whose awaited signal was sent: waiting {jobId, prev active}, see Signals)
--   failed {jobId, failedReason, prev active} and retries-exhausted {jobId, attemptsMade} when
--   atm >= opts.attempts, then dead-lettered {jobId, deadLetterQueue, deadLetterId} when the
--   queue has a dead letter queue (the copy: include/dead_letter.lua); drained once when
--   wait, active and prioritized are empty after an item other than postpone and
--   wait-children applied (BullMQ's moveToDelayed and
--   moveToWaitingChildren emit none); wait-children: waiting-children {jobId, prev active}, or
--   waiting {jobId, prev active} when nothing is pending; plus fetch-next's events.
-- Postpone (BullMQ `job.moveToDelayed(timestamp, token)`, skip-attempt): after the checks
-- below, the lock is deleted, `atm` is left as it is and no error is recorded; `delay` is set
-- to the delay (ms), the job goes to `delayed` due at now + delay, and the delay marker wakes a
-- blocked worker (Node or oxq) at that time. A child's parent is updated (include/parent.lua).
-- Signals (oxq's durable steps): a postponed job whose `:steps` hash names a signal it waits
-- for (`wait`, set by step_save.lua) that was sent already (`signal:<name>`, by job_signal.lua
-- while the job was still active) is not parked: `wait` is cleared and the job goes to the
-- front of its waiting jobs (prioritized with a priority), `waiting {jobId, prev active}`, to
-- run again at once. With job_signal.lua, which wakes a delayed job waiting for the signal it
-- stores, no signal is missed between the wait's look and the park. Only postpone reads it.
-- Wait-children (BullMQ moveToWaitingChildren, but never leaving the job active): after the
-- checks below, the lock is deleted and `atm` left as it is; with a child pending (and none
-- failed the job), the job goes to `waiting-children` (score now) until its last child is done;
-- else to the front of its waiting jobs (prioritized with a priority), to run again at once (a
-- job a child failed then fails at its fetch, through `defa`).
-- Children of a completing job: a completion is refused (-4, -9) while the job has pending or
-- failed children. One EXISTS over every completing item's `:dependencies` and
-- `:unsuccessful` keys, per call, tells whether any item needs that check, so a queue without
-- flows pays one call per script plus two key names per completion. That is the whole cost
-- (7,000-10,000 server instructions per completion, counted under callgrind: 1.1-1.6% of a
-- whole `oxq bench` c100 run's instructions per job, adding and cleanup included), and
-- no cheaper test is exact: a Node producer adds a child to a running job with a bare SADD to
-- its `:dependencies`, touching nothing else, and a child that fails a running parent only
-- writes its `:unsuccessful` and `defa`. BullMQ itself runs SCARD and ZCARD per completion.
-- Groups: a group job (oxq's job groups, include/common.lua) leaves its group's active set
-- and its heartbeat is deleted with its lock (which has no expiry; a finish of a group job
-- whose heartbeat expired is honoured as one whose lock expired);
-- a retried, delayed, postponed or put back one goes back to its group (oxq:g:<group>,
-- oxq:gdelayed), never to `wait`, `prioritized` or `delayed`, so no Node worker takes it.
-- Per call, not per item: the items' locks are read with one MGET and deleted with one DEL, and
-- the jobs completed are added to `completed` with one ZADD (which more than pays for the
-- children check); the effects are those of one item after the other.
-- Checks per item, before any write: the hash exists (unless a note stands for it, below);
-- the lock is missing or holds the token (an expired lock nobody took over is honoured); LREM
-- from active succeeds. The id is left in `stalled` (the next stalled check skips ids that are
-- no longer active).
-- Global concurrency: adds and promotions leave no marker while the queue is at its
-- concurrency (meta `concurrency`), so a call whose items left `active` and whose fetch-next
-- took nothing puts the base marker back when the queue is now below it, not paused, and has
-- runnable jobs: idle workers (Node or oxq) take the freed slot at once (the settings come with
-- the one read of meta the script makes anyway).
-- Metrics (BullMQ's worker option metrics.maxDataPoints, read by Node's getMetrics): with the
-- metrics value set, the items that completed and those that failed for good are counted in
-- `metrics:completed` / `metrics:failed` (hash: count, prevTS, prevCount) and a point per
-- minute pushed on their `:data` lists, newest first, as one finish after the other at `now`
-- (see recordMetrics). Without it the script reads one ARGV more and writes nothing.
-- The note: the caller read the job's hash when it fetched it, and attempts made cannot
-- change while the job is active under that fetch's lock. A completion with a note skips
-- reading the hash; the lock and the LREM from active still decide whether it applies (a job
-- in active always has its hash: removals refuse locked jobs or clear active too).

local now = tonumber(ARGV[2])
local nowText = ARGV[2]
local count = tonumber(ARGV[3])
-- one read of the queue's settings: the events' length, and whether a freed slot wakes idle
-- workers (wakeForFreedSlot, at the end)
local meta = redis.call('HMGET', k.meta, 'opts.maxLenEvents', 'paused', 'concurrency')
local maxLen = maxEventsOf(meta[1])

-- One pass over the items before any of them: every item's lock (one MGET) and whether a
-- completing item may have children (one EXISTS, see the header).
local lockKeys, childKeys = {}, {}
for i = 0, count - 1 do
  local a = 4 + i * 8
  local id = ARGV[a]
  lockKeys[i + 1] = base .. id .. ':lock'
  if ARGV[a + 2] == 'completed' then
    childKeys[#childKeys + 1] = base .. id .. ':dependencies'
    childKeys[#childKeys + 1] = base .. id .. ':unsuccessful'
  end
end
local locks = {}
for i = 1, count, 1000 do
  local part = redis.call('MGET', unpack(lockKeys, i, math.min(i + 999, count)))
  for j = 1, #part do locks[i + j - 1] = part[j] end
end
-- set again when a child of this call fails for good: its parent may be a later item
local checkChildren = false
for i = 1, #childKeys, 1000 do
  if redis.call('EXISTS', unpack(childKeys, i, math.min(i + 999, #childKeys))) > 0 then
    checkChildren = true
    break
  end
end

-- The locks of the items that ended, deleted in one DEL after the items (before retention and
-- the fetch: nothing in between reads them), and the ids whose lock an earlier item of this
-- call took that way (a repeated id finds its lock gone, as it would one by one).
local released, consumed = {}, {}
-- how many items left `active`
local freed = 0

-- Score/id pairs of the jobs this call completes and keeps, added to `completed` in one ZADD
-- after the items (nothing in between reads that set; retention trims come after it).
local completedIds = {}

-- A completing job's refusal for its children ({ -4, pending } or { -9, child key }), or nil.
local function childrenRefusal(jobKey)
  local pending = redis.call('SCARD', jobKey .. ':dependencies')
  if pending > 0 then return { -4, pending } end
  local failedChild = redis.call('ZRANGE', jobKey .. ':unsuccessful', 0, 0)[1]
  if failedChild then return { -9, failedChild } end
  return nil
end

local function finishOne(i, id, token, kind, value, delayMs, keepCount, keepAgeMs, atmNext)
  local jobKey = base .. id
  local f
  if kind ~= 'completed' or atmNext == '' then
    -- no note (or another end, which reads the hash anyway): one read for the checks and the
    -- rest. Every activation (ours and BullMQ's) writes `processedOn`, so only a hash without
    -- it needs a separate EXISTS.
    f = redis.call('HMGET', jobKey, 'processedOn', 'atm', 'parentKey', 'parent', 'deid',
      GROUP_FIELD)
    if not f[1] and redis.call('EXISTS', jobKey) == 0 then return -1 end
  end
  local lock = locks[i]
  if consumed[id] then lock = false end
  if lock and lock ~= token then return -2 end
  -- (a job whose lock is gone is refused for its children only while it is still active)
  if checkChildren and kind == 'completed' and (lock or redis.call('LPOS', k.active, id)) then
    local refusal = childrenRefusal(jobKey)
    if refusal then return refusal end
  end
  if redis.call('LREM', k.active, '-1', id) == 0 then
    -- not active: with its lock gone the worker lost the job (recovered, maybe finished since)
    if lock then return -3 end
    return -2
  end
  released[#released + 1] = lockKeys[i]
  consumed[id] = true
  freed = freed + 1
  -- a group job (never one with a note) frees its group's slot; workers look at the group again
  local group = f and f[6] or false
  if group then
    released[#released + 1] = jobKey .. HEARTBEAT
    redis.call('SREM', groupActiveKey(group), id)
    if redis.call('EXISTS', groupKey(group)) == 1 then addBaseMarker(isBlocked()) end
  end

  if kind == 'completed' then
    -- the hot path: plain calls, no helper unless the job has a parent, a dedup id or a limit
    if f then
      -- without a note (a note means no parent and no dedup id)
      atmNext = fmt((tonumber(f[2]) or 0) + 1)
      if f[3] then childCompleted(parentFrom(f[3], f[4]), jobKey, value, now) end
      if f[5] then
        releaseDedupOnFinish(id, f[5])
        requeueKeptAside(f[5], now, maxLen)
      end
    end
    if keepCount == 0 then
      deleteJobKeys(jobKey)
    else
      completedIds[#completedIds + 1] = nowText
      completedIds[#completedIds + 1] = id
      redis.call('HSET', jobKey, 'returnvalue', value, 'finishedOn', nowText, 'atm', atmNext)
      if keepCount > 0 or keepAgeMs > 0 then addTrim(k.completed, keepCount, keepAgeMs) end
    end
    -- not trimmed here: the script trims once before it returns
    redis.call('XADD', k.events, '*', 'event', 'completed', 'jobId', id, 'returnvalue', value,
      'prev', 'active')
    return 0
  end

  if kind == 'rate-limited' then
    -- the limit first: the base marker below wakes workers that must find the queue limited
    if delayMs > 0 then redis.call('SET', k.limiter, MANUAL_RATE_LIMIT, 'PX', delayMs) end
    local blocked = isBlocked()
    enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, true, group)
    addBaseMarker(blocked)
    emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
    return 0
  end

  if kind == 'wait-children' then
    if redis.call('SCARD', jobKey .. ':dependencies') > 0
        and redis.call('EXISTS', jobKey .. ':unsuccessful') == 0 then
      redis.call('ZADD', k['waiting-children'], nowText, id)
      emit(maxLen, 'waiting-children', 'jobId', id, 'prev', 'active')
    else
      local blocked = isBlocked()
      enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, true, group)
      addBaseMarker(blocked)
      emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
    end
    return 0
  end

  if kind == 'postpone' then
    -- a job parked for a signal that came while it was active runs again now (see Signals)
    local stepsKey = jobKey .. ':steps'
    local awaited = redis.call('HGET', stepsKey, 'wait')
    if awaited and redis.call('HEXISTS', stepsKey, 'signal:' .. awaited) == 1 then
      redis.call('HDEL', stepsKey, 'wait')
      local blocked = isBlocked()
      enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, true, group)
      addBaseMarker(blocked)
      emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
      return 0
    end
    local dueAt = now + delayMs
    redis.call('HSET', jobKey, 'delay', fmt(delayMs))
    delayJob(id, dueAt, group)
    emit(maxLen, 'delayed', 'jobId', id, 'delay', fmt(dueAt))
    addDelayMarker()
    return 0
  end

  -- a failed attempt: record the reason and append it to the stacktrace
  local m = redis.call('HMGET', jobKey, 'opts', 'priority', 'stacktrace')
  local opts = decodeJson(m[1])
  if type(opts) ~= 'table' then opts = {} end
  local trace = decodeJson(m[3])
  if type(trace) ~= 'table' then trace = {} end
  trace[#trace + 1] = value
  local limit = tonumber(opts.stackTraceLimit)
  if limit and limit > 0 then
    while #trace > limit do table.remove(trace, 1) end
  end
  redis.call('HSET', jobKey, 'failedReason', value, 'stacktrace', cjson.encode(trace))
  local atm = redis.call('HINCRBY', jobKey, 'atm', 1)

  if kind == 'retry' then
    local blocked = isBlocked()
    enqueue(id, tonumber(m[2]) or 0, opts.lifo == true, group)
    addBaseMarker(blocked)
    emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
  elseif kind == 'delay' then
    local dueAt = now + delayMs
    redis.call('HSET', jobKey, 'delay', delayMs)
    delayJob(id, dueAt, group)
    emit(maxLen, 'delayed', 'jobId', id, 'delay', dueAt)
    addDelayMarker()
  else
    redis.call('HDEL', jobKey, 'defa')
    if f[3] then
      childFailed(parentFrom(f[3], f[4]), jobKey, value, now)
      checkChildren = true
    end
    if f[5] then
      releaseDedupOnFinish(id, f[5])
      requeueKeptAside(f[5], now, maxLen)
    end
    local dead = deadLetter(id, jobKey, nowText)
    if keepCount == 0 then
      detachFromParent(jobKey)
      deleteJobKeys(jobKey)
    else
      redis.call('ZADD', k.failed, now, id)
      redis.call('HSET', jobKey, 'finishedOn', now)
      addTrim(k.failed, keepCount, keepAgeMs)
    end
    emit(maxLen, 'failed', 'jobId', id, 'failedReason', value, 'prev', 'active')
    if atm >= (tonumber(opts.attempts) or 0) then
      emit(maxLen, 'retries-exhausted', 'jobId', id, 'attemptsMade', atm)
    end
    if dead then
      emit(maxLen, 'dead-lettered', 'jobId', id, 'deadLetterQueue', dead[1], 'deadLetterId', dead[2])
    end
  end
  return 0
end

local codes = {}
local applied = 0
for i = 0, count - 1 do
  local a = 4 + i * 8
  local code = finishOne(i + 1, ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3],
    tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6]), ARGV[a + 7])
  codes[#codes + 1] = code
  -- a postponed job or one waiting for its children emitted its (trimmed) event and counts
  -- for no `drained`
  local kind = ARGV[a + 2]
  if code == 0 and kind ~= 'postpone' and kind ~= 'wait-children' and kind ~= 'rate-limited' then
    applied = applied + 1
  end
end
for i = 1, #released, 1000 do
  redis.call('DEL', unpack(released, i, math.min(i + 999, #released)))
end
for i = 1, #completedIds, 2000 do
  redis.call('ZADD', k.completed, unpack(completedIds, i, math.min(i + 1999, #completedIds)))
end
applyTrims(now)

-- Counts `finished` jobs that ended in `set` ('completed' or 'failed') at `now`. The count
-- before them is what a one-by-one finish would compare: the first finish in a later minute
-- than prevTS closes one point (the jobs counted since the last point) plus a zero for each
-- whole minute in between, at most `maxPoints` in all, and the list keeps `maxPoints`.
-- The very first finish only starts the clock (prevTS, prevCount 0).
local function recordMetrics(set, finished, maxPoints)
  local key = base .. 'metrics:' .. set
  local before = redis.call('HINCRBY', key, 'count', finished) - finished
  local prev = redis.call('HMGET', key, 'prevTS', 'prevCount')
  local prevTs = tonumber(prev[1])
  if not prevTs then
    redis.call('HSET', key, 'prevTS', nowText, 'prevCount', '0')
    return
  end
  local closed = math.min(math.floor(now / 60000) - math.floor(prevTs / 60000), maxPoints)
  if closed < 1 then return end
  local points = { fmt(before - (tonumber(prev[2]) or 0)) }
  for j = 2, closed do points[j] = '0' end
  local dataKey = key .. ':data'
  for j = 1, closed, 5000 do
    redis.call('LPUSH', dataKey, unpack(points, j, math.min(j + 4999, closed)))
  end
  redis.call('LTRIM', dataKey, '0', fmt(maxPoints - 1))
  redis.call('HSET', key, 'prevCount', fmt(before), 'prevTS', nowText)
end

local metricsPoints = tonumber(ARGV[4 + count * 8 + 7])
if metricsPoints and metricsPoints > 0 then
  local finished = { completed = 0, failed = 0 }
  for i = 0, count - 1 do
    local kind = ARGV[4 + i * 8 + 2]
    if codes[i + 1] == 0 and finished[kind] then finished[kind] = finished[kind] + 1 end
  end
  if finished.completed > 0 then recordMetrics('completed', finished.completed, metricsPoints) end
  if finished.failed > 0 then recordMetrics('failed', finished.failed, metricsPoints) end
end

local f = 4 + count * 8
local fetched = { {}, -1, -1 }
if ARGV[f] == '1' then
  fetched = fetchJobs(now, ARGV[f + 1], ARGV[f + 2], tonumber(ARGV[f + 3]), ARGV[f + 4], maxLen,
    tonumber(ARGV[f + 5]), tonumber(ARGV[f + 6]))
end
-- a slot freed under the global concurrency and not taken by the fetch wakes idle workers (a
-- fetch that took jobs woke them already when more can start)
if freed > 0 and #fetched[1] == 0 then wakeForFreedSlot(meta[2], meta[3]) end
-- the `completed` events were appended untrimmed (a fetch that took jobs has trimmed already)
if applied > 0 and #fetched[1] == 0 then trimEvents(maxLen) end
if applied > 0 and #fetched[1] == 0 and redis.call('LLEN', k.wait) == 0
    and redis.call('LLEN', k.active) == 0 and redis.call('ZCARD', k.prioritized) == 0 then
  emit(maxLen, 'drained')
end
return { codes, fetched[1], fetched[2], fetched[3] }
