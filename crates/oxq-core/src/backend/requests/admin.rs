//! Requests and answers of the queue calls: pause, resume, drain, clean, obliterate, list.

use std::time::Duration;

use crate::ids::{JobId, QueueRef};
use crate::record::JobState;

/// Pause or resume a queue.
#[derive(Debug, Clone)]
pub struct SetPaused {
    pub queue: QueueRef,
    pub paused: bool,
    pub now: u64,
}

/// What a queue is doing, beside its jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStatus {
    pub paused: bool,
}

impl QueueStatus {
    pub fn new(paused: bool) -> Self {
        Self { paused }
    }
}

#[derive(Debug, Clone)]
pub struct DrainQueue {
    pub queue: QueueRef,
    pub include_delayed: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainedJobs {
    pub count: u64,
}

#[derive(Debug, Clone)]
pub struct CleanQueue {
    pub queue: QueueRef,
    pub state: JobState,
    /// Only jobs older than this (finished, for finished states; added, otherwise).
    pub grace: Duration,
    pub limit: u64,
    pub now: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanedJobs {
    pub ids: Vec<JobId>,
}

#[derive(Debug, Clone)]
pub struct ObliterateQueue {
    pub queue: QueueRef,
    pub force: bool,
}

#[derive(Debug, Clone)]
pub struct ListQueues {
    pub prefix: String,
}
