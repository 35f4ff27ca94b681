-- add.lua: adds jobs, in order (BullMQ addStandardJob / addDelayedJob / addPrioritizedJob, and
-- handleDuplicatedJob for an existing custom id, deduplicateJob for a deduplication id).
--
-- KEYS
--   1 id
--   2 wait
--   3 paused
--   4 active
--   5 prioritized
--   6 pc
--   7 delayed
--   8 completed
--   9 failed
--   10 waiting-children
--   11 meta
--   12 events
--   13 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 number of jobs n, then 11 values per job:
--     custom id ('' for an automatic one), name, data (JSON), opts (BullMQ's encoded JSON),
--     delay (ms, 0 = none), priority (0 = none), lifo ('1' or '0'),
--     parent key ('' for none: the parent's job key "prefix:queue:id"), parent JSON ({id,
--       queueKey, policy flag}, '' for none),
--     deduplication id ('' for none; its options are the opts' `de`),
--     group ('' for none; oxq's job groups, see include/common.lua)
-- Returns
--   { id1, answer1, id2, answer2, ... }, in order: for a job written, answer is the key suffix
--   it went to ('delayed', 'prioritized' or 'wait'; a group job answers the one a job without a
--   group would go to); when the custom id existed (nothing was written for that job), answer is that job as get_job.lua reads it, { state, score, fields }
--   (include/read_job.lua); when a deduplication id was owned (nothing was written for that
--   job, or keepLastIfActive kept it aside), id is the owner that stands and answer is
--   { 'deduplicated', the id this add was given, the owner as get_job.lua reads it or {} }.
--   { -5, parent key } when a job's parent does not exist (nothing was written).
-- Events
--   added {jobId, name}; then waiting {jobId} or delayed {jobId, delay = due time};
--   duplicated {jobId} for an existing custom id; deduplicated {jobId (stands),
--   deduplicationId, deduplicatedJobId} and, for a debounce, removed {jobId, prev delayed} of
--   the replaced job (include/dedup.lua).
-- Every job INCRs `id`, custom id or not (as BullMQ does).
-- A child (BullMQ addStandardJob with a parent): every parent is checked before anything is
-- written (it exists, or is a job of this call with a custom id written before the child); the
-- child gets the `parentKey` and `parent` fields and its key joins `<parent key>:dependencies`.
-- The parent is not moved (its processor waits for the child with moveToWaitingChildren). An
-- existing custom id is answered as it is, not linked to the parent.

local now = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local per = 11

-- Whether one of the first n jobs of this call has the custom id that makes it `jobKey`.
local function addedBefore(jobKey, n)
  for j = 0, n - 1 do
    local customId = ARGV[4 + j * per]
    if customId ~= '' and base .. customId == jobKey then return true end
  end
  return false
end

-- every parent first: Lua does not roll back
for i = 0, count - 1 do
  local parentKey = ARGV[4 + i * per + 7]
  if parentKey ~= '' and redis.call('EXISTS', parentKey) == 0
      and not addedBefore(parentKey, i) then
    return { -5, parentKey }
  end
end

-- one read of the queue's settings
local meta = redis.call('HMGET', k.meta, 'opts.maxLenEvents', 'paused', 'concurrency')
local maxLen = maxEventsOf(meta[1])
local blocked = blockedBy(meta[2], meta[3], k.active)
local runnable, delayed = false, false
local out = {}
for i = 0, count - 1 do
  local a = 4 + i * per
  local customId, name, data, opts = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local delay, priority, lifo = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), ARGV[a + 6] == '1'
  local parentKey = ARGV[a + 7]
  local counter = redis.call('INCR', k.id)
  local id = customId
  if id == '' then id = fmt(counter) end
  local jobKey = base .. id
  local existing = customId ~= '' and readJob(id) or {}
  local dedupId = ARGV[a + 9]
  local owner = nil
  if #existing == 0 and dedupId ~= '' then
    local decoded = decodeJson(opts)
    local de = type(decoded) == 'table' and decoded.de or nil
    if type(de) ~= 'table' then de = {} end
    owner = deduplicate(now, maxLen, dedupId, de, id, name, data, opts)
  end
  if #existing > 0 then
    emit(maxLen, 'duplicated', 'jobId', id)
    out[#out + 1] = id
    out[#out + 1] = existing
  elseif owner then
    out[#out + 1] = owner
    out[#out + 1] = { 'deduplicated', id, readJob(owner) }
  else
    if parentKey == '' then
      redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', now,
        'delay', delay, 'priority', priority)
    else
      redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', now,
        'delay', delay, 'priority', priority, 'parentKey', parentKey, 'parent', ARGV[a + 8])
    end
    if dedupId ~= '' then redis.call('HSET', jobKey, 'deid', dedupId) end
    local group = ARGV[a + 10]
    if group == '' then
      group = false
    else
      redis.call('HSET', jobKey, GROUP_FIELD, group)
    end
    emit(maxLen, 'added', 'jobId', id, 'name', name)
    local state
    if delay > 0 then
      local dueAt = now + delay
      delayJob(id, dueAt, group)
      emit(maxLen, 'delayed', 'jobId', id, 'delay', dueAt)
      delayed = true
      state = 'delayed'
    else
      enqueue(id, priority, lifo, group)
      emit(maxLen, 'waiting', 'jobId', id)
      runnable = true
      if priority > 0 then state = 'prioritized' else state = 'wait' end
    end
    if parentKey ~= '' then redis.call('SADD', parentKey .. ':dependencies', jobKey) end
    out[#out + 1] = id
    out[#out + 1] = state
  end
end
if runnable then addBaseMarker(blocked) end
if delayed then addDelayMarker() end
return out
