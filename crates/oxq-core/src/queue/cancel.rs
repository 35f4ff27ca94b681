//! [`Queue::cancel`]: cancelling one job from any process.
//!
//! The store does it in one atomic step (see [`Cancellation`](crate::backend::Cancellation)):
//! a job not yet running is failed with the reason `cancelled` at once; an active one is failed
//! the same way and its worker is told at its next lock renewal (a quarter of its
//! `lock_duration`), where the processor sees [`Job::cancellation`](crate::Job::cancellation)
//! fire. A store without the facet answers [`Error::Unsupported`](crate::Error::Unsupported).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{CancelJob, CancelOutcome};
use crate::error::{Error, Result};
use crate::ids::JobId;

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Cancels a job: see [`CancelOutcome`] for what each answer means. A cancelled job never
    /// runs again unless it is retried explicitly ([`Queue::retry_job`]).
    pub async fn cancel(&self, id: &JobId) -> Result<CancelOutcome> {
        let facet = self.backend.cancellation().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "job cancellation",
        })?;
        facet
            .job_cancel(CancelJob {
                queue: self.queue.clone(),
                job_id: id.clone(),
                now: self.now(),
            })
            .await
    }
}
