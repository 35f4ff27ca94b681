//! The [`Limits`] facet: a queue's global rate limit and global concurrency, kept by a store.
//!
//! A store that has it answers `Some(self)` from [`Backend::limits`](super::Backend). Beside
//! these calls, such a store keeps these rules on the worker's path:
//! * [`job_move_to_active`](super::Backend::job_move_to_active) (and a finish's fetch-next)
//!   starts no job while the queue is at its global concurrency, and at most `max` per
//!   `duration` under a rate limit: the queue's global one, else the fetching worker's
//!   [`Fetch::limiter`](super::Fetch). One counter per queue counts the starts, whichever limit
//!   is in force (BullMQ: the global `max` wins, the worker's `duration` wins). A limited queue
//!   answers [`Fetched::rate_limited_until`](super::Fetched) with the end of the window.
//! * [`AttemptEnd::RateLimited`](super::AttemptEnd) puts the job back at the front of its line
//!   without using an attempt, and limits the whole queue for its duration, as
//!   [`Limits::queue_rate_limit`] does.
//!
//! A queue with no limit pays one cheap check per fetch.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{ChangeLimits, GetLimits, QueueLimits, RateLimitQueue};

/// Rate limits and global concurrency of a store. See the module docs.
#[async_trait]
pub trait Limits: Send + Sync {
    async fn limits_get(&self, req: GetLimits) -> Result<QueueLimits>;

    /// Sets or removes one limit; the others stay as they are.
    async fn limits_change(&self, req: ChangeLimits) -> Result<()>;

    /// Stops every worker of the queue from starting jobs for the request's duration.
    async fn queue_rate_limit(&self, req: RateLimitQueue) -> Result<()>;
}
