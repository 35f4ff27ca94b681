//! [`Queue`]'s dead letter calls: naming the queue's dead letter queue, and, on a dead letter
//! queue, listing, counting, replaying and purging its dead jobs.
//!
//! The setting is the source queue's, kept in the store (see
//! [`DeadLetters`](crate::backend::DeadLetters) for why and for what a dead job holds), so every
//! worker and producer of the queue agrees on it. The dead letter queue shares the source's
//! prefix and is named by its name. A store without dead letter queues answers
//! [`Error::Unsupported`].

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{
    DeadLetter, DeadLetters, ListDeadLetters, PurgeDeadLetters, ReplayDeadLetters,
    ReplayedDeadLetter, SetDeadLetterQueue,
};
use crate::error::{Error, Result};
use crate::ids::{JobId, QueueRef};

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn dead_letter_facet(&self) -> Result<&dyn DeadLetters> {
        self.backend.dead_letters().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "dead letter queues",
        })
    }

    /// Sends this queue's jobs that fail for good (attempts exhausted, a final failure, or
    /// stalled too often) to the queue `name` under the same prefix, or stops doing so
    /// (`None`). Refused for this queue itself and, on Redis, for a queue in another cluster
    /// slot (see [`DeadLetters`](crate::backend::DeadLetters)).
    pub async fn set_dead_letter_queue(&self, name: Option<&str>) -> Result<()> {
        let target = name
            .map(|name| QueueRef::with_prefix(self.queue.prefix.clone(), name))
            .transpose()?;
        if target.as_ref() == Some(&self.queue) {
            return Err(Error::invalid(format!(
                "queue {} cannot be its own dead letter queue",
                self.queue.name
            )));
        }
        self.dead_letter_facet()?
            .dead_letter_queue_set(SetDeadLetterQueue {
                queue: self.queue.clone(),
                target,
            })
            .await
    }

    /// The name of this queue's dead letter queue, if one is set.
    pub async fn dead_letter_queue(&self) -> Result<Option<String>> {
        let target = self
            .dead_letter_facet()?
            .dead_letter_queue_get(self.of_queue())
            .await?;
        Ok(target.map(|q| q.name))
    }

    /// A page of the dead jobs this queue holds as a dead letter queue, oldest first.
    pub async fn dead_letters(&self, offset: u64, limit: u64) -> Result<Vec<DeadLetter>> {
        self.dead_letter_facet()?
            .dead_letters_list(ListDeadLetters {
                queue: self.queue.clone(),
                offset,
                limit,
            })
            .await
    }

    /// How many dead jobs this queue holds.
    pub async fn dead_letter_count(&self) -> Result<u64> {
        self.dead_letter_facet()?
            .dead_letters_count(self.of_queue())
            .await
    }

    /// Adds dead jobs back to their source queues (same name, data and options, attempts at
    /// zero, a link to the dead entry); one answer per id, in order.
    pub async fn replay_dead_letters(&self, ids: &[JobId]) -> Result<Vec<ReplayedDeadLetter>> {
        self.dead_letter_facet()?
            .dead_letters_replay(ReplayDeadLetters {
                queue: self.queue.clone(),
                ids: ids.to_vec(),
                now: self.now(),
            })
            .await
    }

    /// Replays one dead job; answers the id of the job added to its source queue, or
    /// [`Error::JobNotFound`] when this queue holds no dead job `id`.
    pub async fn replay_dead_letter(&self, id: &JobId) -> Result<JobId> {
        let answer = self.replay_dead_letters(std::slice::from_ref(id)).await?;
        match answer.into_iter().next() {
            Some(ReplayedDeadLetter::Replayed { job_id, .. }) => Ok(job_id),
            Some(ReplayedDeadLetter::NotFound) | None => Err(Error::JobNotFound(id.to_string())),
        }
    }

    /// Deletes the dead jobs `ids`; answers how many there were.
    pub async fn purge_dead_letters(&self, ids: &[JobId]) -> Result<u64> {
        self.purge(Some(ids.to_vec())).await
    }

    /// Deletes every dead job this queue holds; answers how many there were.
    pub async fn purge_all_dead_letters(&self) -> Result<u64> {
        self.purge(None).await
    }

    async fn purge(&self, ids: Option<Vec<JobId>>) -> Result<u64> {
        let purged = self
            .dead_letter_facet()?
            .dead_letters_purge(PurgeDeadLetters {
                queue: self.queue.clone(),
                ids,
                now: self.now(),
            })
            .await?;
        Ok(purged.count)
    }
}
