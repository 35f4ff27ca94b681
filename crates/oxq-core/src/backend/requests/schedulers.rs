//! Requests and answers of the [`Schedulers`](crate::backend::Schedulers) facet: upsert, read,
//! list, count and remove job schedulers.

use crate::ids::QueueRef;
use crate::options::JobOptions;
use crate::repeat::Repeat;

/// What a scheduler's iterations are made of: the job's name, data (JSON text) and options.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerTemplate {
    pub name: String,
    /// The payload, JSON text.
    pub data: String,
    /// Options of every iteration; never a custom id or a delay (the scheduler sets both).
    pub options: JobOptions,
}

/// A scheduler as stored, with its pending run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JobScheduler {
    pub id: String,
    pub repeat: Repeat,
    pub template: SchedulerTemplate,
    /// When the pending iteration runs (ms since the epoch); `None` once the limit or the end
    /// date leaves no run.
    pub next_run: Option<u64>,
    /// Iterations created so far.
    pub iterations: u64,
}

impl JobScheduler {
    pub fn new(
        id: String,
        repeat: Repeat,
        template: SchedulerTemplate,
        next_run: Option<u64>,
        iterations: u64,
    ) -> Self {
        Self {
            id,
            repeat,
            template,
            next_run,
            iterations,
        }
    }
}

/// Create or replace scheduler `id`. The store replaces the pending iteration of an existing
/// scheduler (never leaving two), computes the first run with
/// [`Repeat::first_run`] and creates that iteration (`repeat:<id>:<millis>`) in the same step.
/// `Queue` has validated `id`, `repeat` and the template; a store validates again.
#[derive(Debug, Clone)]
pub struct UpsertScheduler {
    pub queue: QueueRef,
    pub id: String,
    pub repeat: Repeat,
    pub template: SchedulerTemplate,
    pub now: u64,
}

#[derive(Debug, Clone)]
pub struct GetScheduler {
    pub queue: QueueRef,
    pub id: String,
}

/// A page of schedulers ordered by next run (soonest first when `ascending`).
#[derive(Debug, Clone)]
pub struct ListSchedulers {
    pub queue: QueueRef,
    pub offset: u64,
    pub limit: u64,
    pub ascending: bool,
}

/// Removes a scheduler and its pending iteration (if it has not started).
#[derive(Debug, Clone)]
pub struct RemoveScheduler {
    pub queue: QueueRef,
    pub id: String,
    pub now: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerRemoved {
    pub existed: bool,
}
