-- include/dead_letter.lua: copying a job failed for good to its queue's dead letter queue
-- (oxq's own extension; see oxq_core::backend::DeadLetters). Needs include/common.lua and the
-- key meta.
--
-- The setting is the source queue's meta field `oxq:dlq` (the dead letter queue's base key
-- "prefix:name:") with `oxq:dlq.name` (its name); Node BullMQ ignores both. The dead letter
-- queue's keys are built here from that base, so both queues must live on one node (one
-- cluster slot: the Rust side refuses a setting that would cross slots).
--
-- A dead job is an ordinary BullMQ job of the dead letter queue, in `failed` (score and
-- finishedOn = now): the source job's hash copied field by field (name, data, opts, timestamp,
-- processedOn, atm, ats, stc, failedReason, stacktrace, ... exactly as stored) without the
-- fields that tie it to the source's flows, deduplication, scheduler or deferred failure,
-- plus oxq's fields `oxq:src` (the source's base key), `oxq:srcQueue` (its name),
-- `oxq:srcId` (the source job id) and `oxq:deadAt`. Its id is an automatic id of the dead
-- letter queue (INCR of its `id`), also recorded in the dead letter queue's own index
-- `oxq:dead` (zset by the time it died), which Node ignores.


-- Copies job `id` (hash `jobKey`), just failed for good at `nowText`, when the queue has a dead
-- letter queue. Returns { dead letter queue name, dead id } for the caller's `dead-lettered`
-- event, or nil when the queue has none (one HMGET of meta: all a queue without one pays).
local function deadLetter(id, jobKey, nowText)
  local setting = redis.call('HMGET', k.meta, 'oxq:dlq', 'oxq:dlq.name')
  local dlq = setting[1]
  if not dlq then return nil end
  -- Fields of a source job that the copy leaves out (built here, not at the script's top
  -- level: a finish that copies nothing must not pay for the table).
  local dropped = {
    parentKey = true, parent = true, deid = true, rjk = true, defa = true, returnvalue = true,
    finishedOn = true, ['oxq:src'] = true, ['oxq:srcQueue'] = true, ['oxq:srcId'] = true,
    ['oxq:deadAt'] = true, ['oxq:replays'] = true, ['oxq:replayedAs'] = true,
    ['oxq:replayOf'] = true,
  }
  local deadId = fmt(redis.call('INCR', dlq .. 'id'))
  local fields = redis.call('HGETALL', jobKey)
  local copy = {}
  for i = 1, #fields, 2 do
    if not dropped[fields[i]] then
      copy[#copy + 1] = fields[i]
      copy[#copy + 1] = fields[i + 1]
    end
  end
  -- both queues share the prefix: "prefix:" is the dead letter queue's base without "name:"
  local dlqName = setting[2] or ''
  local prefixLen = #dlq - #dlqName - 1
  local srcQueue = string.sub(base, prefixLen + 1, -2)
  copy[#copy + 1] = 'finishedOn'
  copy[#copy + 1] = nowText
  copy[#copy + 1] = 'oxq:src'
  copy[#copy + 1] = base
  copy[#copy + 1] = 'oxq:srcQueue'
  copy[#copy + 1] = srcQueue
  copy[#copy + 1] = 'oxq:srcId'
  copy[#copy + 1] = id
  copy[#copy + 1] = 'oxq:deadAt'
  copy[#copy + 1] = nowText
  redis.call('HSET', dlq .. deadId, unpack(copy))
  redis.call('ZADD', dlq .. 'failed', nowText, deadId)
  redis.call('ZADD', dlq .. 'oxq:dead', nowText, deadId)
  return { dlqName, deadId }
end
