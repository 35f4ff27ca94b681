//! The fields of a job hash `prefix:queue:<id>` (`bullmq-v5-model.md` §2.1), by their wire
//! names. The job id is not a field: it is the key's last part.

pub const NAME: &str = "name";
pub const DATA: &str = "data";
pub const OPTS: &str = "opts";
pub const TIMESTAMP: &str = "timestamp";
pub const DELAY: &str = "delay";
pub const PROCESSED_ON: &str = "processedOn";
pub const PROCESSED_BY: &str = "pb";
pub const ATTEMPTS_STARTED: &str = "ats";
pub const ATTEMPTS_MADE: &str = "atm";
/// The pre-5.0 name of `atm`; Node reads it first.
pub const ATTEMPTS_MADE_LEGACY: &str = "attemptsMade";
pub const STALLED_COUNT: &str = "stc";
pub const FINISHED_ON: &str = "finishedOn";
pub const RETURN_VALUE: &str = "returnvalue";
pub const FAILED_REASON: &str = "failedReason";
pub const STACKTRACE: &str = "stacktrace";
pub const PROGRESS: &str = "progress";
pub const DEFERRED_FAILURE: &str = "defa";
/// A child's parent job key `prefix:queue:id`.
pub const PARENT_KEY: &str = "parentKey";
/// A child's parent as JSON `{id, queueKey, <policy flag>}` (see `wire::parent`).
pub const PARENT: &str = "parent";
/// The deduplication id the job was added with.
pub const DEDUP_ID: &str = "deid";
/// oxq's job group (tenant) of a group job, also under `opts.oxq.group`; Node ignores it (see
/// `scripts/include/common.lua` for the group keys).
pub const GROUP: &str = "oxq.group";
