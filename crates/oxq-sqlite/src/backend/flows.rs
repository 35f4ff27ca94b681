//! The SQLite store's [`Flows`] facet: `flow_add` on the writer, `job_dependencies` on a
//! reader. The rules live in [`ops::flows`](crate::ops::flows), and the hooks that keep them in
//! the core calls beside each call's own operation.

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{AddFlow, AddedFlow, Dependencies, Flows, GetDependencies};

use super::SqliteBackend;
use crate::ops::flows::{read, write};

#[async_trait]
impl Flows for SqliteBackend {
    async fn flow_add(&self, req: AddFlow) -> Result<AddedFlow> {
        self.write(move |ctx| write::flow_add(ctx, req)).await
    }

    async fn job_dependencies(&self, req: GetDependencies) -> Result<Option<Dependencies>> {
        self.read(move |conn| read::dependencies(conn, &req)).await
    }
}
