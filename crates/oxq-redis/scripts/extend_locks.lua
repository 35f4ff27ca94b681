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

local duration = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local lost, cancelled = {}, {}
for i = 0, count - 1 do
  local id, token = ARGV[4 + i * 2], ARGV[5 + i * 2]
  local lockKey = base .. id .. ':lock'
  local current = redis.call('GET', lockKey)
  if current == token or (not current and redis.call('LPOS', k.active, id)) then
    redis.call('SET', lockKey, token, 'PX', duration)
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
