//! The SQLite store's [`Metrics`] facet: reading a series on a reader. Recording happens in
//! the finish's transaction; the rows live in [`ops::metrics`](crate::ops::metrics).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{Metrics, MetricsSeries, ReadMetrics};

use super::SqliteBackend;
use crate::ops::metrics;

#[async_trait]
impl Metrics for SqliteBackend {
    async fn metrics_read(&self, req: ReadMetrics) -> Result<MetricsSeries> {
        self.read(move |conn| metrics::read(conn, &req)).await
    }
}
