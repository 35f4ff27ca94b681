-- remove_job.lua: removes one job that no worker holds, with its whole subtree when it is a
-- parent (BullMQ removeJob with removeChildren).
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
--   9 stalled
--   10 meta
--   11 events
--   12 repeat
-- ARGV
--   1 base key "prefix:name:"
--   2 job id
-- Returns
--   1 removed, 0 no such job, -2 locked by a worker, { -2, job key } a job of its subtree is
--   locked by a worker, -8 the pending iteration of a job scheduler; nothing is removed unless 1
-- Events
--   removed {jobId, prev = the key suffix it was found in, or 'unknown'}, on each removed job's
--   own queue
-- The job leaves its parent's dependencies (which may release the parent) and its dedup key.
-- Its subtree (include/subtree.lua: children on any queue, and theirs) goes with it.

local id = ARGV[2]
local jobKey = base .. id
if redis.call('EXISTS', jobKey) == 0 then return 0 end
if schedulerIterations()[id] then return -8 end
if lockHeld(jobKey) then return -2 end
local descendants, locked = descendantsOf(jobKey)
if not descendants then return { -2, locked } end

local prev = takeOutOfStates(k, base, id)
detachFromParent(jobKey)
releaseDedupOnRemoval(jobKey, id)
for _, descendant in ipairs(descendants) do removeDescendant(descendant) end
deleteJobKeys(jobKey)
emit(maxEvents(), 'removed', 'jobId', id, 'prev', prev)
return 1
