//! The SQLite store's [`Limits`] facet: reads on a reader, changes and manual limits on the
//! writer. The rules, and the gate every fetch passes, live in
//! [`ops::limits`](crate::ops::limits).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{ChangeLimits, GetLimits, Limits, QueueLimits, RateLimitQueue};

use super::SqliteBackend;
use crate::ops::limits;

#[async_trait]
impl Limits for SqliteBackend {
    async fn limits_get(&self, req: GetLimits) -> Result<QueueLimits> {
        self.read(move |conn| limits::get(conn, &req)).await
    }

    async fn limits_change(&self, req: ChangeLimits) -> Result<()> {
        req.change.validate()?;
        self.write(move |ctx| limits::change(ctx, req)).await
    }

    async fn queue_rate_limit(&self, req: RateLimitQueue) -> Result<()> {
        req.validate()?;
        self.write(move |ctx| limits::rate_limit(ctx, req)).await
    }
}
