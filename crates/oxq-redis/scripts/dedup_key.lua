-- dedup_key.lua: reads or releases one deduplication id (BullMQ's getDeduplicationJobId,
-- queue.removeDeduplicationKey and job.removeDeduplicationKey), judging its window by the
-- caller's clock (include/dedup.lua).
--
-- KEYS
-- (none: the key `<base>de:<dedup id>` is built from ARGV, on the queue's hash slot)
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 'owner' or 'release'
--   4 deduplication id
--   5 job id: release only while this job owns the id ('' releases it whoever owns it)
-- Returns
--   owner: the id of the job that owns the deduplication id, or false
--   release: 1 when the id was owned and is now released, else 0
-- Events
--   none (as BullMQ). A release also drops a job kept aside by keepLastIfActive
--   (`<base>dn:<id>`), as a removal of the owner does (Node's removeDeduplicationKey leaves it).

local now = tonumber(ARGV[2])
local dedupKey = base .. 'de:' .. ARGV[4]
dropDedupIfDue(dedupKey, now)
local owner = redis.call('GET', dedupKey)
if ARGV[3] == 'owner' then return owner end
if not owner or (ARGV[5] ~= '' and owner ~= ARGV[5]) then return 0 end
redis.call('DEL', dedupKey, base .. 'dn:' .. ARGV[4])
return 1
