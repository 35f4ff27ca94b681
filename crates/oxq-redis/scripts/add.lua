-- add.lua: adds jobs, in order (BullMQ addStandardJob / addDelayedJob / addPrioritizedJob).
--
-- KEYS
--   1 id
--   2 wait
--   3 active
--   4 prioritized
--   5 pc
--   6 delayed
--   7 meta
--   8 events
--   9 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 number of jobs n, then 7 values per job:
--     custom id ('' for an automatic one), name, data (JSON), opts (BullMQ's encoded JSON),
--     delay (ms, 0 = none), priority (0 = none), lifo ('1' or '0')
-- Returns
--   { id1, duplicate1, id2, duplicate2, ... } with duplicate = 1 when the custom id existed
--   (nothing was written for that job) and 0 otherwise.
-- Events
--   added {jobId, name}; then waiting {jobId} or delayed {jobId, delay = due time};
--   duplicated {jobId} for an existing custom id.
-- Every job INCRs `id`, custom id or not (as BullMQ does).

local now = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local maxLen = maxEvents()
local blocked = isBlocked()
local runnable, delayed = false, false
local out = {}
for i = 0, count - 1 do
  local a = 4 + i * 7
  local customId, name, data, opts = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local delay, priority, lifo = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), ARGV[a + 6] == '1'
  local counter = redis.call('INCR', k.id)
  local id = customId
  if id == '' then id = fmt(counter) end
  local jobKey = base .. id
  if customId ~= '' and redis.call('EXISTS', jobKey) == 1 then
    emit(maxLen, 'duplicated', 'jobId', id)
    out[#out + 1] = id
    out[#out + 1] = 1
  else
    redis.call('HSET', jobKey, 'name', name, 'data', data, 'opts', opts, 'timestamp', now,
      'delay', delay, 'priority', priority)
    emit(maxLen, 'added', 'jobId', id, 'name', name)
    if delay > 0 then
      local dueAt = now + delay
      redis.call('ZADD', k.delayed, delayedScoreIn(k.delayed, dueAt), id)
      emit(maxLen, 'delayed', 'jobId', id, 'delay', dueAt)
      delayed = true
    else
      enqueue(id, priority, lifo)
      emit(maxLen, 'waiting', 'jobId', id)
      runnable = true
    end
    out[#out + 1] = id
    out[#out + 1] = 0
  end
end
if runnable then addBaseMarker(blocked) end
if delayed then addDelayMarker() end
return out
