//! [`WorkerEvent`]: what a worker tells its own process about the jobs it ran.
//!
//! These are local, delivered synchronously to the listener set with
//! [`WorkerOptions::on_event`](crate::WorkerOptions::on_event) after the store has recorded the
//! outcome, so none is lost or reordered. Other processes read the queue's event log instead
//! ([`QueueEvents`](crate::QueueEvents)).
//!
//! A completed or failed attempt carries its [`AttemptTiming`]: when it started, when its
//! processor returned and, for a job's first start, since when the job could have run. A
//! metrics listener turns these into processing-time and wait-time histograms (the dashboard's
//! `WorkerMetrics` does).

use std::time::Duration;

use crate::ids::JobId;

/// When an attempt ran, in milliseconds since the Unix epoch, by the worker's clock and the
/// job's stored timestamps (millisecond resolution, as BullMQ's `processedOn`/`finishedOn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptTiming {
    /// When the attempt started: the job's `processed_on`, written by the fetch that took it.
    pub started_at: u64,
    /// When the processor returned (or the attempt ended without running it).
    pub ended_at: u64,
    /// On a job's first start, when it became runnable: added, or its `delay` over. `None` on
    /// later starts (a retry after its backoff, a run after a stall or a delay its processor
    /// asked for), since the store keeps no time at which those became runnable.
    pub runnable_at: Option<u64>,
}

impl AttemptTiming {
    /// The attempt's processing time: from its start to its processor's return.
    pub fn processing(&self) -> Duration {
        Duration::from_millis(self.ended_at.saturating_sub(self.started_at))
    }

    /// How long the job waited to start, on its first start (see
    /// [`runnable_at`](Self::runnable_at)); zero for a job promoted before its delay's end.
    pub fn waited(&self) -> Option<Duration> {
        self.runnable_at
            .map(|at| Duration::from_millis(self.started_at.saturating_sub(at)))
    }
}

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The job completed; `return_value` is JSON text.
    Completed {
        job_id: JobId,
        return_value: String,
        timing: AttemptTiming,
    },
    /// The attempt failed. `retrying` is false when the job is now failed for good.
    Failed {
        job_id: JobId,
        reason: String,
        retrying: bool,
        timing: AttemptTiming,
    },
    /// The processor asked to run the job again at `until` (ms since the epoch); the job is
    /// delayed and no attempt was used.
    Delayed { job_id: JobId, until: u64 },
    /// The processor asked to wait for the job's children; no attempt was used.
    WaitingChildren { job_id: JobId },
    /// The queue is rate limited until `until` (ms since the epoch): the worker starts no job
    /// before then. `job_id` names the job whose processor asked for it
    /// ([`Outcome::RateLimited`](crate::Outcome::RateLimited); the job is waiting again and no
    /// attempt was used); `None` when the store answered that a limit is reached.
    RateLimited { job_id: Option<JobId>, until: u64 },
    /// The job's lock was lost while this worker held it (another worker may have taken the
    /// job over after a stall): found by a lock renewal while the processor runs, or by the
    /// store refusing the outcome. Reported once per attempt.
    LockLost { job_id: JobId },
    /// The store says the job was cancelled ([`Queue::cancel`](crate::Queue::cancel)) while
    /// this worker ran it: it is failed already, its processor's
    /// [`cancellation`](crate::Job::cancellation) token has fired, and what the processor
    /// returns is dropped (it is dropped itself after
    /// [`cancel_grace`](crate::WorkerOptions::cancel_grace)).
    Cancelled { job_id: JobId },
    /// Jobs recovered from workers that stopped renewing their locks.
    Stalled { job_ids: Vec<JobId> },
    /// A store call failed in a way that may pass by itself (a dropped connection, a busy
    /// database); the worker retries by itself.
    Error { message: String },
    /// A store call failed with a [permanent](crate::Error::is_permanent) error, the
    /// `consecutive`-th in a row of that duty (fetching and recording, renewing locks, the
    /// stalled check): the store refuses the work until someone acts (`message` says what).
    /// The worker keeps retrying unless the fetch loop's count reaches
    /// [`stop_after_permanent_errors`](crate::WorkerOptions::stop_after_permanent_errors).
    StoreFailing { message: String, consecutive: u32 },
}

impl WorkerEvent {
    /// The timing of a completed or failed attempt; `None` for other events.
    pub fn timing(&self) -> Option<&AttemptTiming> {
        match self {
            WorkerEvent::Completed { timing, .. } | WorkerEvent::Failed { timing, .. } => {
                Some(timing)
            }
            _ => None,
        }
    }

    pub(crate) fn timing_mut(&mut self) -> Option<&mut AttemptTiming> {
        match self {
            WorkerEvent::Completed { timing, .. } | WorkerEvent::Failed { timing, .. } => {
                Some(timing)
            }
            _ => None,
        }
    }
}
