-- scheduler_upsert.lua: creates or replaces a job scheduler and its pending iteration (BullMQ
-- addJobScheduler's layout; the times are computed by the client, oxq_core::Repeat).
--
-- KEYS
--   1 id
--   2 wait
--   3 paused
--   4 active
--   5 prioritized
--   6 pc
--   7 delayed
--   8 meta
--   9 events
--   10 marker
--   11 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 scheduler id
--   4 the `repeat` score the client read ('' = no such scheduler), checked before writing
--   5 first run when no pending iteration is replaced ('' = none)
--   6 first run when the pending iteration is replaced ('' = none)
--   7 limit on iterations ('' = none)
--   8 the scheduler hash's fields as a JSON object of strings (name, pattern or every, tz,
--     limit, startDate, endDate, offset, opts, data; absent ones omitted)
--   9 the iterations' opts JSON (template opts, repeatJobKey, repeat)
--   10 the run after the current one ('' = none), when the current one was taken (a worker
--      fetched it and its hook has not created the next yet, or it ran and was removed): the
--      upsert creates that one instead, so a run never lands between two ticks; the hook then
--      finds the score moved and creates nothing
-- Returns
--   { 'retry' } when the score changed since the client read it (nothing written);
--   { 'taken', millis } when a job of that time exists already (nothing written);
--   { 'ok', millis or '', iterations }
-- Events
--   removed {jobId, prev} for a replaced pending iteration; added, then delayed or waiting,
--   for the new one.

local now = tonumber(ARGV[2])
local id = ARGV[3]
local schedulerKey = base .. 'repeat:' .. id
local score = redis.call('ZSCORE', k['repeat'], id)
if (score or '') ~= ARGV[4] and tonumber(score) ~= tonumber(ARGV[4]) then
  return { 'retry' }
end
local fields = cjson.decode(ARGV[8])
-- validate first: which run, and is its id free?
local pendingId, pending = nil, nil
if score then
  pendingId = iterationId(id, tonumber(score))
  if redis.call('EXISTS', base .. pendingId) == 1 then pending = pendingState(pendingId) end
end
local iterations = tonumber(redis.call('HGET', schedulerKey, 'ic')) or 0
if pending and iterations > 0 then iterations = iterations - 1 end
local nextRun = ARGV[5]
if pending then
  nextRun = ARGV[6]
elseif score then
  nextRun = ARGV[10]
end
if ARGV[7] ~= '' and iterations >= tonumber(ARGV[7]) then nextRun = '' end
if nextRun ~= '' then
  local nextId = iterationId(id, tonumber(nextRun))
  if nextId ~= pendingId or not pending then
    if redis.call('EXISTS', base .. nextId) == 1 then return { 'taken', nextRun } end
  end
end
-- write
local maxLen = maxEvents()
if pending then removePending(pendingId, pending, maxLen) end
if nextRun ~= '' then iterations = iterations + 1 end
redis.call('DEL', schedulerKey)
local hash = { 'ic', iterations }
for field, value in pairs(fields) do
  hash[#hash + 1] = field
  hash[#hash + 1] = value
end
redis.call('HSET', schedulerKey, unpack(hash))
if nextRun == '' then
  redis.call('ZADD', k['repeat'], score or now, id)
  return { 'ok', '', iterations }
end
local millis = tonumber(nextRun)
redis.call('ZADD', k['repeat'], millis, id)
createIteration(id, millis, now, fields['name'], fields['data'] or '{}', ARGV[9], iterations,
  maxLen)
return { 'ok', nextRun, iterations }
