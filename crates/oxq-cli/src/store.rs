//! Opening the store the command line names (`--url`, else `$OXQ_URL`, else the embedded
//! default) and the queue a command acts on, refusing a queue that does not exist for the
//! commands that read or change existing jobs.

use std::sync::Arc;

use oxq::backend::ListQueues;
use oxq::{Backend, Queue, QueueRef};

use crate::error::{CliError, CliResult};

/// The store's URL: `--url`, else `$OXQ_URL` (even when empty: an empty value is refused by
/// [`oxq::connect`], never taken for the default), else [`oxq::DEFAULT_URL`].
pub fn url_of(flag: Option<&str>) -> String {
    if let Some(url) = flag {
        return url.to_owned();
    }
    match std::env::var("OXQ_URL") {
        Ok(url) => url,
        Err(_) => oxq::DEFAULT_URL.to_owned(),
    }
}

/// The opened store and the prefix the command works under.
#[derive(Debug, Clone)]
pub struct Store {
    pub backend: Arc<dyn Backend>,
    pub prefix: String,
}

impl Store {
    /// Opens the store; a one-shot command (`long_running: false`) retries a lost Redis
    /// connection once, so an unreachable server is reported in about a second, not after
    /// the worker's patient reconnects.
    pub async fn open(url: &str, prefix: &str, long_running: bool) -> CliResult<Self> {
        let mut options = oxq::ConnectOptions::new();
        if !long_running {
            options = options.redis(oxq::redis::RedisOptions::default().reconnect_retries(1));
        }
        let backend = oxq::connect_with(url, options).await?;
        Ok(Self {
            backend,
            prefix: prefix.to_owned(),
        })
    }

    /// The queues holding anything under the prefix.
    pub async fn queues(&self) -> CliResult<Vec<QueueRef>> {
        Ok(self
            .backend
            .queues_list(ListQueues {
                prefix: self.prefix.clone(),
            })
            .await?)
    }

    /// A handle on queue `name`, which may not exist yet (`add`, `worker`, `schedulers upsert`).
    pub fn queue(&self, name: &str) -> CliResult<Queue> {
        let queue = QueueRef::with_prefix(&self.prefix, name)?;
        Ok(Queue::from_ref(self.backend.clone(), queue))
    }

    /// A handle on queue `name`; [`CliError::NotFound`] when the store holds no such queue.
    pub async fn existing_queue(&self, name: &str) -> CliResult<Queue> {
        let queue = self.queue(name)?;
        let known = self.queues().await?;
        if known.iter().any(|q| q == queue.queue_ref()) {
            Ok(queue)
        } else {
            Err(CliError::NotFound(format!(
                "queue {name} not found under prefix {} (see `oxq queues`)",
                self.prefix
            )))
        }
    }
}
