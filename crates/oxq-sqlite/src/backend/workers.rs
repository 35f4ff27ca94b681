//! The SQLite store's [`Workers`] facet: announcing and leaving on the writer, listing on a
//! reader. The rows live in [`ops::workers`](crate::ops::workers).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{AnnounceWorker, LeaveWorker, ListWorkers, WorkerInfo, Workers};

use super::SqliteBackend;
use crate::ops::workers;

#[async_trait]
impl Workers for SqliteBackend {
    async fn worker_announce(&self, req: AnnounceWorker) -> Result<()> {
        self.write(move |ctx| workers::announce(ctx, &req)).await
    }

    async fn worker_leave(&self, req: LeaveWorker) -> Result<()> {
        self.write(move |ctx| workers::leave(ctx, &req)).await
    }

    async fn workers_list(&self, req: ListWorkers) -> Result<Vec<WorkerInfo>> {
        self.read(move |conn| workers::list(conn, &req)).await
    }
}
