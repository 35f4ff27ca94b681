//! Requests of the [`DedupIds`](crate::backend::DedupIds) facet.

use crate::ids::{JobId, QueueRef};

/// One deduplication id of a queue, at a time (a window is judged against `now`).
#[derive(Debug, Clone)]
pub struct DeduplicationKey {
    pub queue: QueueRef,
    pub dedup_id: String,
    pub now: u64,
}

/// Releases a deduplication id.
#[derive(Debug, Clone)]
pub struct RemoveDeduplicationKey {
    pub queue: QueueRef,
    pub dedup_id: String,
    /// Release only while this job owns the id; `None` releases it whoever owns it.
    pub job_id: Option<JobId>,
    pub now: u64,
}
