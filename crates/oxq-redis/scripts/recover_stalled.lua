-- recover_stalled.lua: gives jobs whose lock expired back to the line, in one pass: every id in
-- `active` whose `:lock` key is gone (for a group job: whose heartbeat is gone, see lockHeld in
-- include/common.lua) is recovered by this call. (BullMQ's moveStalledJobsToWait
-- recovers only ids it already saw in `active` at its previous check, so a dead worker's jobs
-- wait up to two check intervals after their locks expire; this check does not wait.)
--
-- KEYS
--   1 stalled-check:oxq
--   2 active
--   3 wait
--   4 meta
--   5 events
--   6 marker
--   7 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 max stalled count
--   4 gate (ms): how long no other oxq check of this queue runs after this one
-- Returns
--   the ids recovered (empty when another oxq process checked less than a gate ago)
-- Events
--   waiting {jobId, prev active} and stalled {jobId} per recovered job.
-- Per recovered job: out of `active`, to the front of `wait` (RPUSH, whatever its priority, as
-- BullMQ does), stc + 1; beyond the max stalled count (unless it is a scheduler iteration) it
-- gets `defa` and the next worker to fetch it fails it. Pre-5.0 marker ids ("0:<n>") found in
-- `active` are dropped. A group job goes to the front of its group instead (never to `wait`),
-- and its lock (which has no expiry) and heartbeat are deleted. Cost: one PTTL per active job
-- (and one EXISTS per active group job), once per gate per queue.
--
-- Why one pass is safe, with Node BullMQ 6 workers on the same queue too:
-- * A job in `active` without its lock is one nobody holds. Every way into `active` sets the
--   job's lock in the same script: oxq's (include/fetch.lua: takeRunnable then activate, for
--   move_to_active.lua and finish.lua's fetch-next) and BullMQ 6's (moveToActive and
--   moveToFinished's fetch-next: RPOPLPUSH wait→active or ZPOPMIN prioritized + LPUSH active,
--   then prepareJobForProcessing's SET <id>:lock token PX lockDuration). A script runs alone,
--   so no check ever sees a job in `active` that is waiting for its lock. BullMQ's second
--   sighting dates from workers before 5.0, which moved a job with BRPOPLPUSH and locked it in
--   a later call; those versions do not read BullMQ 6's layout and must not share the queue.
--   (A Node caller that fetches with the token "0" takes no lock at all: BullMQ's own checker
--   recovers such a job as stalled too, one interval later.)
-- * A lock is renewed by its holder alone: Node every lockDuration / 2 (15 s of its 30 s
--   default), oxq every quarter of its lock. Whatever lock a job was taken with, its key is
--   gone only once its holder missed renewals for a whole lock duration — the very condition
--   BullMQ's checker acts on. So this check recovers nothing Node's would not; it recovers it
--   sooner. A Node job under a 30 s lock is never recovered while its worker renews it.
-- * Node's checker keeps its own protocol untouched: its gate `stalled-check` (its own
--   interval) and its `stalled` set, which this script neither reads nor writes. An oxq job
--   held under a shorter lock is renewed every quarter of it (SET PX, SREM from `stalled`),
--   so Node's checker finds its lock present; a job this script already recovered is no
--   longer in `active` (Node's LREM finds nothing and skips it) or is locked by its new holder.
-- * A group job is oxq's alone: its lock has no expiry, so Node's checker always finds it
--   locked and never moves it to `wait`, where a Node worker would run it outside its group.
--   Its holder's heartbeat (`:oxq.hb`, renewed as a lock is) stands for the lock here: a group
--   job whose oxq worker died waits in `active` until this check recovers it into its group.
-- * The gate is oxq's own key beside BullMQ's: Node's 30 s gate would otherwise hold back the
--   oxq workers' short interval, and theirs would make Node skip checks. The key holds no
--   state but its expiry (an obliterate by Node leaves it to expire on its own).

local maxStalled = tonumber(ARGV[3])
local gateKey = k['stalled-check:oxq']
if redis.call('EXISTS', gateKey) == 1 then return {} end
redis.call('SET', gateKey, ARGV[2], 'PX', ARGV[4])

local recovered = {}
local maxLen
for _, id in ipairs(redis.call('LRANGE', k.active, 0, -1)) do
  if string.sub(id, 1, 2) == '0:' then
    redis.call('LREM', k.active, 1, id)
  else
    local jobKey = base .. id
    -- LREM from the tail: activation pushes on the left, so a stale job sits towards the right
    if not lockHeld(jobKey) and redis.call('LREM', k.active, -1, id) > 0 then
      local stc = redis.call('HINCRBY', jobKey, 'stc', 1)
      local rjk = redis.call('HGET', jobKey, 'rjk')
      local scheduled = rjk and (redis.call('EXISTS', base .. 'repeat:' .. rjk) == 1
        or redis.call('ZSCORE', k['repeat'], rjk))
      if stc > maxStalled and not scheduled then
        redis.call('HSET', jobKey, 'defa', 'job stalled more than allowable limit')
      end
      -- a group job goes back to the front of its group (include/common.lua), not to `wait`
      local group = redis.call('HGET', jobKey, GROUP_FIELD)
      if group then
        redis.call('DEL', jobKey .. ':lock', jobKey .. HEARTBEAT)
        redis.call('SREM', groupActiveKey(group), id)
        groupEnqueue(id, 0, true, group)
      else
        redis.call('RPUSH', k.wait, id)
      end
      maxLen = maxLen or maxEvents()
      emit(maxLen, 'waiting', 'jobId', id, 'prev', 'active')
      emit(maxLen, 'stalled', 'jobId', id)
      recovered[#recovered + 1] = id
    end
  end
end
if #recovered > 0 then addBaseMarker(isBlocked()) end
return recovered
