//! [`Queue`]'s group calls (tenant fairness): pause and resume one group, set or remove the
//! per-group concurrency and rate limit (of one group, or of every group), and read one
//! group's settings and counts. Jobs join a group with
//! [`JobOptions::group`](crate::JobOptions::group); workers take group jobs round-robin across
//! groups (see [`crate::backend::Groups`]). A store without groups answers
//! [`Error::Unsupported`], and `add` refuses the group option there.
//!
//! ```no_run
//! # async fn demo(queue: oxq_core::Queue) -> oxq_core::Result<()> {
//! use oxq_core::backend::GroupTarget;
//! queue.set_group_concurrency(GroupTarget::Every, 2).await?; // 2 at once per tenant
//! queue.pause_group("acme").await?; // acme's jobs stay queued, the others run
//! assert!(queue.group("acme").await?.paused);
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Queue;
use crate::backend::{
    ChangeGroup, GetGroup, GroupChange, GroupInfo, GroupTarget, Groups, RateLimit,
};
use crate::error::{Error, Result};
use crate::options::validate_group_key;

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn groups_facet(&self) -> Result<&dyn Groups> {
        self.backend.groups().ok_or(Error::Unsupported {
            store: self.backend.kind(),
            operation: "job groups",
        })
    }

    async fn change_group(&self, target: GroupTarget, change: GroupChange) -> Result<()> {
        let req = ChangeGroup {
            queue: self.queue.clone(),
            target,
            change,
        };
        req.validate()?;
        self.groups_facet()?.group_change(req).await
    }

    /// Starts no job of group `key` until [`Queue::resume_group`]; its jobs stay queued and
    /// other groups run.
    pub async fn pause_group(&self, key: &str) -> Result<()> {
        self.change_group(GroupTarget::One(key.to_owned()), GroupChange::Pause)
            .await
    }

    pub async fn resume_group(&self, key: &str) -> Result<()> {
        self.change_group(GroupTarget::One(key.to_owned()), GroupChange::Resume)
            .await
    }

    /// At most `n` jobs of the group (or of each group) active at once, across every worker.
    pub async fn set_group_concurrency(&self, target: GroupTarget, n: u32) -> Result<()> {
        self.change_group(target, GroupChange::SetConcurrency(n))
            .await
    }

    pub async fn remove_group_concurrency(&self, target: GroupTarget) -> Result<()> {
        self.change_group(target, GroupChange::RemoveConcurrency)
            .await
    }

    /// At most `max` starts of the group (or of each group) per `duration`, across every
    /// worker.
    pub async fn set_group_rate_limit(
        &self,
        target: GroupTarget,
        max: u32,
        duration: Duration,
    ) -> Result<()> {
        self.change_group(
            target,
            GroupChange::SetRateLimit(RateLimit::new(max, duration)),
        )
        .await
    }

    pub async fn remove_group_rate_limit(&self, target: GroupTarget) -> Result<()> {
        self.change_group(target, GroupChange::RemoveRateLimit)
            .await
    }

    /// Group `key`'s settings in force and its counts.
    pub async fn group(&self, key: &str) -> Result<GroupInfo> {
        validate_group_key(key)?;
        self.groups_facet()?
            .group_get(GetGroup {
                queue: self.queue.clone(),
                group: key.to_owned(),
                now: self.now(),
            })
            .await
    }
}
