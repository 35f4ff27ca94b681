//! Request and answer types of the [`Backend`](super::Backend) calls.
//!
//! All structs are plain data with public fields. Times are milliseconds since the epoch,
//! supplied by the caller.

use std::time::Duration;

use crate::events::EventId;
use crate::ids::{JobId, LockToken, QueueRef};
use crate::options::{JobOptions, KeepJobs};
use crate::record::{JobRecord, JobState};

/// A job to add: name, JSON payload and validated options.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub name: String,
    pub data: String,
    pub options: JobOptions,
}

#[derive(Debug, Clone)]
pub struct AddJobs {
    pub queue: QueueRef,
    pub jobs: Vec<NewJob>,
    pub now: u64,
}

/// The outcome of adding one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedJob {
    pub id: JobId,
    /// The custom id existed: nothing was written and the existing job stands.
    pub duplicate: bool,
}

/// Which jobs to list, and which page.
#[derive(Debug, Clone)]
pub struct ListJobs {
    pub queue: QueueRef,
    pub states: Vec<JobState>,
    pub offset: u64,
    pub limit: u64,
    /// Oldest first when true. Per state, "oldest" means: next to run for waiting and
    /// prioritized, soonest due for delayed, earliest finished for completed and failed.
    pub ascending: bool,
}

#[derive(Debug, Clone)]
pub struct FetchJobs {
    pub queue: QueueRef,
    pub token: LockToken,
    pub lock_duration: Duration,
    pub max_jobs: u32,
    pub worker_name: Option<String>,
    pub now: u64,
}

/// Jobs now held by the caller, and hints for when to look again.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub jobs: Vec<JobRecord>,
    /// When the earliest delayed job falls due, if there is one.
    pub next_due_at: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct WaitForJobs {
    pub queue: QueueRef,
    pub timeout: Duration,
}

/// Why [`queue_wait`](super::Backend::queue_wait) returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// Jobs may be runnable now.
    JobsReady,
    /// A delayed job falls due at this time.
    DueAt(u64),
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct FinishJobs {
    pub queue: QueueRef,
    pub now: u64,
    pub items: Vec<Finish>,
    /// Fetch more jobs in the same transition.
    pub fetch_next: Option<FetchJobs>,
}

/// The end of one attempt of one job.
#[derive(Debug, Clone)]
pub struct Finish {
    pub job_id: JobId,
    pub token: LockToken,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Outcome {
    /// The processor returned `return_value` (JSON text).
    Completed {
        return_value: String,
        keep: KeepJobs,
    },
    /// The attempt failed with `reason`; `retry` says what happens next.
    Failed { reason: String, retry: Retry },
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// Waiting again at once.
    Now,
    /// Delayed for this long.
    After(Duration),
    /// Failed for good, kept per `keep`.
    Never { keep: KeepJobs },
}

#[derive(Debug, Default)]
pub struct FinishResult {
    /// One entry per [`Finish`] item, in order.
    pub items: Vec<Result<(), crate::Error>>,
    /// Jobs fetched by `fetch_next`.
    pub fetched: Fetched,
}

#[derive(Debug, Clone)]
pub struct ExtendLocks {
    pub queue: QueueRef,
    pub locks: Vec<(JobId, LockToken)>,
    pub duration: Duration,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct RecoverStalled {
    pub queue: QueueRef,
    /// Recoveries allowed per job; the next one fails it ("job stalled more than allowable limit").
    pub max_stalled_count: u32,
    pub interval: Duration,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct UpdateProgress {
    pub queue: QueueRef,
    pub job_id: JobId,
    /// JSON text.
    pub progress: String,
}

#[derive(Debug, Clone)]
pub struct AddLog {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub line: String,
    /// Keep only the newest this many lines.
    pub keep_logs: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct ReadLogs {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobLogs {
    pub lines: Vec<String>,
    pub total: u64,
}

/// One job, at a time.
#[derive(Debug, Clone)]
pub struct JobAt {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct RetryJobs {
    pub queue: QueueRef,
    /// `Failed` or `Completed`.
    pub state: JobState,
    /// Only jobs finished at or before this time.
    pub finished_before: u64,
    pub limit: u64,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct PromoteJobs {
    pub queue: QueueRef,
    pub limit: u64,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct DrainQueue {
    pub queue: QueueRef,
    pub include_delayed: bool,
}

#[derive(Debug, Clone)]
pub struct CleanQueue {
    pub queue: QueueRef,
    pub state: JobState,
    /// Only jobs older than this (finished, for finished states; added, otherwise).
    pub grace: Duration,
    pub limit: u64,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct ObliterateQueue {
    pub queue: QueueRef,
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct ReadEvents {
    pub queue: QueueRef,
    pub after: Option<EventId>,
    pub block: Duration,
    pub max: usize,
}
