//! [`Instrumented`]'s [`DeadLetters`] facet: each call traced like the core calls.

use async_trait::async_trait;

use super::super::dead_letters::DeadLetters;
use super::*;

/// The wrapped store's facet. `Instrumented::dead_letters` answers `Some` only when the store
/// has one, so this is reached only then.
fn facet(inner: &dyn Backend) -> Result<&dyn DeadLetters> {
    inner
        .dead_letters()
        .ok_or_else(|| crate::Error::Unsupported {
            store: inner.kind(),
            operation: "dead letter queues",
        })
}

#[async_trait]
impl DeadLetters for Instrumented {
    async fn dead_letter_queue_set(&self, req: SetDeadLetterQueue) -> Result<()> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced(
            "dead_letter_queue_set",
            &queue,
            inner.dead_letter_queue_set(req),
        )
        .await
    }

    async fn dead_letter_queue_get(&self, req: OfQueue) -> Result<Option<QueueRef>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced(
            "dead_letter_queue_get",
            &queue,
            inner.dead_letter_queue_get(req),
        )
        .await
    }

    async fn dead_letters_list(&self, req: ListDeadLetters) -> Result<Vec<DeadLetter>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("dead_letters_list", &queue, inner.dead_letters_list(req))
            .await
    }

    async fn dead_letters_count(&self, req: OfQueue) -> Result<u64> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("dead_letters_count", &queue, inner.dead_letters_count(req))
            .await
    }

    async fn dead_letters_replay(&self, req: ReplayDeadLetters) -> Result<Vec<ReplayedDeadLetter>> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced(
            "dead_letters_replay",
            &queue,
            inner.dead_letters_replay(req),
        )
        .await
    }

    async fn dead_letters_purge(&self, req: PurgeDeadLetters) -> Result<DeadLettersPurged> {
        let queue = req.queue.clone();
        let inner = facet(self.inner.as_ref())?;
        self.traced("dead_letters_purge", &queue, inner.dead_letters_purge(req))
            .await
    }
}
