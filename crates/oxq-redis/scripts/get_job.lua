-- get_job.lua: reads one job and the state it is in (read only).
--
-- KEYS
--   1 wait
--   2 paused
--   3 active
--   4 prioritized
--   5 delayed
--   6 completed
--   7 failed
--   8 waiting-children
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   {} when the job does not exist, else { state, score, fields } where state is the key suffix
--   that holds the id ('unknown' when none does), score its zset score ('' for lists) and
--   fields the job hash (HGETALL)
-- Events
--   none

local id = ARGV[2]
local fields = redis.call('HGETALL', base .. id)
if #fields == 0 then return {} end
for _, suffix in ipairs({ 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children' }) do
  local score = redis.call('ZSCORE', k[suffix], id)
  if score then return { suffix, score, fields } end
end
for _, suffix in ipairs({ 'active', 'wait', 'paused' }) do
  if redis.call('LPOS', k[suffix], id) then return { suffix, '', fields } end
end
return { 'unknown', '', fields }
