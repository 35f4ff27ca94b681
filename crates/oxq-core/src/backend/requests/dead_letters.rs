//! Requests and answers of the [`DeadLetters`](crate::backend::DeadLetters) facet: the
//! setting, and listing, counting, replaying and purging dead jobs.

use crate::ids::{JobId, QueueRef};
use crate::record::JobRecord;

/// Sets (`Some`) or removes (`None`) the dead letter queue of `queue`.
#[derive(Debug, Clone)]
pub struct SetDeadLetterQueue {
    pub queue: QueueRef,
    /// Must share `queue`'s prefix and differ from it.
    pub target: Option<QueueRef>,
}

/// A page of the dead jobs held by `queue` (a dead letter queue), oldest first.
#[derive(Debug, Clone)]
pub struct ListDeadLetters {
    pub queue: QueueRef,
    pub offset: u64,
    pub limit: u64,
}

/// One dead job: its copy in the dead letter queue and where it came from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The copy, a `failed` job of the dead letter queue (its own id there): name, data as
    /// stored, options, every attempt's error, timestamps and counters of the source job.
    pub record: JobRecord,
    /// The queue the job failed on.
    pub source: QueueRef,
    /// Its id there.
    pub source_id: JobId,
    /// When it was copied here (ms since the epoch).
    pub dead_at: u64,
    /// Times it was replayed.
    pub replays: u32,
    /// The id of the job its last replay added to the source queue.
    pub replayed_as: Option<JobId>,
}

impl DeadLetter {
    pub fn new(record: JobRecord, source: QueueRef, source_id: JobId, dead_at: u64) -> Self {
        Self {
            record,
            source,
            source_id,
            dead_at,
            replays: 0,
            replayed_as: None,
        }
    }

    /// The same entry with its replay record.
    pub fn replayed(mut self, replays: u32, replayed_as: Option<JobId>) -> Self {
        self.replays = replays;
        self.replayed_as = replayed_as;
        self
    }
}

/// Replays dead jobs of `queue` (the dead letter queue) to their source queues.
#[derive(Debug, Clone)]
pub struct ReplayDeadLetters {
    pub queue: QueueRef,
    pub ids: Vec<JobId>,
    pub now: u64,
}

/// The answer for one id of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayedDeadLetter {
    /// Added back to `source` as job `job_id`.
    Replayed { source: QueueRef, job_id: JobId },
    /// The dead letter queue holds no dead job with that id.
    NotFound,
}

/// Deletes dead jobs of `queue`: those in `ids`, or every one when `ids` is `None`.
#[derive(Debug, Clone)]
pub struct PurgeDeadLetters {
    pub queue: QueueRef,
    pub ids: Option<Vec<JobId>>,
    pub now: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadLettersPurged {
    pub count: u64,
}
