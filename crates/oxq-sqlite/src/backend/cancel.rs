//! The SQLite store's [`Cancellation`] facet: `job_cancel` on the writer. The rule lives in
//! [`ops::cancel`](crate::ops::cancel); the renewal's side in [`ops::locks`](crate::ops::locks).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{CancelJob, CancelOutcome, Cancellation};

use super::SqliteBackend;
use crate::ops::cancel;

#[async_trait]
impl Cancellation for SqliteBackend {
    async fn job_cancel(&self, req: CancelJob) -> Result<CancelOutcome> {
        self.write(move |ctx| cancel::cancel(ctx, req)).await
    }
}
