//! [`Queue::workers`]: the workers serving a queue now (see
//! [`Workers`](crate::backend::Workers)).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{ListWorkers, WorkerInfo};
use crate::error::{Error, Result};

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// The workers serving this queue, oldest first: oxq workers of any process, and on Redis
    /// Node BullMQ workers too (those whose connection is named as BullMQ names it). A store
    /// without worker presence answers [`Error::Unsupported`].
    pub async fn workers(&self) -> Result<Vec<WorkerInfo>> {
        let workers = self.backend.workers().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "worker lists",
        })?;
        workers
            .workers_list(ListWorkers {
                queue: self.queue.clone(),
                now: self.now(),
            })
            .await
    }
}
