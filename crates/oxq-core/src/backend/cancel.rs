//! The [`Cancellation`] facet: cancelling a job from any process.
//!
//! A store that has it answers `Some(self)` from
//! [`Backend::cancellation`](super::Backend::cancellation). One call, [`Cancellation::job_cancel`],
//! in one atomic step:
//!
//! * a job waiting, prioritized, delayed or waiting for its children leaves that state and is
//!   failed (`failed_reason` [`CANCELLED_REASON`](super::CANCELLED_REASON), `finished_on` now, attempts made unchanged,
//!   the reason appended to its errors), with the events `failed` and then `cancelled`
//!   (`prev` the state it left). It is a final failure: a child applies its parent's failure
//!   policy as if its last attempt had failed; no retry follows.
//! * an active job is failed the same way at once and its lock is deleted, so the holder's
//!   finish is refused ([`Error::LockLost`](crate::Error::LockLost)) and no stalled check can
//!   run it again. The store also records *which lock* was cancelled, so that
//!   [`locks_extend`](super::Backend::locks_extend) answers the holder's id in
//!   [`ExtendedLocks::cancelled`](super::ExtendedLocks::cancelled) instead of `lost`; that is
//!   how the holding worker, in whatever process, learns of it within one renewal period. The
//!   check costs nothing while no lock is lost: only an id that would be reported lost is
//!   looked at.
//! * a completed or failed job is left alone; an unknown id changes nothing.
//!
//! A cancelled job runs again only when someone retries it explicitly
//! ([`Backend::job_retry`](super::Backend::job_retry)), as any failed job.
//!
//! A store without this facet never fills `ExtendedLocks::cancelled`.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{CancelJob, CancelOutcome};

/// Job cancellation of a store. See the module docs.
#[async_trait]
pub trait Cancellation: Send + Sync {
    /// Cancels one job; see the module docs for what each state becomes.
    async fn job_cancel(&self, req: CancelJob) -> Result<CancelOutcome>;
}
