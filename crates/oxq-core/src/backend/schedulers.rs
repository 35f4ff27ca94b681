//! The [`Schedulers`] facet: job schedulers (cron and fixed-interval repeats) kept by a store.
//!
//! A store that has it answers `Some(self)` from [`Backend::schedulers`](super::Backend).
//! Beside these calls, a store with schedulers keeps one rule on the worker's path: when
//! [`job_move_to_active`](super::Backend::job_move_to_active) (or a finish's fetch-next) takes
//! an iteration `repeat:<id>:<millis>` that is the scheduler's pending run, the same step
//! creates the next iteration (at [`Repeat::next_run`](crate::Repeat::next_run), unless the
//! limit or the end date is reached). Whoever takes the run creates the next, so each tick
//! makes exactly one job however many workers race; a run taken again (after a stall) or a
//! stale one creates nothing. Fetching a job that is not an iteration costs nothing more.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{
    GetScheduler, JobScheduler, ListSchedulers, OfQueue, RemoveScheduler, SchedulerRemoved,
    UpsertScheduler,
};

/// Job schedulers of a store. See the module docs.
#[async_trait]
pub trait Schedulers: Send + Sync {
    /// Creates or replaces a scheduler and its pending iteration, atomically.
    async fn scheduler_upsert(&self, req: UpsertScheduler) -> Result<JobScheduler>;

    async fn scheduler_get(&self, req: GetScheduler) -> Result<Option<JobScheduler>>;

    /// A page of schedulers by next run.
    async fn schedulers_list(&self, req: ListSchedulers) -> Result<Vec<JobScheduler>>;

    async fn schedulers_count(&self, req: OfQueue) -> Result<u64>;

    /// Removes a scheduler and its pending iteration if that has not started.
    async fn scheduler_remove(&self, req: RemoveScheduler) -> Result<SchedulerRemoved>;
}
