-- resume.lua: resumes a queue (BullMQ 6 resume). A legacy 5.x `paused` list is merged into the
-- consuming end of `wait` (those jobs run first, in FIFO order); never the 5.x RENAME over
-- `wait`, which would drop jobs.
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 delayed
--   6 meta
--   7 events
--   8 marker
-- ARGV
--   1 base key "prefix:name:"
--   2 '1' on the first call of a resume (emits the event), '0' on follow-up calls
-- Returns
--   how many legacy paused jobs are left to merge (the caller calls again while > 0)
-- Events
--   resumed (first call only)

redis.call('HDEL', k.meta, 'paused')
if redis.call('EXISTS', k.paused) == 1 then
  if redis.call('EXISTS', k.wait) == 0 then
    redis.call('RENAME', k.paused, k.wait)
  else
    for _ = 1, 10 do
      local chunk = redis.call('LRANGE', k.paused, 0, 999)
      if #chunk == 0 then break end
      redis.call('RPUSH', k.wait, unpack(chunk))
      redis.call('LTRIM', k.paused, #chunk, -1)
    end
  end
end
if not isBlocked() then
  if redis.call('LLEN', k.wait) + redis.call('ZCARD', k.prioritized) > 0 then
    addBaseMarker(false)
  else
    addDelayMarker()
  end
end
if ARGV[2] == '1' then emit(maxEvents(), 'resumed') end
return redis.call('LLEN', k.paused)
