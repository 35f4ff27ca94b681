//! [`Instrumented`]'s [`Cancellation`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::cancel::Cancellation;
use super::*;

/// The wrapped store's facet. `Instrumented::cancellation` answers `Some` only when the store
/// has one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Cancellation> {
    inner
        .cancellation()
        .ok_or_else(|| crate::Error::Unsupported {
            store: inner.kind(),
            operation: "job cancellation",
        })
}

#[async_trait]
impl Cancellation for Instrumented {
    async fn job_cancel(&self, req: CancelJob) -> Result<CancelOutcome> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("job_cancel", &queue, inner.job_cancel(req))
            .await
    }
}
