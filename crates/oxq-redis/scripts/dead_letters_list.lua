-- dead_letters_list.lua: a page of a dead letter queue's dead jobs, oldest first (read only;
-- oxq's own, see include/dead_letter.lua).
--
-- KEYS
--   1 oxq:dead
--   2 wait
--   3 paused
--   4 active
--   5 prioritized
--   6 delayed
--   7 completed
--   8 failed
--   9 waiting-children
-- ARGV
--   1 base key "prefix:name:"
--   2 offset
--   3 limit
-- Returns
--   { id1, suffix1, score1, fields1, id2, ... } as get_job.lua reads each job; ids whose hash
--   is gone are skipped.
-- Events
--   none

local offset = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local out = {}
if limit <= 0 then return out end
for _, id in ipairs(redis.call('ZRANGE', k['oxq:dead'], offset, offset + limit - 1)) do
  local job = readJob(id)
  if #job > 0 then
    out[#out + 1] = id
    out[#out + 1] = job[1]
    out[#out + 1] = job[2]
    out[#out + 1] = job[3]
  end
end
return out
