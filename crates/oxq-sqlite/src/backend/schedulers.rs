//! The SQLite store's [`Schedulers`] facet: each call routed to the writer (upsert, remove)
//! or a reader (get, list, count). The rules live in [`ops::schedulers`](crate::ops::schedulers).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{
    GetScheduler, JobScheduler, ListSchedulers, OfQueue, RemoveScheduler, SchedulerRemoved,
    Schedulers, UpsertScheduler,
};

use super::SqliteBackend;
use crate::ops::schedulers;

#[async_trait]
impl Schedulers for SqliteBackend {
    async fn scheduler_upsert(&self, req: UpsertScheduler) -> Result<JobScheduler> {
        self.write(move |ctx| schedulers::upsert(ctx, req)).await
    }

    async fn scheduler_get(&self, req: GetScheduler) -> Result<Option<JobScheduler>> {
        self.read(move |conn| schedulers::get(conn, &req)).await
    }

    async fn schedulers_list(&self, req: ListSchedulers) -> Result<Vec<JobScheduler>> {
        self.read(move |conn| schedulers::list(conn, &req)).await
    }

    async fn schedulers_count(&self, req: OfQueue) -> Result<u64> {
        self.read(move |conn| schedulers::count(conn, &req.queue))
            .await
    }

    async fn scheduler_remove(&self, req: RemoveScheduler) -> Result<SchedulerRemoved> {
        self.write(move |ctx| schedulers::remove(ctx, req)).await
    }
}
