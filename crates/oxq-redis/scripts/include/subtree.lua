-- include/subtree.lua: a parent's whole subtree (its children, theirs, ...), found through the
-- children's job keys its `:dependencies`, `:processed`, `:failed` and `:unsuccessful` hold;
-- children may live on any queue. Needs include/common.lua and include/parent.lua first.

-- The job keys of a job's children, whatever became of them.
local function childrenOf(jobKey)
  local children = redis.call('SMEMBERS', jobKey .. ':dependencies')
  for _, more in ipairs({ redis.call('HKEYS', jobKey .. ':processed'),
      redis.call('HKEYS', jobKey .. ':failed'),
      redis.call('ZRANGE', jobKey .. ':unsuccessful', 0, -1) }) do
    for _, child in ipairs(more) do children[#children + 1] = child end
  end
  return children
end

-- Every existing job below `rootKey`, parents before their children (breadth first), each
-- once. Returns the list, or nil and the key of the first job a worker holds (its lock).
local function descendantsOf(rootKey)
  local seen = { [rootKey] = true }
  local found = {}
  local frontier = { rootKey }
  local i = 1
  while frontier[i] do
    for _, child in ipairs(childrenOf(frontier[i])) do
      if not seen[child] then
        seen[child] = true
        if redis.call('EXISTS', child) == 1 then
          if lockHeld(child) then return nil, child end
          found[#found + 1] = child
          frontier[#frontier + 1] = child
        end
      end
    end
    i = i + 1
  end
  return found
end

-- Takes job `id` out of whichever state key of its queue holds it (`q`: that queue's keys by
-- suffix, `b`: its base key "prefix:name:"), its group's keys included (include/common.lua),
-- and out of `stalled`; answers the key suffix it was found in, or 'unknown'. Shared by
-- remove_job.lua and removeDescendant.
local function takeOutOfStates(q, b, id)
  local group = redis.call('HGET', b .. id, GROUP_FIELD)
  local prev = group and groupRemoveAt(b, id, group)
  if not prev then
    for _, suffix in ipairs({ 'completed', 'waiting-children', 'delayed', 'failed',
        'prioritized' }) do
      if redis.call('ZREM', q[suffix], id) == 1 then
        prev = suffix
        break
      end
    end
  end
  if not prev then
    for _, suffix in ipairs({ 'wait', 'paused', 'active' }) do
      if redis.call('LREM', q[suffix], 1, id) > 0 then
        prev = suffix
        break
      end
    end
  end
  redis.call('SREM', q.stalled, id)
  return prev or 'unknown'
end

-- Removes one job of a subtree from whichever state of its queue holds it, with its keys and
-- dedup key, and records `removed {jobId, prev}` on its queue's stream. It is not detached
-- from its parent (that parent is removed too).
local function removeDescendant(jobKey)
  local id, queueKey = splitJobKey(jobKey)
  local q = queueKeysOf(queueKey)
  local prev = takeOutOfStates(q, q.base, id)
  releaseDedupOnRemoval(jobKey, id, q.base)
  deleteJobKeys(jobKey)
  emitTo(q.events, maxEventsAt(q), 'removed', 'jobId', id, 'prev', prev)
end
