//! [`Instrumented`]'s [`Groups`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::groups::Groups;
use super::*;

/// The wrapped store's facet. `Instrumented::groups` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Groups> {
    inner.groups().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "job groups",
    })
}

#[async_trait]
impl Groups for Instrumented {
    async fn group_get(&self, req: GetGroup) -> Result<GroupInfo> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("group_get", &queue, inner.group_get(req)).await
    }

    async fn group_change(&self, req: ChangeGroup) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("group_change", &queue, inner.group_change(req))
            .await
    }
}
