//! [`Queue`]'s rate-limit and global-concurrency calls: read, set and remove the queue-wide
//! settings every worker honours, and limit the whole queue by hand for a while.
//!
//! A global rate limit lets at most `max` jobs start per `duration` across every worker of the
//! queue; global concurrency caps the jobs active at once across them. On Redis both live in
//! the queue's meta hash exactly as Node BullMQ's `setGlobalRateLimit` and
//! `setGlobalConcurrency` write them, so Node and oxq workers on one queue keep the same limits.
//! Values are checked here before the store is asked; a store without rate limits answers
//! [`Error::Unsupported`].
//!
//! ```no_run
//! # async fn demo(queue: oxq_core::Queue) -> oxq_core::Result<()> {
//! use std::time::Duration;
//! queue.set_global_rate_limit(10, Duration::from_secs(1)).await?; // 10 starts a second
//! queue.set_global_concurrency(4).await?; // 4 jobs at once, all workers together
//! let limits = queue.limits().await?;
//! assert_eq!(limits.concurrency, Some(4));
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{
    ChangeLimits, GetLimits, LimitChange, Limits, QueueLimits, RateLimit, RateLimitQueue,
};
use crate::error::{Error, Result};

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn limits_facet(&self) -> Result<&dyn Limits> {
        self.backend.limits().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "rate limits and global concurrency",
        })
    }

    async fn change_limits(&self, change: LimitChange) -> Result<()> {
        self.limits_facet()?
            .limits_change(ChangeLimits {
                queue: self.queue.clone(),
                change,
            })
            .await
    }

    /// The queue's global rate limit and concurrency, and until when it is rate limited now.
    pub async fn limits(&self) -> Result<QueueLimits> {
        self.limits_facet()?
            .limits_get(GetLimits {
                queue: self.queue.clone(),
                now: self.now(),
            })
            .await
    }

    /// At most `max` jobs start per `duration`, across every worker of the queue (BullMQ's
    /// `setGlobalRateLimit`). `max` 0 and a duration under 1 ms are refused.
    pub async fn set_global_rate_limit(&self, max: u32, duration: Duration) -> Result<()> {
        let limit = RateLimit::new(max, duration);
        limit.validate()?;
        self.change_limits(LimitChange::SetRateLimit(limit)).await
    }

    /// Removes the global rate limit (workers' own limiters still count).
    pub async fn remove_global_rate_limit(&self) -> Result<()> {
        self.change_limits(LimitChange::RemoveRateLimit).await
    }

    /// At most `concurrency` jobs active at once across every worker of the queue (BullMQ's
    /// `setGlobalConcurrency`); 0 is refused.
    pub async fn set_global_concurrency(&self, concurrency: u32) -> Result<()> {
        let change = LimitChange::SetConcurrency(concurrency);
        change.validate()?;
        self.change_limits(change).await
    }

    pub async fn remove_global_concurrency(&self) -> Result<()> {
        self.change_limits(LimitChange::RemoveConcurrency).await
    }

    /// No worker of the queue starts a job for `duration` from now (BullMQ's
    /// `queue.rateLimit(ms)`); a duration under 1 ms is refused.
    pub async fn rate_limit(&self, duration: Duration) -> Result<()> {
        let req = RateLimitQueue {
            queue: self.queue.clone(),
            duration,
            now: self.now(),
        };
        req.validate()?;
        self.limits_facet()?.queue_rate_limit(req).await
    }
}
