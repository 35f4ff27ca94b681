//! Requests and answers of the [`Flows`](crate::backend::Flows) facet: writing flow trees and
//! reading a parent's dependencies.

use crate::flow::ChildKey;
use crate::ids::{JobId, QueueRef};
use crate::record::JobState;

use super::NewJob;

/// Flow trees to write in one atomic step, flattened.
#[derive(Debug, Clone)]
pub struct AddFlow {
    /// Every node of every tree, each parent before its children (pre-order). Every node has
    /// its id set (`options.job_id`: the user's custom id or a UUID v4 the client chose), and
    /// every child its `options.parent`, naming a node earlier in this list or a job that
    /// already exists.
    pub nodes: Vec<FlowNode>,
    pub now: u64,
}

/// One job of a flow tree.
#[derive(Debug, Clone)]
pub struct FlowNode {
    pub queue: QueueRef,
    /// The job; `options.job_id` is always set.
    pub job: NewJob,
    /// How many children follow it in the request: more than zero makes it a parent, written in
    /// [`JobState::WaitingChildren`] (its delay and priority apply when it is released).
    pub children: u32,
}

/// One entry per [`FlowNode`], in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddedFlow {
    pub nodes: Vec<AddedFlowNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedFlowNode {
    pub queue: QueueRef,
    pub id: JobId,
    /// Where the store put it: waiting-children for a parent, else as an add would.
    pub state: JobState,
}

/// Which job's dependencies to read, at most `limit` of each kind.
#[derive(Debug, Clone)]
pub struct GetDependencies {
    pub queue: QueueRef,
    pub job_id: JobId,
    pub limit: u64,
}

/// What a parent knows of its children. Each list is ordered by child key, and holds at most
/// the request's `limit` entries; the counts are always whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// Children that completed, with their return values (JSON text).
    pub processed: Vec<(ChildKey, String)>,
    /// Children not finished yet (waiting, delayed, active, retrying, failed with the
    /// [`Wait`](crate::flow::ChildFailure::Wait) policy, or their own children pending).
    pub pending: Vec<ChildKey>,
    /// Children that failed for good under [`Ignore`](crate::flow::ChildFailure::Ignore) or
    /// [`ContinueParent`](crate::flow::ChildFailure::ContinueParent), with their failure reasons.
    pub ignored: Vec<(ChildKey, String)>,
    /// Children that failed for good under [`FailParent`](crate::flow::ChildFailure::FailParent).
    pub failed: Vec<ChildKey>,
    pub counts: DependencyCounts,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DependencyCounts {
    pub processed: u64,
    pub pending: u64,
    pub ignored: u64,
    pub failed: u64,
}
