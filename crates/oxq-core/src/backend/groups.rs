//! The [`Groups`] facet: tenant fairness. Jobs added with
//! [`JobOptions::group`](crate::JobOptions::group) belong to a group (a tenant, a customer).
//!
//! A store that has it answers `Some(self)` from [`Backend::groups`](super::Backend). Beside
//! these calls, such a store keeps these rules on the worker's path:
//! * [`job_move_to_active`](super::Backend::job_move_to_active) (and a finish's fetch-next)
//!   takes group jobs round-robin across the groups that have runnable jobs, one job per group
//!   per turn, so one group's backlog cannot starve the others. Jobs without a group are taken
//!   first, as before.
//! * It starts no job of a paused group, none of a group at its concurrency, and none of a
//!   group whose rate limit's window is full; other groups run.
//! * Every path that makes a job runnable (add, promotion, retry, stalled recovery) keeps the
//!   job in its group. Group jobs count as waiting.
//!
//! Settings are set per group, or for every group ([`GroupTarget::Every`]); a group's own
//! setting wins over the one for every group. This is a facet of its own rather than part of
//! [`Limits`](super::Limits): its settings are keyed by group, and a store may keep queue
//! limits without groups (the queue then refuses the group option).
//!
//! A queue without group jobs pays one index probe per fetch.

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{ChangeGroup, GetGroup, GroupInfo};

/// Group settings and counts of a store. See the module docs.
#[async_trait]
pub trait Groups: Send + Sync {
    /// One group's settings in force, its counts, and whether it is rate limited now.
    async fn group_get(&self, req: GetGroup) -> Result<GroupInfo>;

    /// Sets or removes one setting of a group (or of every group); the others stay. Waiters
    /// look again.
    async fn group_change(&self, req: ChangeGroup) -> Result<()>;
}
