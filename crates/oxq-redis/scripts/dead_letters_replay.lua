-- dead_letters_replay.lua: adds dead jobs of a dead letter queue back to their source queues
-- (oxq's own; see include/dead_letter.lua for what a dead job holds).
--
-- KEYS
--   1 oxq:dead
--   2 meta
-- ARGV
--   1 base key "prefix:name:" (the dead letter queue)
--   2 now (ms)
--   3.. dead job ids
-- Returns
--   one entry per id, in order: { source queue name, new job id }, or -1 when this queue holds
--   no dead job with that id.
-- Events (on the source queue)
--   added {jobId, name}, waiting {jobId}, replayed {jobId, deadLetterQueue, deadLetterId}
-- The new job: an automatic id of the source queue (INCR of its `id`), the dead job's name,
-- data and opts exactly as stored, `timestamp` now, `delay` 0, its `priority`, no attempts
-- and no stalls yet, and `oxq:replayOf` = the dead job's key (the link to the dead entry). It
-- is runnable at once (wait, at the front when opts.lifo; prioritized with a priority; a
-- group job, whose dead copy keeps `oxq.group`, in its group: include/common.lua), and a
-- worker of the source queue (Node or oxq) is woken unless the queue is paused or at its
-- global concurrency. The dead job counts the replay (`oxq:replays`, `oxq:replayedAs`). The
-- source queue's keys are built from the dead job's `oxq:src` (same node: see
-- include/dead_letter.lua).

local nowText = ARGV[2]
local dlqName = ''
local out = {}
for i = 3, #ARGV do
  local deadId = ARGV[i]
  local deadKey = base .. deadId
  local f = redis.call('HMGET', deadKey, 'name', 'data', 'opts', 'priority', 'oxq:src',
    'oxq:srcQueue', GROUP_FIELD)
  if not redis.call('ZSCORE', k['oxq:dead'], deadId) or not f[5] then
    out[#out + 1] = -1
  else
    if dlqName == '' then
      local prefixLen = #f[5] - #(f[6] or '') - 1
      dlqName = string.sub(base, prefixLen + 1, -2)
    end
    local src = f[5]
    local q = { wait = src .. 'wait', prioritized = src .. 'prioritized', pc = src .. 'pc' }
    local id = fmt(redis.call('INCR', src .. 'id'))
    local priority = tonumber(f[4]) or 0
    local opts = decodeJson(f[3])
    local lifo = type(opts) == 'table' and opts.lifo == true
    redis.call('HSET', src .. id, 'name', f[1] or '', 'data', f[2] or '{}', 'opts', f[3] or '{}',
      'timestamp', nowText, 'delay', '0', 'priority', fmt(priority), 'oxq:replayOf', deadKey)
    if f[7] then
      redis.call('HSET', src .. id, GROUP_FIELD, f[7])
      groupEnqueueAt(src, id, priority, lifo, f[7])
    else
      enqueueIn(q, id, priority, lifo)
    end
    local meta = redis.call('HMGET', src .. 'meta', 'opts.maxLenEvents', 'paused', 'concurrency')
    local maxLen = '10000'
    if meta[1] and string.find(meta[1], '^%d+$') then maxLen = meta[1] end
    local events = src .. 'events'
    emitTo(events, maxLen, 'added', 'jobId', id, 'name', f[1] or '')
    emitTo(events, maxLen, 'waiting', 'jobId', id)
    emitTo(events, maxLen, 'replayed', 'jobId', id, 'deadLetterQueue', dlqName,
      'deadLetterId', deadId)
    baseMarkerAt(src .. 'marker', blockedBy(meta[2], meta[3], src .. 'active'))
    redis.call('HINCRBY', deadKey, 'oxq:replays', 1)
    redis.call('HSET', deadKey, 'oxq:replayedAs', id)
    out[#out + 1] = { f[6] or '', id }
  end
end
return out
