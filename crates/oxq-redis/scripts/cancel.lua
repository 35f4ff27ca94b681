-- cancel.lua: cancels one job (oxq's own: BullMQ has no cross-process cancel). A job not yet
-- finished is failed at once with the reason 'cancelled'; an active one also loses its lock,
-- so its holder's finish is refused, and the lock that was cancelled is recorded in the job
-- hash field `cancelledLock` (Node ignores it) for extend_locks.lua to tell the holder.
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
--   9 stalled
--   10 meta
--   11 events
--   12 repeat
--   13 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
--   3 now (ms)
-- Returns
--   { 1, prev } cancelled from the key suffix `prev` (active included), { 2, state } already
--   finished (completed or failed), 0 no such job, -3 the job is in no state's key, -8 the
--   pending iteration of a job scheduler (not cancelled: that would end the schedule)
-- Events
--   failed {jobId, failedReason 'cancelled', prev}, then cancelled {jobId, prev}
-- Attempts made are left as they are; the reason is appended to the stacktrace (within the
-- job's stackTraceLimit). A child applies its parent's failure policy (include/parent.lua) and
-- its dedup key is released, as for a final failure in finish.lua. An active job's slot under
-- the queue's global concurrency wakes idle workers, as a finish does. `cancelledLock` holds the
-- lock token that was cancelled, or '*' when the lock had expired already.

local id, now = ARGV[2], tonumber(ARGV[3])
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return 0 end
if redis.call('ZSCORE', k.completed, id) then return { 2, 'completed' } end
if redis.call('ZSCORE', k.failed, id) then return { 2, 'failed' } end

-- a group job leaves its group's keys (include/common.lua), unless it is the pending
-- iteration of a job scheduler (a template with a group) that has not started
local group = redis.call('HGET', jobKey, GROUP_FIELD)
if group and not redis.call('LPOS', k.active, id) and schedulerIterations()[id] then
  return -8
end
local prev = group and groupRemoveAt(base, id, group)
if prev then
  -- taken out of its group above
elseif redis.call('LREM', k.active, 1, id) > 0 then
  prev = 'active'
  local lockKey = jobKey .. ':lock'
  redis.call('HSET', jobKey, 'cancelledLock', redis.call('GET', lockKey) or '*')
  redis.call('DEL', lockKey, jobKey .. HEARTBEAT)
  redis.call('SREM', k.stalled, id)
  -- its slot under the global concurrency wakes idle workers (include/common.lua)
  local m = redis.call('HMGET', k.meta, 'paused', 'concurrency')
  wakeForFreedSlot(m[1], m[2])
else
  if schedulerIterations()[id] then return -8 end
  for _, suffix in ipairs({ 'delayed', 'prioritized', 'waiting-children' }) do
    if redis.call('ZREM', k[suffix], id) == 1 then
      prev = suffix
      break
    end
  end
  if not prev then
    for _, suffix in ipairs({ 'wait', 'paused' }) do
      if redis.call('LREM', k[suffix], 1, id) > 0 then
        prev = suffix
        break
      end
    end
  end
  if not prev then return -3 end
end

local reason = 'cancelled'
local m = redis.call('HMGET', jobKey, 'opts', 'stacktrace', 'parentKey', 'parent', 'deid')
local opts = decodeJson(m[1])
if type(opts) ~= 'table' then opts = {} end
local trace = decodeJson(m[2])
if type(trace) ~= 'table' then trace = {} end
trace[#trace + 1] = reason
local limit = tonumber(opts.stackTraceLimit)
if limit and limit > 0 then
  while #trace > limit do table.remove(trace, 1) end
end
redis.call('HSET', jobKey, 'failedReason', reason, 'stacktrace', cjson.encode(trace),
  'finishedOn', fmt(now))
redis.call('HDEL', jobKey, 'defa')
redis.call('ZADD', k.failed, fmt(now), id)
childFailed(parentFrom(m[3], m[4]), jobKey, reason, now)
releaseDedupOnFinish(id, m[5])
local maxLen = maxEvents()
emit(maxLen, 'failed', 'jobId', id, 'failedReason', reason, 'prev', prev)
emit(maxLen, 'cancelled', 'jobId', id, 'prev', prev)
return { 1, prev }
