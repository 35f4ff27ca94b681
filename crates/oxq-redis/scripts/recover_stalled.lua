-- recover_stalled.lua: gives jobs whose worker stopped renewing their lock back to the line
-- (BullMQ moveStalledJobsToWait), at most once per interval per queue.
--
-- KEYS
--   1 stalled
--   2 stalled-check
--   3 active
--   4 wait
--   5 meta
--   6 events
--   7 marker
--   8 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 max stalled count
--   4 interval (ms)
-- Returns
--   the ids recovered (empty when another process checked less than an interval ago)
-- Events
--   waiting {jobId, prev active} and stalled {jobId} per recovered job.
-- Protocol: a job is recovered when it was in active at the previous check (the `stalled` set),
-- was neither renewed nor finished since, and its lock expired. It goes to the front of `wait`
-- with stc + 1; beyond the max stalled count (unless it is a scheduler iteration) it gets `defa`
-- and the next worker to fetch it fails it. Then every active id becomes a suspect again.

local now = tonumber(ARGV[2])
local maxStalled = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
if redis.call('EXISTS', k['stalled-check']) == 1 then return {} end
redis.call('SET', k['stalled-check'], now, 'PX', interval)

local recovered = {}
local suspects = redis.call('SMEMBERS', k.stalled)
if #suspects > 0 then
  redis.call('DEL', k.stalled)
  local maxLen = maxEvents()
  for _, id in ipairs(suspects) do
    if string.sub(id, 1, 2) == '0:' then
      redis.call('LREM', k.active, 1, id)
    else
      local jobKey = base .. id
      if redis.call('EXISTS', jobKey .. ':lock') == 0 and redis.call('LREM', k.active, 1, id) > 0 then
        local stc = redis.call('HINCRBY', jobKey, 'stc', 1)
        local rjk = redis.call('HGET', jobKey, 'rjk')
        local scheduled = rjk and (redis.call('EXISTS', base .. 'repeat:' .. rjk) == 1
          or redis.call('ZSCORE', k['repeat'], rjk))
        if stc > maxStalled and not scheduled then
          redis.call('HSET', jobKey, 'defa', 'job stalled more than allowable limit')
        end
        redis.call('RPUSH', k.wait, id)
        emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
        emit(maxLen, 'stalled', 'jobId', id)
        recovered[#recovered + 1] = id
      end
    end
  end
  if #recovered > 0 then addBaseMarker(isBlocked()) end
end

local active = redis.call('LRANGE', k.active, 0, -1)
for i = 1, #active, 1000 do
  redis.call('SADD', k.stalled, unpack(active, i, math.min(i + 999, #active)))
end
return recovered
