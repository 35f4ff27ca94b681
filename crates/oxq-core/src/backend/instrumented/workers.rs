//! [`Instrumented`]'s [`Workers`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::workers::Workers;
use super::*;

/// The wrapped store's facet. `Instrumented::workers` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Workers> {
    inner.workers().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "worker lists",
    })
}

#[async_trait]
impl Workers for Instrumented {
    async fn worker_announce(&self, req: AnnounceWorker) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("worker_announce", &queue, inner.worker_announce(req))
            .await
    }

    async fn worker_leave(&self, req: LeaveWorker) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("worker_leave", &queue, inner.worker_leave(req))
            .await
    }

    async fn workers_list(&self, req: ListWorkers) -> Result<Vec<WorkerInfo>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("workers_list", &queue, inner.workers_list(req))
            .await
    }
}
