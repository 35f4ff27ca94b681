-- flow_add.lua: writes flow trees, every node or none (BullMQ FlowProducer.add: addParentJob for
-- a node with children, the add variants for a leaf, in one step).
--
-- KEYS
-- (none: each node names its queue in ARGV and its keys are built from that, so a tree may
-- span queues and prefixes; this needs a single Redis node, not a Cluster)
-- ARGV
--   1 base key "prefix:name:" of the first node's queue
--   2 now (ms)
--   3 number of nodes n, then 12 values per node, each parent before its children:
--     base key of its queue "prefix:name:", job id, name, data (JSON), opts (BullMQ's encoded
--     JSON), delay (ms, 0 = none), priority (0 = none), lifo ('1' or '0'),
--     children (how many nodes below it; more than 0 makes it a parent),
--     parent key ('' for none: the parent's job key "prefix:queue:id"), parent JSON ({id,
--       queueKey, policy flag}, '' for none),
--     group ('' for none; oxq's job groups, see include/common.lua)
-- Returns
--   { 0, { state1, state2, ... } } in node order: 'waiting-children' for a parent, else the key
--   suffix an add would put it in ('delayed', 'prioritized' or 'wait'; a group node answers
--   the one a node without a group would go to);
--   { -1, job key } a node's job already exists, { -5, parent key } a node's parent neither
--   exists nor is an earlier node: nothing was written.
-- Events (on each node's own queue)
--   added {jobId, name}; then waiting-children {jobId} for a parent, else waiting {jobId} or
--   delayed {jobId, delay = due time}.
-- Every node INCRs its queue's `id` (as BullMQ does for custom ids). A parent keeps its delay
-- and priority fields for its release (include/parent.lua releaseParent). A child gets the
-- `parentKey` and `parent` fields and its key joins `<parent key>:dependencies`; a parent
-- outside the call (the root's) is not moved. Markers: one per queue that got a runnable or a
-- delayed leaf.
-- Groups: a node with a group names it in its hash (`oxq.group`); as a runnable leaf it joins
-- its group on its own queue (oxq:g:<group> and the ring under that queue's base key), as a
-- delayed one that queue's oxq:gdelayed and oxq:gd:<group>, never `wait`, `prioritized` or
-- `delayed`; a parent waits in `waiting-children` as any parent and goes to its group when
-- released (include/parent.lua releaseParent).

local now = tonumber(ARGV[2])
local nowText = ARGV[2]
local count = tonumber(ARGV[3])
local per = 12

-- every check first: Lua does not roll back
local nodes = {}
local written = {}
for i = 0, count - 1 do
  local a = 4 + i * per
  local node = { base = ARGV[a], id = ARGV[a + 1], name = ARGV[a + 2], data = ARGV[a + 3],
    opts = ARGV[a + 4], delay = tonumber(ARGV[a + 5]), priority = tonumber(ARGV[a + 6]),
    lifo = ARGV[a + 7] == '1', children = tonumber(ARGV[a + 8]), parentKey = ARGV[a + 9],
    parentJson = ARGV[a + 10], group = ARGV[a + 11] }
  if node.group == '' then node.group = false end
  node.key = node.base .. node.id
  if written[node.key] or redis.call('EXISTS', node.key) == 1 then return { -1, node.key } end
  if node.parentKey ~= '' and not written[node.parentKey]
      and redis.call('EXISTS', node.parentKey) == 0 then
    return { -5, node.parentKey }
  end
  written[node.key] = true
  nodes[#nodes + 1] = node
end

-- each queue's keys, with its blocked state read once
local queues = {}
local function queueOf(b)
  local q = queues[b]
  if not q then
    q = queueKeysOf(string.sub(b, 1, -2))
    local m = redis.call('HMGET', q.meta, 'paused', 'concurrency')
    q.blocked = blockedBy(m[1], m[2], q.active)
    queues[b] = q
  end
  return q
end

local states = {}
for _, node in ipairs(nodes) do
  local q = queueOf(node.base)
  local maxLen = maxEventsAt(q)
  local id = node.id
  redis.call('INCR', q.id)
  if node.parentKey == '' then
    redis.call('HSET', node.key, 'name', node.name, 'data', node.data, 'opts', node.opts,
      'timestamp', nowText, 'delay', node.delay, 'priority', node.priority)
  else
    redis.call('HSET', node.key, 'name', node.name, 'data', node.data, 'opts', node.opts,
      'timestamp', nowText, 'delay', node.delay, 'priority', node.priority,
      'parentKey', node.parentKey, 'parent', node.parentJson)
  end
  if node.group then redis.call('HSET', node.key, GROUP_FIELD, node.group) end
  emitTo(q.events, maxLen, 'added', 'jobId', id, 'name', node.name)
  local state
  if node.children > 0 then
    redis.call('ZADD', q['waiting-children'], nowText, id)
    emitTo(q.events, maxLen, 'waiting-children', 'jobId', id)
    state = 'waiting-children'
  elseif node.delay > 0 then
    local dueAt = now + node.delay
    if node.group then
      groupDelayAt(node.base, id, dueAt, node.group)
    else
      redis.call('ZADD', q.delayed, delayedScoreIn(q.delayed, dueAt), id)
    end
    emitTo(q.events, maxLen, 'delayed', 'jobId', id, 'delay', fmt(dueAt))
    q.delayedLeaf = true
    state = 'delayed'
  else
    if node.group then
      groupEnqueueAt(node.base, id, node.priority, node.lifo, node.group)
    else
      enqueueIn(q, id, node.priority, node.lifo)
    end
    emitTo(q.events, maxLen, 'waiting', 'jobId', id)
    q.runnableLeaf = true
    if node.priority > 0 then state = 'prioritized' else state = 'wait' end
  end
  if node.parentKey ~= '' then
    redis.call('SADD', node.parentKey .. ':dependencies', node.key)
  end
  states[#states + 1] = state
end
for _, q in pairs(queues) do
  if q.runnableLeaf then baseMarkerAt(q.marker, q.blocked) end
  if q.delayedLeaf then delayMarkerAt(q.base, q.marker, q.delayed) end
end
return { 0, states }
