//! The [`Metrics`] facet: BullMQ's per-queue series of completions and final failures per
//! minute (BullMQ's worker option `metrics: { maxDataPoints }`), read by
//! [`Queue::metrics`](crate::Queue::metrics), dashboards, and on Redis by Node's
//! `queue.getMetrics` and Bull Board's charts.
//!
//! Recording is part of [`job_finish`](super::Backend::job_finish): a call with
//! [`FinishJobs::metrics`](super::FinishJobs::metrics) set counts each job it completes or
//! fails for good, in the same transition, as BullMQ does per finish:
//!
//! * `count` goes up by one; `previous` is its value before.
//! * The first finish ever only notes `prev_ts = now`, `prev_count = 0`.
//! * Later, `n = min(minute(now) - minute(prev_ts), max_data_points)` (minutes since the epoch,
//!   `floor(ms / 60000)`). When `n > 0`, the point `previous - prev_count` is pushed at the
//!   head of the series, then `n - 1` zeros (minutes with no finish closed), the series is cut
//!   to `max_data_points`, and `prev_count = previous`, `prev_ts = now`.
//!
//! So a finish is counted in the point closed by the first finish of a later minute, and the
//! newest point is at the head. Several finishes in one call count as one finish after the
//! other at the same `now`. A call without `metrics` writes nothing here, so queues that do not
//! use the feature pay nothing.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{MetricsSeries, ReadMetrics};

/// Per-minute metrics kept by a store. See the module docs.
#[async_trait]
pub trait Metrics: Send + Sync {
    /// A queue's series of one kind, the points between `req.start` and `req.end`; an empty
    /// series (all zeros, no points) for a queue that recorded none.
    async fn metrics_read(&self, req: ReadMetrics) -> Result<MetricsSeries>;
}
