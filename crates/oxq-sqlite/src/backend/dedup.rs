//! The SQLite store's [`DedupIds`] facet: the owner read on a reader, the release on the
//! writer. The rules live in [`ops::dedup`](crate::ops::dedup), with the hooks that keep them
//! in the add, finish and removal calls.

use async_trait::async_trait;
use oxq_core::backend::{DedupIds, DeduplicationKey, RemoveDeduplicationKey};
use oxq_core::{JobId, Result};

use super::SqliteBackend;
use crate::ops::dedup;

#[async_trait]
impl DedupIds for SqliteBackend {
    async fn dedup_owner(&self, req: DeduplicationKey) -> Result<Option<JobId>> {
        self.read(move |conn| dedup::owner(conn, &req)).await
    }

    async fn dedup_release(&self, req: RemoveDeduplicationKey) -> Result<bool> {
        self.write(move |ctx| dedup::release(ctx, req)).await
    }
}
