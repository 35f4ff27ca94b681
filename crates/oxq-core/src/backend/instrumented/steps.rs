//! [`Instrumented`]'s [`Steps`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::steps::Steps;
use super::*;

/// The wrapped store's facet. `Instrumented::steps` answers `Some` only when the store has
/// one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn Steps> {
    inner.steps().ok_or_else(|| crate::Error::Unsupported {
        store: inner.kind(),
        operation: "durable steps",
    })
}

#[async_trait]
impl Steps for Instrumented {
    async fn steps_read(&self, req: ReadSteps) -> Result<Option<JobStepEntries>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("steps_read", &queue, inner.steps_read(req))
            .await
    }

    async fn step_save(&self, req: SaveStep) -> Result<SavedStep> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("step_save", &queue, inner.step_save(req)).await
    }

    async fn job_signal(&self, req: SendSignal) -> Result<SignalSent> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("job_signal", &queue, inner.job_signal(req))
            .await
    }
}
