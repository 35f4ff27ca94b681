//! The [`DedupIds`] facet: reading and releasing deduplication ids (BullMQ 6's
//! `deduplication` option; the modes are described in [`crate::deduplication`]).
//!
//! A store that has it answers `Some(self)` from
//! [`Backend::deduplication`](super::Backend::deduplication) and keeps these rules in the core
//! calls, in the same atomic step as the transition that causes them; a job without a
//! deduplication id pays nothing more than reading that it has none.
//!
//! **Add** ([`job_add_bulk`](super::Backend::job_add_bulk)). A job's deduplication id is
//! *owned* by the job that took it, for its `ttl` from that add (or without a limit). An add
//! whose id is owned writes no job (it still uses an id, as every add does) and answers
//! [`AddedJob::Deduplicated`](super::AddedJob::Deduplicated) with a `deduplicated` event
//! `{job_id: owner, deduplicated_job_id: the add's id}`; with `extend` it also restarts the
//! window. With `replace`, an owner still *delayed* is removed instead (`removed {prev:
//! delayed}`), the add is written and takes the id (a fresh window with `extend`, else the
//! rest of the owner's), and the event names the new job as the one that stands. With
//! `keep_last_if_active`, an add while the owner is *active* is kept aside (replacing one kept
//! before) and the id is held without a time limit. An id whose owner no longer exists and
//! that has no time limit is stale: the add takes it.
//!
//! **Release.** A job that completes or fails for good releases the id it owns when the id has
//! no time limit (a window outlives its job); then a job kept aside by keep-last-if-active is
//! written (it gets the id it was given at its add), owns the id and is queued as any add.
//! Removing a job (remove, drain, clean, obliterate; not retention) releases the id it owns,
//! window or not, and drops what was kept aside.

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::JobId;

use super::requests::{DeduplicationKey, RemoveDeduplicationKey};

/// Deduplication ids of a store. See the module docs.
#[async_trait]
pub trait DedupIds: Send + Sync {
    /// The job that owns the id now; `None` when nobody does (or its window has passed).
    async fn dedup_owner(&self, req: DeduplicationKey) -> Result<Option<JobId>>;

    /// Releases the id (only while `job_id` owns it, when given); answers whether it was
    /// owned. What keep-last-if-active kept aside is dropped with it.
    async fn dedup_release(&self, req: RemoveDeduplicationKey) -> Result<bool>;
}
