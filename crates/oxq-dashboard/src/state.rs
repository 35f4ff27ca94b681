//! [`DashboardState`]: what every handler shares (the store and the options), and the queue
//! handles built from it.

use std::sync::Arc;

use oxq::backend::ListQueues;
use oxq::{Backend, Queue, QueueRef};

use crate::error::ApiError;
use crate::options::DashboardOptions;

/// The store and the options, cloned into each request.
#[derive(Debug, Clone)]
pub(crate) struct DashboardState {
    pub backend: Arc<dyn Backend>,
    pub options: Arc<DashboardOptions>,
}

impl DashboardState {
    pub fn new(backend: Arc<dyn Backend>, options: DashboardOptions) -> Self {
        Self {
            backend,
            options: Arc::new(options),
        }
    }

    /// The queues holding anything under the dashboard's prefix.
    pub async fn queues(&self) -> Result<Vec<QueueRef>, ApiError> {
        Ok(self
            .backend
            .queues_list(ListQueues {
                prefix: self.options.prefix.clone(),
            })
            .await?)
    }

    /// A handle on queue `name`, which may not exist (one-job routes answer 404 for its jobs).
    pub fn queue(&self, name: &str) -> Result<Queue, ApiError> {
        let queue = QueueRef::with_prefix(&self.options.prefix, name)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(Queue::from_ref(self.backend.clone(), queue))
    }

    /// A handle on queue `name`; [`ApiError::QueueNotFound`] when the store holds no such queue.
    pub async fn existing_queue(&self, name: &str) -> Result<Queue, ApiError> {
        let queue = self.queue(name)?;
        if self.queues().await?.iter().any(|q| q == queue.queue_ref()) {
            Ok(queue)
        } else {
            Err(ApiError::QueueNotFound(name.to_owned()))
        }
    }
}
