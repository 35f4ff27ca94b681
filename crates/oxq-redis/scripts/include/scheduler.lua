-- include/scheduler.lua: a job scheduler's iterations (BullMQ 6 layout, bullmq-v5-model.md
-- §4.26-4.27): the scheduler `id` is a member of the `repeat` zset scored by the time of its
-- pending iteration and has the hash base .. 'repeat:' .. id; an iteration is the job
-- 'repeat:<id>:<millis>' with `rjk` = id. An iteration of a template with a group (opts
-- `oxq.group`) names it in its hash (`oxq.group`) and waits in its group's keys, delayed or
-- runnable (include/common.lua), never in `wait`, `prioritized` or `delayed`.

local function iterationId(id, millis)
  return 'repeat:' .. id .. ':' .. fmt(millis)
end

-- Where a job waits to run, if it has not started: 'delayed', 'prioritized', 'wait', 'paused'
-- (a group job: delayed, or runnable in its group with or without a priority).
local function pendingState(jobId)
  local group = redis.call('HGET', base .. jobId, GROUP_FIELD)
  if group then
    if redis.call('ZSCORE', GROUP_DELAYED, jobId) then return 'delayed' end
    local score = redis.call('ZSCORE', groupKey(group), jobId)
    if not score then return nil end
    if tonumber(score) >= GROUP_PRIORITIZED then return 'prioritized' end
    return 'wait'
  end
  if redis.call('ZSCORE', k.delayed, jobId) then return 'delayed' end
  if redis.call('ZSCORE', k.prioritized, jobId) then return 'prioritized' end
  if redis.call('LPOS', k.wait, jobId) then return 'wait' end
  if redis.call('LPOS', k.paused, jobId) then return 'paused' end
  return nil
end

-- Deletes a job that has not started from the list or set `state` names (a group job from its
-- group's keys).
local function removePending(jobId, state, maxLen)
  if groupRemove(jobId) then
    -- taken out of its group's keys
  elseif state == 'delayed' or state == 'prioritized' then
    redis.call('ZREM', k[state], jobId)
  else
    redis.call('LREM', k[state], 0, jobId)
  end
  deleteJobKeys(base .. jobId)
  emit(maxLen, 'removed', 'jobId', jobId, 'prev', state)
end

-- Creates the iteration of scheduler `id` at `millis`: INCR id, the job hash (opts from the
-- JSON `optsJson` plus jobId, delay, prevMillis, timestamp and repeat.count = `count`), then
-- delayed (due at millis) or runnable, in its group when the opts name one (`oxq.group`), with
-- its events and markers.
local function createIteration(id, millis, now, name, data, optsJson, count, maxLen)
  local jobId = iterationId(id, millis)
  local delay = millis - now
  if delay < 0 then delay = 0 end
  local opts = cjson.decode(optsJson)
  opts['jobId'] = jobId
  opts['delay'] = delay
  opts['prevMillis'] = millis
  opts['timestamp'] = now
  if type(opts['repeat']) == 'table' then opts['repeat']['count'] = count end
  local priority = tonumber(opts['priority']) or 0
  local group = false
  if type(opts['oxq']) == 'table' and type(opts['oxq']['group']) == 'string'
      and opts['oxq']['group'] ~= '' then
    group = opts['oxq']['group']
  end
  redis.call('INCR', k.id)
  redis.call('HSET', base .. jobId, 'name', name, 'data', data, 'opts', cjson.encode(opts),
    'timestamp', now, 'delay', delay, 'priority', priority, 'rjk', id)
  if group then redis.call('HSET', base .. jobId, GROUP_FIELD, group) end
  emit(maxLen, 'added', 'jobId', jobId, 'name', name)
  if delay > 0 then
    delayJob(jobId, millis, group)
    emit(maxLen, 'delayed', 'jobId', jobId, 'delay', millis)
    addDelayMarker()
  else
    local blocked = isBlocked()
    enqueue(jobId, priority, opts['lifo'] == true, group)
    emit(maxLen, 'waiting', 'jobId', jobId)
    addBaseMarker(blocked)
  end
  return jobId
end
