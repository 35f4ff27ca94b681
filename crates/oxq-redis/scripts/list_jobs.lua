-- list_jobs.lua: a page of jobs in some states, each state in its natural order (read only).
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
--   2 offset
--   3 limit
--   4 '1' oldest first, '0' newest first
--   5.. states: 'wait' (with the legacy 'paused' list) | 'active' | 'prioritized' | 'delayed' |
--       'completed' | 'failed' | 'waiting-children'
-- Returns
--   { id1, suffix1, score1, fields1, id2, ... } ('' score for lists and runnable group jobs);
--   ids whose hash is gone are skipped. Oldest first means: next to run (wait, prioritized),
--   soonest due (delayed), earliest started (active), earliest finished (completed, failed).
--   Group jobs (include/common.lua) come after the plain jobs of their state: waiting and
--   prioritized ones group by group in key order (each group's next to run first), delayed
--   ones soonest due first (oxq:gdelayed).
-- Events
--   none

local offset = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local asc = ARGV[4] == '1'

-- sources per state in oldest-first order: { key, is a list, state, low, high }; lists are
-- consumed from the right; low and high bound the scores of a group's runnable jobs of the
-- state (a band of its zset)
local sources = {}
local function groupSources(state, low, high)
  for _, group in ipairs(redis.call('ZRANGE', GROUP_RING, 0, -1)) do
    sources[#sources + 1] = { groupKey(group), false, state, low, high }
  end
end
for i = 5, #ARGV do
  local state = ARGV[i]
  if state == 'wait' then
    sources[#sources + 1] = { k.paused, true, 'paused' }
    sources[#sources + 1] = { k.wait, true, 'wait' }
    groupSources('wait', '-inf', '(' .. GROUP_PRIORITIZED)
  elseif state == 'active' then
    sources[#sources + 1] = { k.active, true, 'active' }
  else
    sources[#sources + 1] = { k[state], false, state }
    if state == 'prioritized' then groupSources(state, GROUP_PRIORITIZED, '+inf') end
    if state == 'delayed' then sources[#sources + 1] = { GROUP_DELAYED, false, state } end
  end
end
if not asc then
  local reversed = {}
  for i = #sources, 1, -1 do reversed[#reversed + 1] = sources[i] end
  sources = reversed
end

-- ids (with scores) at positions s..e (0-based, inclusive) of one source in the wanted order
local function range(src, s, e)
  local key, isList = src[1], src[2]
  local out = {}
  if isList then
    local ids
    if asc then
      local n = redis.call('LLEN', key)
      ids = redis.call('LRANGE', key, math.max(n - 1 - e, 0), n - 1 - s)
      for i = #ids, 1, -1 do out[#out + 1] = { ids[i], '' } end
    else
      ids = redis.call('LRANGE', key, s, e)
      for i = 1, #ids do out[#out + 1] = { ids[i], '' } end
    end
  elseif src[4] then
    local ids
    if asc then
      ids = redis.call('ZRANGEBYSCORE', key, src[4], src[5], 'LIMIT', s, e - s + 1)
    else
      ids = redis.call('ZREVRANGEBYSCORE', key, src[5], src[4], 'LIMIT', s, e - s + 1)
    end
    for i = 1, #ids do out[#out + 1] = { ids[i], '' } end
  else
    local cmd = asc and 'ZRANGE' or 'ZREVRANGE'
    local flat = redis.call(cmd, key, s, e, 'WITHSCORES')
    for i = 1, #flat, 2 do out[#out + 1] = { flat[i], flat[i + 1] } end
  end
  return out
end

local result = {}
local skip, want = offset, limit
for _, src in ipairs(sources) do
  if want <= 0 then break end
  local n
  if src[2] then
    n = redis.call('LLEN', src[1])
  elseif src[4] then
    n = redis.call('ZCOUNT', src[1], src[4], src[5])
  else
    n = redis.call('ZCARD', src[1])
  end
  if skip >= n then
    skip = skip - n
  else
    local e = math.min(n - 1, skip + want - 1)
    for _, item in ipairs(range(src, skip, e)) do
      local fields = redis.call('HGETALL', base .. item[1])
      if #fields > 0 then
        result[#result + 1] = item[1]
        result[#result + 1] = src[3]
        result[#result + 1] = item[2]
        result[#result + 1] = fields
      end
    end
    want = want - (e - skip + 1)
    skip = 0
  end
end
return result
