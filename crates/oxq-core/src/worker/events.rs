//! [`WorkerEvent`]: what a worker tells its own process about the jobs it ran.
//!
//! These are local, delivered synchronously to the listener set with
//! [`WorkerOptions::on_event`](crate::WorkerOptions::on_event) after the store has recorded the
//! outcome, so none is lost or reordered. Other processes read the queue's event log instead
//! ([`QueueEvents`](crate::QueueEvents)).

use crate::ids::JobId;

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The job completed; `return_value` is JSON text.
    Completed { job_id: JobId, return_value: String },
    /// The attempt failed. `retrying` is false when the job is now failed for good.
    Failed {
        job_id: JobId,
        reason: String,
        retrying: bool,
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
    /// The store refused to record an outcome because the lock was lost (another worker may
    /// have taken the job over after a stall).
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
