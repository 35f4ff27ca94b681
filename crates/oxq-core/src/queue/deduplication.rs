//! [`Queue`]'s deduplication calls: which job owns a deduplication id, and releasing one
//! (BullMQ's `getDeduplicationJobId`, `removeDeduplicationKey`). The add itself is
//! [`Queue::add`] with [`JobOptions::deduplication`](crate::JobOptions::deduplication). A store
//! without deduplication answers [`Error::Unsupported`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{DedupIds, DeduplicationKey, RemoveDeduplicationKey};
use crate::error::{Error, Result};
use crate::ids::JobId;

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn dedup_ids(&self) -> Result<&dyn DedupIds> {
        self.backend.deduplication().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "deduplication",
        })
    }

    /// The job that owns deduplication id `dedup_id` now; `None` when no job does (never
    /// taken, released, or its window has passed).
    pub async fn get_deduplication_job_id(&self, dedup_id: &str) -> Result<Option<JobId>> {
        self.dedup_ids()?
            .dedup_owner(DeduplicationKey {
                queue: self.queue.clone(),
                dedup_id: dedup_id.to_owned(),
                now: self.now(),
            })
            .await
    }

    /// Releases deduplication id `dedup_id` whoever owns it, so the next add with it makes a
    /// new job; answers whether it was owned.
    pub async fn remove_deduplication_key(&self, dedup_id: &str) -> Result<bool> {
        self.release_dedup(dedup_id, None).await
    }

    /// Releases deduplication id `dedup_id` only while job `job_id` owns it (BullMQ's
    /// `job.removeDeduplicationKey()`); answers whether it did.
    pub async fn remove_deduplication_key_of(
        &self,
        dedup_id: &str,
        job_id: &JobId,
    ) -> Result<bool> {
        self.release_dedup(dedup_id, Some(job_id.clone())).await
    }

    async fn release_dedup(&self, dedup_id: &str, job_id: Option<JobId>) -> Result<bool> {
        self.dedup_ids()?
            .dedup_release(RemoveDeduplicationKey {
                queue: self.queue.clone(),
                dedup_id: dedup_id.to_owned(),
                job_id,
                now: self.now(),
            })
            .await
    }
}
