//! [`Queue`]'s step calls: sending a signal to a job and reading a job's steps.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::entry::JobSteps;
use crate::backend::{ReadSteps, SendSignal, Steps};
use crate::error::{Error, Result};
use crate::ids::JobId;
use crate::queue::Queue;

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
        let sent = self
            .steps_facet()?
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
        let stored = self
            .steps_facet()?
            .steps_read(ReadSteps {
                queue: self.queue_ref().clone(),
                job_id: id.clone(),
            })
            .await?;
        stored
            .map(|stored| JobSteps::decode(id.as_str(), stored))
            .transpose()
    }

    fn steps_facet(&self) -> Result<&dyn Steps> {
        let backend = self.backend().as_ref();
        backend.steps().ok_or(Error::Unsupported {
            store: backend.kind(),
            operation: "durable steps",
        })
    }
}
