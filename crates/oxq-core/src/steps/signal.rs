//! The step calls outside a processor: [`Queue::signal`] sends a signal to a job;
//! [`Job::steps`] and [`Queue::job_steps`] read a job's stored steps (what `get_job`'s reader,
//! the CLI's `oxq get` and the dashboard's job detail show).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::entry::JobSteps;
use crate::backend::Backend;
use crate::backend::{ReadSteps, SendSignal, Steps};
use crate::error::{Error, Result};
use crate::ids::JobId;
use crate::job::Job;
use crate::queue::Queue;

/// The store's [`Steps`] facet, or [`Error::Unsupported`].
fn steps_facet(backend: &dyn Backend) -> Result<&dyn Steps> {
    backend.steps().ok_or(Error::Unsupported {
        store: backend.kind(),
        operation: "durable steps",
    })
}

impl<T> Job<T> {
    /// The job's stored steps (each with its status, attempts and result or last error) and the
    /// signals sent to it, read from the store now: for a job from
    /// [`Queue::get_job`](crate::Queue::get_job) as for one a processor holds.
    ///
    /// ```no_run
    /// # async fn demo(queue: oxq_core::Queue<u64>, id: oxq_core::JobId) -> oxq_core::Result<()> {
    /// if let Some(job) = queue.get_job(&id).await? {
    ///     for (name, status) in &job.steps().await?.steps {
    ///         println!("{name}: {} after {:?} attempts", status.kind(), status.attempts());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// [`Error::JobNotFound`] when the job was removed since it was read.
    pub async fn steps(&self) -> Result<JobSteps> {
        let stored = steps_facet(self.backend().as_ref())?
            .steps_read(ReadSteps {
                queue: self.queue().clone(),
                job_id: self.id().clone(),
            })
            .await?
            .ok_or_else(|| Error::JobNotFound(self.id().to_string()))?;
        JobSteps::decode(self.id().as_str(), stored)
    }
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Sends the signal `name` with `payload` to the job `id`, from any process: a job waiting
    /// for it ([`Job::wait_for_signal`](crate::Job::wait_for_signal)) runs again now, and a job
    /// that waits for it later gets it at once. Answers whether a waiting job was woken.
    /// [`Error::JobNotFound`] when there is no such job; the payload is bounded by the queue's
    /// `max_payload_bytes` like a job's.
    pub async fn signal(&self, id: &JobId, name: &str, payload: impl Serialize) -> Result<bool> {
        let payload = serde_json::to_string(&payload).map_err(Error::Encode)?;
        let limit = self.max_payload_bytes();
        if payload.len() > limit {
            return Err(Error::PayloadTooLarge {
                size: payload.len(),
                limit,
            });
        }
        let sent = steps_facet(self.backend().as_ref())?
            .job_signal(SendSignal {
                queue: self.queue_ref().clone(),
                job_id: id.clone(),
                name: name.to_owned(),
                payload,
                now: self.clock().now_ms(),
            })
            .await?;
        Ok(sent.woke)
    }

    /// The job's stored steps and the signals sent to it; `None` when there is no such job.
    pub async fn job_steps(&self, id: &JobId) -> Result<Option<JobSteps>> {
        let stored = steps_facet(self.backend().as_ref())?
            .steps_read(ReadSteps {
                queue: self.queue_ref().clone(),
                job_id: id.clone(),
            })
            .await?;
        stored
            .map(|stored| JobSteps::decode(id.as_str(), stored))
            .transpose()
    }
}
