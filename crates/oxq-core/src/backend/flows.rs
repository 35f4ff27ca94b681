//! The [`Flows`] facet: parent/child jobs (BullMQ's flows), kept by a store.
//!
//! A store that has it answers `Some(self)` from [`Backend::flows`](super::Backend::flows). It
//! adds two calls (write trees, read a parent's dependencies) and keeps these rules in the
//! core calls, in the same atomic step as the transition that causes them. Nothing here costs
//! a job without a parent or children more than reading that it has none.
//!
//! **Dependencies.** A job whose options name a [`ParentLink`](crate::flow::ParentLink) is a
//! *pending* dependency of that parent from the moment it is written. An add
//! ([`job_add_bulk`](super::Backend::job_add_bulk) or [`Flows::flow_add`]) whose parent does not
//! exist is refused whole with [`Error::ParentNotFound`](crate::Error::ParentNotFound). A plain
//! add with a parent does not move the parent (its processor returns
//! [`AttemptEnd::WaitForChildren`](super::AttemptEnd::WaitForChildren) to wait).
//!
//! **Releasing a parent.** A parent in waiting-children whose last pending dependency goes is
//! *released*: with a `delay` it goes to delayed, due `delay` after the release; else to the
//! front of its queue's waiting jobs (or prioritized, with a priority), as a retry would. Its
//! queue may differ from the child's.
//!
//! **A child completes** ([`job_finish`](super::Backend::job_finish), `Completed`): it moves
//! from pending to processed with its return value, before its own retention applies (so the
//! value survives `remove_on_complete`), and the parent is released if that was the last.
//!
//! **A child fails for good** (`Failed` with `Retry::Never`), per its
//! [`ChildFailure`](crate::flow::ChildFailure): `Wait` changes nothing; `FailParent` moves it to
//! the parent's failed children and marks the parent to fail with `child <key> failed` (a
//! deferred failure, as for a job stalled too often: the next fetch fails it at once; a parent
//! in waiting-children or delayed is released so that happens now, and a parent already failed
//! is left alone); `Ignore` moves it to ignored with its reason and releases the parent if that
//! was the last; `Remove` drops it and does the same, recording nothing; `ContinueParent`
//! records it as ignored and releases the parent at once even if others are pending.
//!
//! **A parent ends an attempt.** `Completed` while children are pending is refused for that
//! item with [`Error::PendingDependencies`](crate::Error::PendingDependencies) (the job stays
//! active under its lock; the worker then fails the attempt), and while it has failed
//! (`FailParent`) children with [`Error::FailedDependency`](crate::Error::FailedDependency)
//! (the worker fails it for good). `WaitForChildren` moves it to waiting-children when a
//! dependency is pending and none failed it, and to the front of waiting otherwise (where a
//! deferred failure from a `FailParent` child fails it at once); either way its lock is
//! released and the attempt is not counted.
//!
//! **Removal.** [`job_remove`](super::Backend::job_remove) of a parent removes its whole subtree
//! (children on any queue, and theirs), refused with [`Error::Conflict`](crate::Error::Conflict)
//! and nothing removed when a job of it is held by a worker. Removing a child (by
//! `job_remove`, retention, drain, clean or obliterate) drops it from its parent's pending
//! dependencies, which releases the parent to the front of its waiting jobs if that was the
//! last. A child retried from completed or failed ([`job_retry`](super::Backend::job_retry),
//! `jobs_retry`) is pending again (its processed value or failure is forgotten), but a parent
//! already released is not moved back.
//!
//! **Events.** A parent written or moved to waiting-children records `waiting-children`; a
//! released parent records `waiting` with `prev: waiting-children` (or `delayed`).

use async_trait::async_trait;

use crate::error::Result;

use super::requests::{AddFlow, AddedFlow, Dependencies, GetDependencies};

/// Parent/child jobs of a store. See the module docs.
#[async_trait]
pub trait Flows: Send + Sync {
    /// Writes every node of the request, or nothing: a node whose id exists, a parent that does
    /// not exist, or invalid options refuse the whole call ([`Error::Conflict`](crate::Error::Conflict),
    /// [`Error::ParentNotFound`](crate::Error::ParentNotFound),
    /// [`Error::InvalidOptions`](crate::Error::InvalidOptions)). Events as for an add, and
    /// `waiting-children` for a parent.
    async fn flow_add(&self, req: AddFlow) -> Result<AddedFlow>;

    /// A job's dependencies; `None` when the job does not exist.
    async fn job_dependencies(&self, req: GetDependencies) -> Result<Option<Dependencies>>;
}
