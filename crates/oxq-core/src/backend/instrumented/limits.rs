//! [`Instrumented`]'s [`Limits`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::limits::Limits;
use super::*;

/// The wrapped store's facet. `Instrumented::limits` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Limits> {
    inner.limits().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "rate limits and global concurrency",
    })
}

#[async_trait]
impl Limits for Instrumented {
    async fn limits_get(&self, req: GetLimits) -> Result<QueueLimits> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("limits_get", &queue, inner.limits_get(req))
            .await
    }

    async fn limits_change(&self, req: ChangeLimits) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("limits_change", &queue, inner.limits_change(req))
            .await
    }

    async fn queue_rate_limit(&self, req: RateLimitQueue) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("queue_rate_limit", &queue, inner.queue_rate_limit(req))
            .await
    }
}
