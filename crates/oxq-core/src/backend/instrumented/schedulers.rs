//! [`Instrumented`]'s [`Schedulers`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::schedulers::Schedulers;
use super::*;

/// The wrapped store's facet. `Instrumented::schedulers` answers `Some` only when the store
/// has one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Schedulers> {
    inner.schedulers().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "job schedulers",
    })
}

#[async_trait]
impl Schedulers for Instrumented {
    async fn scheduler_upsert(&self, req: UpsertScheduler) -> Result<JobScheduler> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("scheduler_upsert", &queue, inner.scheduler_upsert(req))
            .await
    }

    async fn scheduler_get(&self, req: GetScheduler) -> Result<Option<JobScheduler>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("scheduler_get", &queue, inner.scheduler_get(req))
            .await
    }

    async fn schedulers_list(&self, req: ListSchedulers) -> Result<Vec<JobScheduler>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("schedulers_list", &queue, inner.schedulers_list(req))
            .await
    }

    async fn schedulers_count(&self, req: OfQueue) -> Result<u64> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("schedulers_count", &queue, inner.schedulers_count(req))
            .await
    }

    async fn scheduler_remove(&self, req: RemoveScheduler) -> Result<SchedulerRemoved> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("scheduler_remove", &queue, inner.scheduler_remove(req))
            .await
    }
}
