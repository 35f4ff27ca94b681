//! Requests and answers of the worker's path: fetch, wait, finish, lock renewal, stall recovery.

use std::time::Duration;

use crate::ids::{JobId, LockToken, QueueRef};
use crate::options::KeepJobs;
use crate::record::JobRecord;

use super::StoreMemo;

/// What to fetch, on the queue of the call that carries it.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub token: LockToken,
    pub lock_duration: Duration,
    pub max_jobs: u32,
    pub worker_name: Option<String>,
    /// The worker's `limiter`, shared by every worker of the queue (see
    /// [`Limits`](crate::backend::Limits)); `None` for none. Only for a store with that facet.
    pub limiter: Option<super::RateLimit>,
}

#[derive(Debug, Clone)]
pub struct FetchJobs {
    pub queue: QueueRef,
    pub fetch: Fetch,
    pub now: u64,
}

/// Jobs now held by the caller, and hints for when to look again.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub jobs: Vec<FetchedJob>,
    /// When the earliest delayed job falls due, if there is one.
    pub next_due_at: Option<u64>,
    /// The queue is rate limited until this time (ms since the epoch): fetch again only then.
    pub rate_limited_until: Option<u64>,
}

/// One job handed to the caller, with the store's note to give back when it finishes.
#[derive(Debug, Clone)]
pub struct FetchedJob {
    pub record: JobRecord,
    pub memo: StoreMemo,
}

impl FetchedJob {
    /// A fetched job for which the store keeps no note.
    pub fn plain(record: JobRecord) -> Self {
        Self {
            record,
            memo: StoreMemo::none(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WaitForJobs {
    pub queue: QueueRef,
    pub timeout: Duration,
    /// The caller's time: a delayed job due at or before it is runnable now.
    pub now: u64,
}

/// Why [`queue_wait`](super::super::Backend::queue_wait) returned.
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
    /// Fetch more jobs of the same queue in the same transition.
    pub fetch_next: Option<Fetch>,
    /// Count the jobs this call completes or fails for good in the queue's per-minute metrics,
    /// keeping at most this many points (minutes) per series (BullMQ's worker option
    /// `metrics.maxDataPoints`); `None` records nothing. Only for a store with the
    /// [`Metrics`](crate::backend::Metrics) facet.
    pub metrics: Option<u32>,
}

/// The end of one attempt of one job.
#[derive(Debug, Clone)]
pub struct Finish {
    pub job_id: JobId,
    pub token: LockToken,
    pub end: AttemptEnd,
    /// The memo the job was fetched with ([`StoreMemo::none`] when unknown).
    pub memo: StoreMemo,
}

/// How an attempt ended, as the store records it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AttemptEnd {
    /// The processor returned `return_value` (JSON text).
    Completed {
        return_value: String,
        keep: KeepJobs,
    },
    /// The attempt failed with `reason`; `retry` says what happens next.
    Failed { reason: String, retry: Retry },
    /// The processor asked to run again at `until` (ms since the epoch): the job goes back to
    /// delayed, its lock is released, and the attempt does not count (attempts made is not
    /// incremented, no error is recorded). BullMQ's `moveToDelayed` + `DelayedError`.
    Delayed { until: u64 },
    /// The processor asked to wait for its children (BullMQ's `moveToWaitingChildren`): the job
    /// goes to waiting-children while a dependency is pending, else back to the front of
    /// waiting; its lock is released and the attempt does not count. Only for a store with the
    /// [`Flows`](crate::backend::Flows) facet.
    WaitForChildren,
    /// The processor hit a rate limit (an API answered 429): the job goes back to the front of
    /// its line, its lock released and the attempt not counted, and the whole queue starts no
    /// job for `duration` (BullMQ's `worker.rateLimit(ms)` + `RateLimitError`). Only for a
    /// store with the [`Limits`](crate::backend::Limits) facet.
    RateLimited { duration: Duration },
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedLocks {
    /// Jobs whose lock was missing or held by another token: not extended.
    pub lost: Vec<JobId>,
    /// Jobs whose lock, the one sent, was cancelled ([`Cancellation`](crate::backend::Cancellation)):
    /// not extended, and not in `lost`. Always empty from a store without that facet.
    pub cancelled: Vec<JobId>,
}

#[derive(Debug, Clone)]
pub struct RecoverStalled {
    pub queue: QueueRef,
    /// Recoveries allowed per job; the next one fails it ("job stalled more than allowable limit").
    pub max_stalled_count: u32,
    pub interval: Duration,
    pub now: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredStalled {
    /// Jobs moved back to run again (or marked to fail, beyond the limit).
    pub job_ids: Vec<JobId>,
}
