-- move_jobs_to_wait.lua: moves many finished or delayed jobs back to the line (BullMQ
-- moveJobsToWait: Queue.retryJobs and Queue.promoteJobs).
--
-- KEYS
--   1 wait
--   2 active
--   3 prioritized
--   4 pc
--   5 delayed
--   6 completed
--   7 failed
--   8 meta
--   9 events
--   10 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 source: 'failed' | 'completed' | 'delayed'
--   3 only members scored at or below this (finish time; '+inf' for delayed)
--   4 at most this many jobs
-- Returns
--   how many jobs moved
-- Events
--   waiting {jobId, prev = source} per job
-- Finished jobs lose finishedOn, processedOn and returnvalue / failedReason (attempt counters
-- stay) and a child is pending again in its parent (include/parent.lua childPendingAgain);
-- delayed jobs get delay 0. Prioritized jobs go back to prioritized. A group job goes back to
-- its group (include/common.lua); from 'delayed', the delayed group jobs (oxq:gdelayed) are
-- promoted too, merged with the others in due order under the same limit.

local source = ARGV[2]
local limit = tonumber(ARGV[4])
local function upTo(key)
  return redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', 0, limit)
end
local plain = upTo(k[source])
local grouped = {}
if source == 'delayed' then grouped = upTo(GROUP_DELAYED) end
-- { id, true when it comes from oxq:gdelayed }, lowest score first
local picked = {}
local i, j = 1, 1
while #picked < limit and (plain[i] or grouped[j]) do
  if grouped[j] and (not plain[i] or tonumber(grouped[j + 1]) < tonumber(plain[i + 1])) then
    picked[#picked + 1] = { grouped[j], true }
    j = j + 2
  else
    picked[#picked + 1] = { plain[i], false }
    i = i + 2
  end
end
if #picked == 0 then return 0 end
local maxLen = maxEvents()
local blocked = isBlocked()
for _, pick in ipairs(picked) do
  local id = pick[1]
  local jobKey = base .. id
  local group = pick[2] and redis.call('HGET', jobKey, GROUP_FIELD)
  if group then
    groupUndelay(id, group)
  elseif pick[2] then
    redis.call('ZREM', GROUP_DELAYED, id)
  else
    redis.call('ZREM', k[source], id)
  end
  if redis.call('EXISTS', jobKey) == 1 then
    if source == 'failed' then
      redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'failedReason')
      childPendingAgain(jobKey, redis.call('HGET', jobKey, 'parentKey'))
    elseif source == 'completed' then
      redis.call('HDEL', jobKey, 'finishedOn', 'processedOn', 'returnvalue')
      childPendingAgain(jobKey, redis.call('HGET', jobKey, 'parentKey'))
    else
      redis.call('HSET', jobKey, 'delay', 0)
    end
    -- a group read here, or from the hash (enqueue) for a plain key's job
    enqueue(id, tonumber(redis.call('HGET', jobKey, 'priority')) or 0, false, group or nil)
    emit(maxLen, 'waiting', 'jobId', id, 'prev', source)
  end
end
addBaseMarker(blocked)
return #picked
