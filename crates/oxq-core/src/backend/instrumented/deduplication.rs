//! [`Instrumented`]'s [`DedupIds`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::deduplication::DedupIds;
use super::*;
use crate::ids::JobId;

/// The wrapped store's facet. `Instrumented::deduplication` answers `Some` only when the store
/// has one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn DedupIds> {
    inner
        .deduplication()
        .ok_or_else(|| crate::Error::Unsupported {
            store: inner.kind(),
            operation: "deduplication",
        })
}

#[async_trait]
impl DedupIds for Instrumented {
    async fn dedup_owner(&self, req: DeduplicationKey) -> Result<Option<JobId>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("dedup_owner", &queue, inner.dedup_owner(req))
            .await
    }

    async fn dedup_release(&self, req: RemoveDeduplicationKey) -> Result<bool> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("dedup_release", &queue, inner.dedup_release(req))
            .await
    }
}
