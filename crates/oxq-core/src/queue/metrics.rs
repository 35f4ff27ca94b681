//! [`Queue::metrics`]: the queue's per-minute series of completions or final failures (see
//! [`Metrics`](crate::backend::Metrics)), as BullMQ's `queue.getMetrics(type, start, end)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{MetricsKind, MetricsSeries, ReadMetrics};
use crate::error::{Error, Result};

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// The points of the `kind` series between `start` and `end` (newest minute first, Redis
    /// `LRANGE` indexes: `0, -1` for all), with its counters. Workers record it when started
    /// with [`WorkerOptions::metrics`](crate::WorkerOptions::metrics); on Redis Node BullMQ
    /// workers with `metrics` record the same series. A store without metrics answers
    /// [`Error::Unsupported`].
    pub async fn metrics(&self, kind: MetricsKind, start: i64, end: i64) -> Result<MetricsSeries> {
        let metrics = self.backend.metrics().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "job metrics",
        })?;
        metrics
            .metrics_read(ReadMetrics {
                queue: self.queue.clone(),
                kind,
                start,
                end,
            })
            .await
    }
}
