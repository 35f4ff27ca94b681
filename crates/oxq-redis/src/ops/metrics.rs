//! The [`Metrics`] facet on Redis: BullMQ's per-minute series (`bullmq-v5-model.md` §4.24),
//! read as Node's `queue.getMetrics(type, start, end)` reads them: the hash
//! `metrics:<completed|failed>` (`count`, `prevTS`, `prevCount`) and the list
//! `metrics:<completed|failed>:data` (one point per minute, newest first), in one atomic
//! pipeline (`HMGET`, `LRANGE`, `LLEN`). The series are written by `scripts/finish.lua` when a
//! finish carries [`FinishJobs::metrics`](oxq_core::backend::FinishJobs::metrics), and by Node
//! workers started with `metrics: { maxDataPoints }`.
//!
//! A field or point that is not a number (another writer's mistake) reads as 0, as Node reads
//! it (`parseInt(..) || 0`, `+point || 0`).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{Metrics, MetricsKind, MetricsMeta, MetricsSeries, ReadMetrics};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};

/// The hash and list keys of a series.
fn keys(kind: MetricsKind) -> (Key, Key) {
    match kind {
        MetricsKind::Completed => (Key::MetricsCompleted, Key::MetricsCompletedData),
        MetricsKind::Failed => (Key::MetricsFailed, Key::MetricsFailedData),
    }
}

/// A stored number as Node reads it; anything else is 0.
fn number(text: Option<&str>) -> u64 {
    text.and_then(|t| t.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map_or(0, |n| n as u64)
}

async fn read(backend: &RedisBackend, req: &ReadMetrics) -> StoreResult<MetricsSeries> {
    let k = QueueKeys::new(&req.queue);
    let (meta_key, data_key) = keys(req.kind);
    let (meta_key, data_key) = (k.key(meta_key), k.key(data_key));
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("HMGET")
        .arg(&meta_key)
        .arg("count")
        .arg("prevTS")
        .arg("prevCount")
        .cmd("LRANGE")
        .arg(&data_key)
        .arg(req.start)
        .arg(req.end)
        .cmd("LLEN")
        .arg(&data_key);
    let (meta, data, count): ([Option<String>; 3], Vec<String>, u64) =
        pipe.query_async(&mut backend.conn()).await?;
    let [total, prev_ts, prev_count] = meta;
    Ok(MetricsSeries {
        meta: MetricsMeta {
            count: number(total.as_deref()),
            prev_ts: number(prev_ts.as_deref()),
            prev_count: number(prev_count.as_deref()),
        },
        data: data.iter().map(|p| number(Some(p))).collect(),
        count,
    })
}

#[async_trait]
impl Metrics for RedisBackend {
    async fn metrics_read(&self, req: ReadMetrics) -> Result<MetricsSeries> {
        self.named(read(self, &req).await)
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_as_node_reads_them() {
        assert_eq!(number(Some("12")), 12);
        assert_eq!(number(Some("1700000000000")), 1_700_000_000_000);
        assert_eq!(number(Some("x")), 0);
        assert_eq!(number(Some("-3")), 0);
        assert_eq!(number(None), 0);
    }
}
