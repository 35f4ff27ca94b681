//! The [`Workers`] facet: which workers serve a queue right now, for dashboards (oxq's own and
//! Bull Board, whose worker list reads the same thing on Redis).
//!
//! A running [`Worker`](crate::Worker) announces itself when it starts, renews the announcement
//! every [`AnnounceWorker::ttl`] / 3 and leaves when it stops. A store forgets a worker that
//! left, one whose announcement was not renewed within its `ttl`, and (where it can tell) one
//! whose process ended. The list names every worker of the queue that the store knows of,
//! including those of other processes (and, on Redis, Node BullMQ workers).

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{AnnounceWorker, LeaveWorker, ListWorkers, WorkerInfo};

/// Worker presence kept by a store. See the module docs.
#[async_trait]
pub trait Workers: Send + Sync {
    /// Announces `req.worker_id` as serving `req.queue` (the first call), or renews it.
    async fn worker_announce(&self, req: AnnounceWorker) -> Result<()>;

    /// Forgets a worker at once (it stopped). Unknown workers are no error.
    async fn worker_leave(&self, req: LeaveWorker) -> Result<()>;

    /// The workers serving a queue, oldest first.
    async fn workers_list(&self, req: ListWorkers) -> Result<Vec<WorkerInfo>>;
}
