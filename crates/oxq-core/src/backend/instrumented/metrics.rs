//! [`Instrumented`]'s [`Metrics`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::metrics::Metrics;
use super::*;

/// The wrapped store's facet. `Instrumented::metrics` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Metrics> {
    inner.metrics().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "job metrics",
    })
}

#[async_trait]
impl Metrics for Instrumented {
    async fn metrics_read(&self, req: ReadMetrics) -> Result<MetricsSeries> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("metrics_read", &queue, inner.metrics_read(req))
            .await
    }
}
