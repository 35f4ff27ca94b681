-- pause.lua: pauses a queue the BullMQ 6 way: jobs stay in `wait`, workers stop fetching.
--
-- KEYS
--   1 meta
--   2 events
--   3 marker
-- ARGV
--   1 base key "prefix:name:"
-- Returns
--   0
-- Events
--   paused

redis.call('HSET', k.meta, 'paused', 1)
redis.call('DEL', k.marker)
emit(maxEvents(), 'paused')
return 0
