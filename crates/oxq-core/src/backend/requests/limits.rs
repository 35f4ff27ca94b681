//! Requests and answers of the [`Limits`](crate::backend::Limits) facet: a queue's global rate
//! limit and global concurrency (set, read, removed), and a manual rate limit of the whole
//! queue. [`RateLimit`] is also the worker's `limiter` option, carried by each fetch.

use std::time::Duration;

use crate::ids::QueueRef;

/// At most `max` jobs started per `duration`, counted across every worker of the queue.
/// BullMQ's `{ max, duration }` (a worker's `limiter`, or `setGlobalRateLimit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub duration: Duration,
}

impl RateLimit {
    /// At most `max` starts per `duration`; see [`RateLimit::validate`].
    pub fn new(max: u32, duration: Duration) -> Self {
        Self { max, duration }
    }

    /// Refuses a limit that would stop the queue for good or never count: `max` 0 or a
    /// `duration` under one millisecond (the unit every store counts in).
    pub fn validate(&self) -> crate::Result<()> {
        match self.problem() {
            Some(problem) => Err(crate::Error::invalid(problem)),
            None => Ok(()),
        }
    }

    /// What [`RateLimit::validate`] refuses, in words.
    pub fn problem(&self) -> Option<&'static str> {
        if self.max == 0 {
            return Some("a rate limit needs max >= 1 (pause the queue to stop it)");
        }
        if self.duration < Duration::from_millis(1) {
            return Some("a rate limit needs a duration of at least 1 ms");
        }
        None
    }
}

/// A queue's limits as stored, and whether it is rate limited right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueLimits {
    /// The global rate limit, shared by every worker of the queue.
    pub rate_limit: Option<RateLimit>,
    /// The most jobs active at once across every worker of the queue.
    pub concurrency: Option<u32>,
    /// The queue is rate limited (by the global limit, a worker limiter's count or a manual
    /// limit) until this time (ms since the epoch): no job starts before it.
    pub rate_limited_until: Option<u64>,
}

impl QueueLimits {
    pub fn new(
        rate_limit: Option<RateLimit>,
        concurrency: Option<u32>,
        rate_limited_until: Option<u64>,
    ) -> Self {
        Self {
            rate_limit,
            concurrency,
            rate_limited_until,
        }
    }
}

/// Reads a queue's limits at `now` (the caller's time, for `rate_limited_until`).
#[derive(Debug, Clone)]
pub struct GetLimits {
    pub queue: QueueRef,
    pub now: u64,
}

/// One change to a queue's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitChange {
    SetRateLimit(RateLimit),
    RemoveRateLimit,
    /// At most this many jobs active at once (at least 1).
    SetConcurrency(u32),
    RemoveConcurrency,
}

impl LimitChange {
    /// Refuses a rate limit [`RateLimit::validate`] refuses and a concurrency of 0; a store
    /// checks again what `Queue` checked.
    pub fn validate(&self) -> crate::Result<()> {
        match self {
            LimitChange::SetRateLimit(limit) => limit.validate(),
            LimitChange::SetConcurrency(0) => Err(crate::Error::invalid(
                "global concurrency must be at least 1 (pause the queue to stop it)",
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChangeLimits {
    pub queue: QueueRef,
    pub change: LimitChange,
}

/// Stops every worker of the queue from starting jobs for `duration` from `now` (BullMQ's
/// `queue.rateLimit(ms)`: the limiter counter set past any max, expiring after `duration`).
#[derive(Debug, Clone)]
pub struct RateLimitQueue {
    pub queue: QueueRef,
    pub duration: Duration,
    pub now: u64,
}

impl RateLimitQueue {
    /// Refuses a duration under one millisecond.
    pub fn validate(&self) -> crate::Result<()> {
        if self.duration < Duration::from_millis(1) {
            return Err(crate::Error::invalid(
                "a manual rate limit needs a duration of at least 1 ms",
            ));
        }
        Ok(())
    }
}
