//! Queue events: what happened to which job, in the order the store recorded it.
//!
//! Every state transition appends its events in the same transaction (or Lua script) that makes
//! the transition, so a listener never sees an event for a change that did not happen. The
//! names and fields follow BullMQ's event stream, so Node's `QueueEvents` and oxq's
//! [`QueueEvents`](crate::QueueEvents) read each other's events.

use serde::{Deserialize, Serialize};

use crate::ids::JobId;
use crate::record::JobState;

/// One thing that happened on a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    Added {
        job_id: JobId,
        name: String,
    },
    /// Ready to run; `prev` is the state it came from (none for a fresh add).
    Waiting {
        job_id: JobId,
        prev: Option<JobState>,
    },
    /// A parent waits for its children to finish (written so, or moved there by its
    /// processor).
    WaitingChildren {
        job_id: JobId,
    },
    /// Will run no earlier than `due_at` (ms since the epoch).
    Delayed {
        job_id: JobId,
        due_at: u64,
    },
    Active {
        job_id: JobId,
        prev: JobState,
    },
    /// Progress reported by the processor, as JSON text.
    Progress {
        job_id: JobId,
        data: String,
    },
    /// The processor's result, as JSON text.
    Completed {
        job_id: JobId,
        return_value: String,
    },
    /// A final failure (retried attempts emit `Waiting` or `Delayed` instead).
    Failed {
        job_id: JobId,
        failed_reason: String,
    },
    RetriesExhausted {
        job_id: JobId,
        attempts_made: u32,
    },
    /// Recovered from a worker that stopped renewing its lock.
    Stalled {
        job_id: JobId,
    },
    /// Added again under an id that exists: nothing changed.
    Duplicated {
        job_id: JobId,
    },
    Removed {
        job_id: JobId,
        prev: Option<JobState>,
    },
    /// The queue has no waiting and no active job.
    Drained,
    Paused,
    Resumed,
    /// `clean` removed `count` jobs.
    Cleaned {
        count: u64,
    },
    /// An add was deduplicated ([`Deduplication`](crate::Deduplication)): `job_id` is the job
    /// that stands, `deduplicated_job_id` the one that does not (the id the rejected add was
    /// given, or the delayed job a debounce replaced).
    Deduplicated {
        job_id: JobId,
        deduplication_id: String,
        deduplicated_job_id: JobId,
    },
    /// Cancelled ([`Queue::cancel`](crate::Queue::cancel)) from `prev`; its `failed` event with
    /// the reason `cancelled` comes just before.
    Cancelled {
        job_id: JobId,
        prev: JobState,
    },
    /// Failed for good and copied to the queue's dead letter queue `dead_letter_queue` as its
    /// job `dead_letter_id` (oxq's own event, on the source queue; see
    /// [`DeadLetters`](crate::backend::DeadLetters)).
    DeadLettered {
        job_id: JobId,
        dead_letter_queue: String,
        dead_letter_id: JobId,
    },
    /// Added back from the dead letter queue `dead_letter_queue`'s job `dead_letter_id` as this
    /// queue's job `job_id` (oxq's own event, on the source queue).
    Replayed {
        job_id: JobId,
        dead_letter_queue: String,
        dead_letter_id: JobId,
    },
}

impl Event {
    /// BullMQ's name for the event (`completed`, `retries-exhausted`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Added { .. } => "added",
            Event::Waiting { .. } => "waiting",
            Event::WaitingChildren { .. } => "waiting-children",
            Event::Delayed { .. } => "delayed",
            Event::Active { .. } => "active",
            Event::Progress { .. } => "progress",
            Event::Completed { .. } => "completed",
            Event::Failed { .. } => "failed",
            Event::RetriesExhausted { .. } => "retries-exhausted",
            Event::Stalled { .. } => "stalled",
            Event::Duplicated { .. } => "duplicated",
            Event::Removed { .. } => "removed",
            Event::Drained => "drained",
            Event::Paused => "paused",
            Event::Resumed => "resumed",
            Event::Cleaned { .. } => "cleaned",
            Event::DeadLettered { .. } => "dead-lettered",
            Event::Replayed { .. } => "replayed",
            Event::Deduplicated { .. } => "deduplicated",
            Event::Cancelled { .. } => "cancelled",
        }
    }

    /// The job the event is about, if any.
    pub fn job_id(&self) -> Option<&JobId> {
        match self {
            Event::Added { job_id, .. }
            | Event::Waiting { job_id, .. }
            | Event::WaitingChildren { job_id }
            | Event::Delayed { job_id, .. }
            | Event::Active { job_id, .. }
            | Event::Progress { job_id, .. }
            | Event::Completed { job_id, .. }
            | Event::Failed { job_id, .. }
            | Event::RetriesExhausted { job_id, .. }
            | Event::Stalled { job_id }
            | Event::Duplicated { job_id }
            | Event::Deduplicated { job_id, .. }
            | Event::Removed { job_id, .. }
            | Event::Cancelled { job_id, .. } => Some(job_id),
            Event::DeadLettered { job_id, .. } | Event::Replayed { job_id, .. } => Some(job_id),
            Event::Drained | Event::Paused | Event::Resumed | Event::Cleaned { .. } => None,
        }
    }
}

/// Where a reader is in a queue's event log. Opaque: a store's own id (a stream id on Redis,
/// a row id on SQLite).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub String);

/// An event as read back from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: EventId,
    /// When the store recorded it (ms since the epoch).
    pub timestamp: u64,
    pub event: Event,
}
