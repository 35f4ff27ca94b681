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
//! # Optional features: typed facets
//! The calls above are what every store must do. A feature a store may lack (schedulers, flows,
//! rate limits, deduplication, dead letters, steps, metrics) joins as a *facet*: a trait of its
//! own in a file of its own (its requests and answers beside it, under `requests/`), and one
//! method on [`Backend`] with a default that says "not here":
//!
//! ```ignore
//! fn schedulers(&self) -> Option<&dyn Schedulers> { None }
//! ```
//!
//! A store that has the feature returns `Some(self)`; the runtime asks for the facet and refuses
//! the matching options with [`Error::Unsupported`](crate::Error::Unsupported) when it is
//! absent, so nothing is silently ignored. [`Instrumented`] implements each facet in a file of
//! its own under `instrumented/` and answers `Some(self)` exactly when the store it wraps does.
//! [`Capabilities`] is only for facts about the core calls, not for features.
//!
mod cancel;
mod dead_letters;
mod deduplication;
mod flows;
mod groups;
mod instrumented;
mod limits;
mod metrics;
pub mod requests;
mod schedulers;
mod steps;
mod workers;

use async_trait::async_trait;

use crate::error::Result;
use crate::events::{EventId, StoredEvent};
use crate::ids::QueueRef;
use crate::record::{JobCounts, JobRecord};

pub use cancel::Cancellation;
pub use dead_letters::DeadLetters;
pub use deduplication::DedupIds;
pub use flows::Flows;
pub use groups::Groups;
pub use instrumented::Instrumented;
pub use limits::Limits;
pub use metrics::Metrics;
pub use requests::*;
pub use schedulers::Schedulers;
pub use steps::Steps;
pub use workers::Workers;

/// Facts about how a store keeps the core contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Events written by one process are readable by another.
    pub cross_process_events: bool,
}

impl Capabilities {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cross_process_events(mut self, yes: bool) -> Self {
        self.cross_process_events = yes;
        self
    }
}

