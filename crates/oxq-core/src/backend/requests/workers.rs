//! Requests and answers of the [`Workers`](crate::backend::Workers) facet: announcing a worker,
//! forgetting it, listing a queue's workers.

use std::time::Duration;

use crate::ids::QueueRef;

/// A worker announcing (or renewing) itself on a queue.
#[derive(Debug, Clone)]
pub struct AnnounceWorker {
    pub queue: QueueRef,
    /// The worker's unique id ([`Worker::id`](crate::Worker::id)).
    pub worker_id: String,
    /// Its name ([`WorkerOptions::name`](crate::WorkerOptions::name)), shown in lists.
    pub name: Option<String>,
    pub now: u64,
    /// How long the announcement holds without a renewal.
    pub ttl: Duration,
}

/// A worker that stopped.
#[derive(Debug, Clone)]
pub struct LeaveWorker {
    pub queue: QueueRef,
    pub worker_id: String,
}

/// The workers of a queue at `now`.
#[derive(Debug, Clone)]
pub struct ListWorkers {
    pub queue: QueueRef,
    pub now: u64,
}

/// A worker serving a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerInfo {
    /// The worker's name, when it has one.
    pub name: Option<String>,
    /// Where it runs: the client address (`ip:port`) of its connection on Redis, `pid <n>` of
    /// its process on SQLite.
    pub addr: String,
    /// How long it has been serving the queue (on Redis: the age of its named connection, in
    /// whole seconds).
    pub age: Duration,
    /// Since it was last heard of (on Redis: its named connection's last command, whole
    /// seconds).
    pub idle: Duration,
}

impl WorkerInfo {
    pub fn new(
        name: Option<String>,
        addr: impl Into<String>,
        age: Duration,
        idle: Duration,
    ) -> Self {
        Self {
            name,
            addr: addr.into(),
            age,
            idle,
        }
    }
}
