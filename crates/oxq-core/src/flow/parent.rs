//! How a child names its parent ([`ParentLink`]), what its final failure does to that parent
//! ([`ChildFailure`]), and how a parent names a child ([`ChildKey`]).
//!
//! These ride in [`JobOptions::parent`](crate::JobOptions::parent), so a child added on its own
//! (`Queue::add` from inside the parent's processor) and a child written by a
//! [`FlowProducer`](super::FlowProducer) are the same thing to a store.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{JobId, QueueRef};

/// The parent a job belongs to, and what its failure does to that parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// The parent's queue; it may differ from the child's (and have another prefix).
    pub queue: QueueRef,
    pub id: JobId,
    /// What happens to the parent when this child fails for good.
    #[serde(default)]
    pub on_failure: ChildFailure,
}

impl ParentLink {
    /// A link to job `id` of `queue`, with the default failure policy ([`ChildFailure::Wait`]).
    pub fn new(queue: QueueRef, id: JobId) -> Self {
        Self {
            queue,
            id,
            on_failure: ChildFailure::default(),
        }
    }

    pub fn on_failure(mut self, policy: ChildFailure) -> Self {
        self.on_failure = policy;
        self
    }

    /// The parent as a [`ChildKey`]-style key: `prefix:queue:id`.
    pub fn key(&self) -> ChildKey {
        ChildKey {
            queue: self.queue.clone(),
            id: self.id.clone(),
        }
    }
}

/// What a child's final failure (attempts used up, or failed for good) does to its parent.
/// BullMQ's four child options, plus its default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildFailure {
    /// The parent keeps waiting: the child stays a pending dependency until it is retried
    /// successfully or removed. BullMQ's default.
    #[default]
    Wait,
    /// The parent fails too, with the reason `child <key> failed` (and its own parent reacts
    /// per its own policy). BullMQ's `failParentOnFailure`.
    FailParent,
    /// The dependency is dropped and the failure recorded on the parent
    /// ([`Dependencies::ignored`](crate::backend::Dependencies::ignored)); the parent runs once
    /// its other children are done. BullMQ's `ignoreDependencyOnFailure`.
    Ignore,
    /// The dependency is dropped and nothing is recorded; the parent runs once its other
    /// children are done. BullMQ's `removeDependencyOnFailure`.
    Remove,
    /// The failure is recorded as for [`ChildFailure::Ignore`] and the parent runs at once,
    /// even while other children are pending (it cannot complete until they are done or
    /// removed). BullMQ's `continueParentOnFailure`.
    ContinueParent,
}

/// A child as its parent names it: its queue and id. Displays as BullMQ's job key
/// `prefix:queue:id`, the key [`Job::children_values`](crate::Job::children_values) uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChildKey {
    pub queue: QueueRef,
    pub id: JobId,
}

impl ChildKey {
    pub fn new(queue: QueueRef, id: JobId) -> Self {
        Self { queue, id }
    }
}

impl fmt::Display for ChildKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.queue.prefix, self.queue.name, self.id)
    }
}
