//! Requests and answers of the [`Cancellation`](crate::backend::Cancellation) facet.

use crate::ids::{JobId, QueueRef};
use crate::record::JobState;

/// Cancel one job, whatever state it is in.
#[derive(Debug, Clone)]
pub struct CancelJob {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub now: u64,
}

/// What a cancel did. Returned by [`Queue::cancel`](crate::Queue::cancel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CancelOutcome {
    /// The job was waiting, prioritized, delayed or waiting for its children (`prev`): it is
    /// failed now with the reason [`CANCELLED_REASON`] and never runs.
    Cancelled { prev: JobState },
    /// The job was active: it is failed now with the reason [`CANCELLED_REASON`] and its lock
    /// is gone, so whatever its worker's attempt ends with is refused; the worker's processor
    /// sees its cancellation token at that worker's next lock renewal.
    Requested,
    /// The job had already completed or failed (`state`): nothing changed.
    AlreadyFinished { state: JobState },
    /// No such job.
    NotFound,
}

/// The failed reason of a cancelled job (BullMQ's `failedReason`).
pub const CANCELLED_REASON: &str = "cancelled";
