//! [`Instrumented`]'s [`Flows`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::flows::Flows;
use super::*;

/// The wrapped store's facet. `Instrumented::flows` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Flows> {
    inner.flows().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "flows",
    })
}

#[async_trait]
impl Flows for Instrumented {
    async fn flow_add(&self, req: AddFlow) -> Result<AddedFlow> {
        let scope = req
            .nodes
            .first()
            .map(|node| node.queue.to_string())
            .unwrap_or_default();
        let inner = facet(self.inner.as_ref())?;
        self.traced("flow_add", &scope, inner.flow_add(req)).await
    }

    async fn job_dependencies(&self, req: GetDependencies) -> Result<Option<Dependencies>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("job_dependencies", &queue, inner.job_dependencies(req))
            .await
    }
}
