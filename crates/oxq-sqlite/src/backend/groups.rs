//! The SQLite store's [`Groups`] facet: reads on a reader, changes on the writer. The rules,
//! and the round-robin every fetch runs, live in [`ops::groups`](crate::ops::groups).

use async_trait::async_trait;
use oxq_core::Result;
use oxq_core::backend::{ChangeGroup, GetGroup, GroupInfo, Groups};

use super::SqliteBackend;
use crate::ops::groups;

#[async_trait]
impl Groups for SqliteBackend {
    async fn group_get(&self, req: GetGroup) -> Result<GroupInfo> {
        oxq_core::validate_group_key(&req.group)?;
        self.read(move |conn| groups::get(conn, &req)).await
    }

    async fn group_change(&self, req: ChangeGroup) -> Result<()> {
        req.validate()?;
        self.write(move |ctx| groups::change(ctx, req)).await
    }
}