/// Storage for queues. See the module docs for the contract.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for logs and errors: `sqlite`, `redis`.
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    // ---- optional facets (see the module docs) ----

    /// Job schedulers, when the store keeps them.
    fn schedulers(&self) -> Option<&dyn Schedulers> {
        None
    }

    /// Parent/child jobs (flows), when the store keeps them.
    fn flows(&self) -> Option<&dyn Flows> {
        None
    }

    /// Deduplication ids (BullMQ 6's `deduplication` option), when the store keeps them.
    fn deduplication(&self) -> Option<&dyn DedupIds> {
        None
    }

    /// Durable steps (memoized step results, sleeps, signals), when the store keeps them.
    fn steps(&self) -> Option<&dyn Steps> {
        None
    }

    /// Dead letter queues, when the store keeps them.
    fn dead_letters(&self) -> Option<&dyn DeadLetters> {
        None
    }

    /// Global rate limits, a worker limiter and global concurrency, when the store keeps them.
    fn limits(&self) -> Option<&dyn Limits> {
        None
    }

    /// Job groups (tenant fairness: round-robin, per-group limits and pause), when the store
    /// keeps them.
    fn groups(&self) -> Option<&dyn Groups> {
        None
    }

    /// Job cancellation from any process, when the store keeps it.
    fn cancellation(&self) -> Option<&dyn Cancellation> {
        None
    }

    /// Worker presence (which workers serve a queue), when the store keeps it.
    fn workers(&self) -> Option<&dyn Workers> {
        None
    }

    /// BullMQ's per-minute metrics (completions and final failures), when the store keeps
    /// them; recorded by [`Backend::job_finish`] when asked ([`FinishJobs::metrics`]).
    fn metrics(&self) -> Option<&dyn Metrics> {
        None
    }

    // ---- adding and reading jobs ----

    /// Adds jobs in order, atomically per job. A job whose custom id exists is not written: its
    /// entry is [`AddedJob::Existing`] with the record read in the same step, and a `duplicated`
    /// event is recorded. A new job's entry says the state the store put it in.
    ///
    /// The store checks every job's options ([`JobOptions::validate`](crate::JobOptions::validate))
    /// before it writes any, and refuses the whole call with
    /// [`Error::InvalidOptions`](crate::Error::InvalidOptions) if one is invalid: `Queue` has
    /// checked them already, but the seam has other callers (a CLI, a test, another runtime).
    async fn job_add_bulk(&self, req: AddJobs) -> Result<AddedJobs>;

    async fn job_get(&self, req: GetJob) -> Result<Option<JobRecord>>;

    /// Jobs in any of `states`, ordered by each state's natural order (see [`ListJobs`]).
    async fn jobs_list(&self, req: ListJobs) -> Result<Vec<JobRecord>>;

    async fn jobs_count(&self, req: OfQueue) -> Result<JobCounts>;

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

    /// Ends attempts of jobs the caller holds, and optionally fetches the next jobs of the same
    /// queue in the same transition. Each item succeeds or fails on its own (e.g. a lost lock).
    async fn job_finish(&self, req: FinishJobs) -> Result<FinishResult>;

    /// Extends the locks the caller holds; answers the ids whose lock was lost.
    async fn locks_extend(&self, req: ExtendLocks) -> Result<ExtendedLocks>;

    /// Moves active jobs whose lock expired back to waiting (at most once per `interval` per
    /// queue, whichever worker asks); answers the ids recovered.
    async fn stalled_recover(&self, req: RecoverStalled) -> Result<RecoveredStalled>;

    // ---- one job ----

    async fn job_update_progress(&self, req: UpdateProgress) -> Result<()>;

    /// Appends a log line; answers how many lines the job has.
    async fn job_log_add(&self, req: AddLog) -> Result<LogAdded>;

    async fn job_logs(&self, req: ReadLogs) -> Result<JobLogs>;

    /// Removes a job that is not held by a worker. `existed: false` when there was no such job;
    /// [`Error::Conflict`](crate::Error::Conflict) when it is locked by a worker.
    async fn job_remove(&self, req: RemoveJob) -> Result<JobRemoved>;

    /// Makes a delayed job runnable now.
    async fn job_promote(&self, req: JobAt) -> Result<()>;

    /// Moves a completed or failed job back to waiting, keeping its history.
    async fn job_retry(&self, req: JobAt) -> Result<()>;

    // ---- many jobs ----

    /// Moves up to `limit` jobs in a finished state back to waiting.
    async fn jobs_retry(&self, req: RetryJobs) -> Result<MovedJobs>;

    /// Makes up to `limit` delayed jobs runnable now.
    async fn jobs_promote(&self, req: PromoteJobs) -> Result<MovedJobs>;

    // ---- the queue ----

    /// Pauses (workers start nothing; jobs keep arriving) or resumes the queue. Emits `paused`
    /// or `resumed`.
    async fn queue_set_paused(&self, req: SetPaused) -> Result<()>;

    async fn queue_status(&self, req: OfQueue) -> Result<QueueStatus>;

    /// Removes waiting and prioritized jobs (and delayed ones when asked).
    async fn queue_drain(&self, req: DrainQueue) -> Result<DrainedJobs>;

    /// Removes up to `limit` jobs in one state older than the grace period.
    async fn queue_clean(&self, req: CleanQueue) -> Result<CleanedJobs>;

    /// Deletes the queue and everything in it. Refuses while jobs are active unless `force`.
    async fn queue_obliterate(&self, req: ObliterateQueue) -> Result<()>;

    /// Queues that hold anything under `prefix`.
    async fn queues_list(&self, req: ListQueues) -> Result<Vec<QueueRef>>;

    // ---- events ----

    /// The id of the newest event, to start reading "from now".
    async fn events_latest(&self, req: OfQueue) -> Result<Option<EventId>>;

    /// Events after `after` (from the oldest kept when `None`), waiting up to `block` for the
    /// first one. Cancel-safe.
    async fn events_read(&self, req: ReadEvents) -> Result<Vec<StoredEvent>>;
}
