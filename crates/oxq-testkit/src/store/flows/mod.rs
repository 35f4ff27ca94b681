//! The [`Flows`] facet: parent/child jobs as the store keeps them. Writing trees (states,
//! atomicity, other queues, depth), a child's completion and final failure under each
//! [`ChildFailure`] policy, releasing a parent (waiting, delayed from the release,
//! prioritized), a parent's own attempt ends (refused completions, `WaitForChildren`), a child
//! added on its own, removal of subtrees and of children, drain, retry, the dependency lists,
//! events and counts. Most cases put the parent on the case's queue and its children on a
//! sibling queue, so each also proves that a child reaches a parent on another queue. Times
//! are explicit `now`s; a store without the facet skips these cases (and a skip fails).
//!
//! One file per behaviour; the calls they share are here.

mod parent_attempts;
mod policies;
mod reading;
mod release;
mod removal;
mod retries;
mod writing;

pub use parent_attempts::*;
pub use policies::*;
pub use reading::*;
pub use release::*;
pub use removal::*;
pub use retries::*;
pub use writing::*;

use std::time::Duration;

use oxq_core::backend::{
    AddFlow, AddJobs, AddedFlow, AttemptEnd, Dependencies, DependencyCounts, DrainQueue,
    FetchedJob, FlowNode, Flows, GetDependencies, JobAt, RemoveJob, Retry,
};
use oxq_core::flow::{ChildFailure, ChildKey, ParentLink};
use oxq_core::{Error, Event, JobId, JobOptions, JobState, KeepJobs};

use super::kit::{
    Kit, completed, completed_keeping, expect_err, failed, failed_for_good, fetched_ids, ids,
};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// The token every fetch of these cases takes.
const TOKEN: &str = "t";

fn facet(k: &Kit) -> CaseResult<&dyn Flows> {
    k.store
        .flows()
        .ok_or_else(|| TestError::skip("the store has no flows (parent/child jobs)"))
}

fn id(id: &str) -> JobId {
    JobId::from(id)
}

/// A link to job `parent` of `k`'s queue, with `policy`.
fn link(k: &Kit, parent: &str, policy: ChildFailure) -> ParentLink {
    ParentLink::new(k.queue.clone(), id(parent)).on_failure(policy)
}

/// How a parent names job `child` of `k`'s queue.
fn key(k: &Kit, child: &str) -> ChildKey {
    ChildKey::new(k.queue.clone(), id(child))
}

/// A flow node on `k`'s queue with custom id `job` (also its name), followed by `children`.
fn node(k: &Kit, job: &str, children: u32, options: JobOptions) -> FlowNode {
    FlowNode {
        queue: k.queue.clone(),
        job: Kit::job(job, options.job_id(job)),
        children,
    }
}

/// A leaf node on `k`'s queue, a child of `parent`.
fn leaf(k: &Kit, job: &str, parent: ParentLink, options: JobOptions) -> FlowNode {
    node(k, job, 0, options.parent(parent))
}

/// Writes `nodes` in one call at `now`; answers the store's verdict.
async fn try_add_flow(
    k: &Kit,
    nodes: Vec<FlowNode>,
    now: u64,
) -> CaseResult<Result<AddedFlow, Error>> {
    Ok(facet(k)?.flow_add(AddFlow { nodes, now }).await)
}

/// Writes `nodes` in one call at `now`; fails the case unless the store wrote them.
async fn add_flow(k: &Kit, nodes: Vec<FlowNode>, now: u64) -> CaseResult<AddedFlow> {
    Ok(try_add_flow(k, nodes, now).await??)
}

/// Writes parent `p` on `k`'s queue (with `options`) and one leaf per `(id, policy)` on
/// `kids`'s queue, in that order, at `k.t0`.
async fn family(
    k: &Kit,
    kids: &Kit,
    options: JobOptions,
    children: &[(&str, ChildFailure)],
) -> CaseResult<AddedFlow> {
    let count = u32::try_from(children.len()).map_err(|e| TestError::msg(e.to_string()))?;
    let mut nodes = vec![node(k, "p", count, options)];
    for (child, policy) in children {
        nodes.push(leaf(kids, child, link(k, "p", *policy), JobOptions::new()));
    }
    add_flow(k, nodes, k.t0).await
}

/// Adds job `job` on its own (`job_add_bulk`) with custom id `job` and `options`.
async fn add_alone(k: &Kit, job: &str, options: JobOptions, now: u64) -> CaseResult<JobId> {
    k.add_at(job, options.job_id(job), now).await
}

async fn deps(k: &Kit, parent: &str, limit: u64) -> CaseResult<Dependencies> {
    facet(k)?
        .job_dependencies(GetDependencies {
            queue: k.queue.clone(),
            job_id: id(parent),
            limit,
        })
        .await?
        .ok_or_else(|| TestError::msg(format!("job {parent} has no dependencies to read")))
}

/// Fetches the next job of `k`'s queue and fails unless it is `job`.
async fn take(k: &Kit, job: &str, now: u64) -> CaseResult<FetchedJob> {
    let mut fetched = k.fetch(TOKEN, 1, now).await?;
    let got = fetched_ids(&fetched);
    ensure_eq!(got, ids(&[job]), "the next job of {}", k.queue);
    Ok(fetched.jobs.remove(0))
}

/// Fetches `job` (the next of its queue) and completes it with `42`.
async fn run(k: &Kit, job: &str, now: u64) -> CaseResult {
    let fetched = take(k, job, now).await?;
    k.finish(&fetched, TOKEN, completed(), now + 1).await
}

/// Fetches `job` and fails it for good with `boom`.
async fn fail(k: &Kit, job: &str, now: u64) -> CaseResult {
    let fetched = take(k, job, now).await?;
    k.finish(&fetched, TOKEN, failed_for_good(), now + 1).await
}

async fn state(k: &Kit, job: &str) -> CaseResult<JobState> {
    Ok(k.get(&id(job)).await?.state)
}

async fn remove(k: &Kit, job: &str, now: u64) -> oxq_core::Result<bool> {
    k.store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: id(job),
            now,
        })
        .await
        .map(|r| r.existed)
}

fn released(job: &str) -> Event {
    Event::Waiting {
        job_id: id(job),
        prev: Some(JobState::WaitingChildren),
    }
}
