-- extend_locks.lua: renews the locks a worker holds (BullMQ extendLocks).
--
-- KEYS
--   1 active
--   2 stalled
-- ARGV
--   1 base key "prefix:name:"
--   2 lock duration (ms)
--   3 number of locks n, then 2 values per lock: job id, lock token
-- Returns
--   { lost, cancelled }: the ids whose lock is held by another token, or is gone while the job
--   is no longer active; and among those, apart, the ids whose lock cancel.lua cancelled (the
--   job's `cancelledLock` is this token, or '*')
-- Events
--   none
-- A renewed job leaves the `stalled` set. A lock that expired while its job is still in active
-- (nobody took it over) is taken again. Only an id that would be lost is looked at for a
-- cancellation: renewing costs nothing more while nothing is lost.
-- A group job's lock has no expiry (include/common.lua HEARTBEAT): its heartbeat is renewed
-- instead and its lock never gets one. A heartbeat that had expired while the job was still
-- active under this token is taken again, and the job counts in its group's active set again
-- (a fetch at the group's concurrency may have forgotten it, include/fetch.lua groupRoom).

local duration = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local lost, cancelled = {}, {}

-- Renews the heartbeat of group job `id` (of group `group`, read when nil) held by `token`.
local function beat(id, token, group)
  local jobKey = base .. id
  if redis.call('SET', jobKey .. HEARTBEAT, token, 'PX', duration, 'GET') then return end
  group = group or redis.call('HGET', jobKey, GROUP_FIELD)
  if group then redis.call('SADD', groupActiveKey(group), id) end
end

for i = 0, count - 1 do
  local id, token = ARGV[4 + i * 2], ARGV[5 + i * 2]
  local lockKey = base .. id .. ':lock'
  local current = redis.call('GET', lockKey)
  if current == token then
    if redis.call('PTTL', lockKey) == -1 then
      beat(id, token, nil)
    else
      redis.call('SET', lockKey, token, 'PX', duration)
    end
    redis.call('SREM', k.stalled, id)
  elseif not current and redis.call('LPOS', k.active, id) then
    -- nobody took the job over: taken again, a group job as its fetch takes it
    local group = redis.call('HGET', base .. id, GROUP_FIELD)
    if group then
      redis.call('SET', lockKey, token)
      beat(id, token, group)
    else
      redis.call('SET', lockKey, token, 'PX', duration)
    end
    redis.call('SREM', k.stalled, id)
  else
    local by = redis.call('HGET', base .. id, 'cancelledLock')
    if by and (by == token or by == '*') then
      cancelled[#cancelled + 1] = id
    else
      lost[#lost + 1] = id
    end
  end
end
return { lost, cancelled }
