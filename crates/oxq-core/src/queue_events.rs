//! [`QueueEvents`]: a listener for one queue's events, from this process or any other.
//!
//! It reads the store's event log (a Redis stream, a SQLite table) after a cursor, blocking in
//! the store while nothing is new, so every listener sees every event in order and nothing is
//! acknowledged or consumed. Listeners start "from now" by default, like BullMQ's `QueueEvents`.
//!
//! ```no_run
//! # async fn demo(queue: oxq_core::Queue) -> oxq_core::Result<()> {
//! let mut events = queue.events().await?;
//! while let Some(stored) = events.next().await? {
//!     println!("{} {:?}", stored.event.name(), stored.event.job_id());
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{Backend, OfQueue, ReadEvents};
use crate::error::Result;
use crate::events::{EventId, StoredEvent};
use crate::ids::QueueRef;
use crate::queue::Queue;

/// How long one read blocks in the store before it is issued again.
const BLOCK: Duration = Duration::from_secs(5);
/// Events fetched per read.
const BATCH: usize = 500;

/// An ordered reader of one queue's events.
#[derive(Debug)]
pub struct QueueEvents {
    backend: Arc<dyn Backend>,
    queue: QueueRef,
    cursor: Option<EventId>,
    buffered: VecDeque<StoredEvent>,
}

impl QueueEvents {
    /// Listens for events recorded from now on.
    pub async fn from_now(backend: Arc<dyn Backend>, queue: QueueRef) -> Result<Self> {
        let cursor = backend
            .events_latest(OfQueue {
                queue: queue.clone(),
            })
            .await?;
        Ok(Self::after(backend, queue, cursor))
    }

    /// Listens for events after `cursor` (from the oldest kept event when `None`).
    pub fn after(backend: Arc<dyn Backend>, queue: QueueRef, cursor: Option<EventId>) -> Self {
        Self {
            backend,
            queue,
            cursor,
            buffered: VecDeque::new(),
        }
    }

    /// The id of the last event returned; pass it to [`QueueEvents::after`] to resume.
    pub fn cursor(&self) -> Option<&EventId> {
        self.cursor.as_ref()
    }

    /// The next event, waiting as long as it takes. Never returns `Ok(None)` today; the
    /// `Option` leaves room for a listener that ends.
    pub async fn next(&mut self) -> Result<Option<StoredEvent>> {
        loop {
            if let Some(event) = self.buffered.pop_front() {
                self.cursor = Some(event.id.clone());
                return Ok(Some(event));
            }
            self.fill(BLOCK).await?;
        }
    }

    /// The next event if one arrives within `timeout`.
    pub async fn next_timeout(&mut self, timeout: Duration) -> Result<Option<StoredEvent>> {
        if self.buffered.is_empty() {
            self.fill(timeout).await?;
        }
        Ok(self.buffered.pop_front().inspect(|event| {
            self.cursor = Some(event.id.clone());
        }))
    }

    async fn fill(&mut self, block: Duration) -> Result<()> {
        let events = self
            .backend
            .events_read(ReadEvents {
                queue: self.queue.clone(),
                after: self.cursor.clone(),
                block,
                max: BATCH,
            })
            .await?;
        self.buffered.extend(events);
        Ok(())
    }
}

impl<T> Queue<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    /// A listener for this queue's events from now on.
    pub async fn events(&self) -> Result<QueueEvents> {
        QueueEvents::from_now(self.backend().clone(), self.queue_ref().clone()).await
    }
}
