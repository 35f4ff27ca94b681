-- dead_letters_purge.lua: deletes dead jobs of a dead letter queue (oxq's own; see
-- include/dead_letter.lua).
--
-- KEYS
--   1 oxq:dead
--   2 failed
--   3 meta
--   4 events
-- ARGV
--   1 base key "prefix:name:"
--   2 now (ms)
--   3 '1' every dead job, '0' only the ids that follow
--   4.. dead job ids
-- Returns
--   how many dead jobs were deleted
-- Events
--   removed {jobId, prev failed} per dead job deleted
-- Each id leaves the `oxq:dead` index. A dead job still in `failed` is deleted with its keys;
-- one someone moved elsewhere (retried on the dead letter queue) is no longer dead and only
-- leaves the index, and one whose hash is gone is forgotten.

local ids
if ARGV[3] == '1' then
  ids = redis.call('ZRANGE', k['oxq:dead'], 0, -1)
else
  ids = {}
  for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
end
local maxLen
local count = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', k['oxq:dead'], id) == 1 and redis.call('ZREM', k.failed, id) == 1 then
    deleteJobKeys(base .. id)
    maxLen = maxLen or maxEvents()
    emit(maxLen, 'removed', 'jobId', id, 'prev', 'failed')
    count = count + 1
  end
end
return count
