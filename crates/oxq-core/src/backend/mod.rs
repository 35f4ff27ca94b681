//! The seam between oxq's runtime and a store: the [`Backend`] trait.
//!
//! Everything [`Queue`](crate::Queue), [`Worker`](crate::Worker) and
//! [`QueueEvents`](crate::QueueEvents) need from storage goes through this one object-safe
//! trait, used as `Arc<dyn Backend>`. Its shape follows River's driver executor: method names
//! start with the entity they act on (`job_*`, `jobs_*`, `locks_*`, `stalled_*`, `queue_*`,
//! `events_*`) and each takes one request struct (see [`requests`]), so a new field changes no
//! signature.
//!
//! # Contract every store keeps
//! * Each call is one atomic state transition (one SQL transaction, one Lua script) and writes
//!   the events it causes in that same transition.
//! * Every write a worker makes on a job it holds carries its [`LockToken`](crate::LockToken);
//!   the store refuses it with [`Error::LockLost`](crate::Error::LockLost) when the job's lock
//!   holds another token, and applies nothing.
//! * Times come from the caller (`now`, ms since the epoch) so tests can move the clock.
//! * [`Backend::queue_wait`] is cancel-safe: dropping its future loses nothing.
//! * A failed call (transient or not) never leaves a job half-moved.
//!
//! # Where the features still to come plug in
//! Capabilities not built yet are reported `false` by [`Backend::capabilities`]; the runtime
//! refuses the matching options with a clear error instead of silently ignoring them. Flows add
//! `flow_add` (a parent and its children in one transition) and a `WaitingChildren` finish
//! outcome; schedulers add `scheduler_upsert`/`scheduler_remove`/`schedulers_list` with the next
//! iteration created in the same transition that starts the current one; rate limits ride on
//! [`FetchJobs`] (a limiter) and a `RateLimited` finish outcome; deduplication, groups and
//! cancellation are fields of [`NewJob`]'s options checked by `job_add_bulk`; a dead letter
//! queue is a target named in a final `Failed` outcome.

mod instrumented;
pub mod requests;

use async_trait::async_trait;

use crate::error::Result;
use crate::events::{EventId, StoredEvent};
use crate::ids::{JobId, QueueRef};
use crate::record::{JobCounts, JobRecord};

pub use instrumented::Instrumented;
pub use requests::*;

/// What a store can do beyond the core contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Parent/child flows.
    pub flows: bool,
    /// Cron and interval job schedulers.
    pub schedulers: bool,
    /// Worker and queue-wide rate limits.
    pub rate_limit: bool,
    /// Job deduplication (simple, throttle, debounce).
    pub deduplication: bool,
    /// Events written by one process are readable by another.
    pub cross_process_events: bool,
}

/// Storage for queues. See the module docs for the contract.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for logs and errors: `sqlite`, `redis`.
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    // ---- adding and reading jobs ----

    /// Adds jobs in order, atomically per job. A job whose custom id exists is not written:
    /// its entry says `duplicate` and a `duplicated` event is recorded.
    async fn job_add_bulk(&self, req: AddJobs) -> Result<Vec<AddedJob>>;

    async fn job_get(&self, queue: &QueueRef, id: &JobId) -> Result<Option<JobRecord>>;

    /// Jobs in any of `states`, ordered by each state's natural order (see [`ListJobs`]).
    async fn jobs_list(&self, req: ListJobs) -> Result<Vec<JobRecord>>;

    async fn jobs_count(&self, queue: &QueueRef) -> Result<JobCounts>;

    // ---- the worker's path ----

    /// Moves up to `max_jobs` runnable jobs to active under `token`, promoting due delayed jobs
    /// first. Never blocks; see [`Backend::queue_wait`].
    async fn job_move_to_active(&self, req: FetchJobs) -> Result<Fetched>;

    /// Blocks until a job may be runnable on `queue` or `timeout` passes. Cancel-safe.
    ///
    /// Returns [`Wakeup::JobsReady`] as soon as a job is runnable (added, retried, resumed, or
    /// a delayed job fell due) and the queue is not paused. [`Wakeup::DueAt`] is only a hint
    /// that a delayed job was *added while waiting* and falls due before `timeout` ends; a
    /// store must not return it again and again for a due time it already reported, or the
    /// worker would spin. The worker passes a `timeout` no longer than the wait until the
    /// next due time it knows.
    async fn queue_wait(&self, req: WaitForJobs) -> Result<Wakeup>;

    /// Ends attempts of jobs the caller holds, and optionally fetches the next jobs in the same
    /// transition. Each item succeeds or fails on its own (e.g. a lost lock).
    async fn job_finish(&self, req: FinishJobs) -> Result<FinishResult>;

    /// Extends the locks the caller holds; returns the ids whose lock was lost.
    async fn locks_extend(&self, req: ExtendLocks) -> Result<Vec<JobId>>;

    /// Moves active jobs whose lock expired back to waiting (at most once per `interval` per
    /// queue, whichever worker asks); returns the ids recovered.
    async fn stalled_recover(&self, req: RecoverStalled) -> Result<Vec<JobId>>;

    // ---- one job ----

    async fn job_update_progress(&self, req: UpdateProgress) -> Result<()>;

    /// Appends a log line; returns how many lines the job has.
    async fn job_log_add(&self, req: AddLog) -> Result<u64>;

    async fn job_logs(&self, req: ReadLogs) -> Result<JobLogs>;

    /// Removes a job that is not held by a worker. `Ok(false)` when there was no such job;
    /// [`Error::Conflict`](crate::Error::Conflict) when it is locked by a worker.
    async fn job_remove(&self, queue: &QueueRef, id: &JobId) -> Result<bool>;

    /// Makes a delayed job runnable now.
    async fn job_promote(&self, req: JobAt) -> Result<()>;

    /// Moves a completed or failed job back to waiting, keeping its history.
    async fn job_retry(&self, req: JobAt) -> Result<()>;

    // ---- many jobs ----

    /// Moves up to `limit` jobs in a finished state back to waiting; returns how many moved.
    async fn jobs_retry(&self, req: RetryJobs) -> Result<u64>;

    /// Makes up to `limit` delayed jobs runnable now; returns how many moved.
    async fn jobs_promote(&self, req: PromoteJobs) -> Result<u64>;

    // ---- the queue ----

    async fn queue_pause(&self, queue: &QueueRef, now: u64) -> Result<()>;

    async fn queue_resume(&self, queue: &QueueRef, now: u64) -> Result<()>;

    async fn queue_is_paused(&self, queue: &QueueRef) -> Result<bool>;

    /// Removes waiting and prioritized jobs (and delayed ones when asked); returns how many.
    async fn queue_drain(&self, req: DrainQueue) -> Result<u64>;

    /// Removes up to `limit` jobs in one state older than the grace period; returns their ids.
    async fn queue_clean(&self, req: CleanQueue) -> Result<Vec<JobId>>;

    /// Deletes the queue and everything in it. Refuses while jobs are active unless `force`.
    async fn queue_obliterate(&self, req: ObliterateQueue) -> Result<()>;

    /// Queues that hold anything under `prefix`.
    async fn queues_list(&self, prefix: &str) -> Result<Vec<QueueRef>>;

    // ---- events ----

    /// The id of the newest event, to start reading "from now".
    async fn events_latest(&self, queue: &QueueRef) -> Result<Option<EventId>>;

    /// Events after `after` (from the oldest kept when `None`), waiting up to `block` for the
    /// first one. Cancel-safe.
    async fn events_read(&self, req: ReadEvents) -> Result<Vec<StoredEvent>>;
}
