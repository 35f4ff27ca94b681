-- include/read_job.lua: one job's hash and the state it is in, read in one step (shared by
-- get_job.lua and add.lua's answer for an existing custom id). Needs include/common.lua and
-- the keys wait, paused, active, prioritized, delayed, completed, failed, waiting-children.

-- {} when the job's hash does not exist, else { state, score, fields }: state is the key suffix
-- that holds the id ('delayed', 'prioritized' or 'wait' for a group job in its group's keys,
-- 'unknown' when none does), score its zset score ('' for lists and runnable group jobs) and
-- fields the hash (HGETALL).
local function readJob(id)
  local fields = redis.call('HGETALL', base .. id)
  if #fields == 0 then return {} end
  for _, suffix in ipairs({ 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children' }) do
    local score = redis.call('ZSCORE', k[suffix], id)
    if score then return { suffix, score, fields } end
  end
  for _, suffix in ipairs({ 'active', 'wait', 'paused' }) do
    if redis.call('LPOS', k[suffix], id) then return { suffix, '', fields } end
  end
  -- a group job waits in its group's keys (include/common.lua)
  local group = redis.call('HGET', base .. id, GROUP_FIELD)
  if group then
    local score = redis.call('ZSCORE', GROUP_DELAYED, id)
    if score then return { 'delayed', score, fields } end
    local runnable = redis.call('ZSCORE', groupKey(group), id)
    if runnable then
      if tonumber(runnable) >= GROUP_PRIORITIZED then return { 'prioritized', '', fields } end
      return { 'wait', '', fields }
    end
  end
  return { 'unknown', '', fields }
end
