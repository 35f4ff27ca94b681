//! The [`Flows`] facet: parent/child jobs as the store keeps them. Writing trees (states,
//! atomicity, other queues, depth), a child's completion and final failure under each
//! [`ChildFailure`] policy, releasing a parent (waiting, delayed from the release,
//! prioritized), a parent's own attempt ends (refused completions, `WaitForChildren`), a child
//! added on its own, removal of subtrees and of children, drain, retry, the dependency lists,
//! events and counts. Most cases put the parent on the case's queue and its children on a
//! sibling queue, so each also proves that a child reaches a parent on another queue. Times
//! are explicit `now`s; a store without the facet skips these cases (and a skip fails).

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

/// A flow writes its parent in waiting-children (`added`, `waiting-children`) and each leaf
/// where an add would put it (waiting, delayed, prioritized), each answered with its state;
/// the parent's pending dependencies are its children, by key, and counts show
/// waiting-children.
pub async fn a_flow_writes_its_parent_waiting_for_children_and_leaves_as_added(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let p = link(&k, "p", ChildFailure::Wait);
    let minute = Duration::from_secs(60);
    let added = add_flow(
        &k,
        vec![
            node(&k, "p", 3, JobOptions::new()),
            leaf(&kids, "plain", p.clone(), JobOptions::new()),
            leaf(&kids, "later", p.clone(), JobOptions::new().delay(minute)),
            leaf(&kids, "urgent", p, JobOptions::new().priority(3)),
        ],
        k.t0,
    )
    .await?;
    let answered: Vec<(String, String, JobState)> = added
        .nodes
        .iter()
        .map(|n| (n.queue.name.clone(), n.id.0.clone(), n.state))
        .collect();
    let (q, kq) = (k.queue.name.clone(), kids.queue.name.clone());
    ensure_eq!(
        answered,
        vec![
            (q, "p".to_owned(), JobState::WaitingChildren),
            (kq.clone(), "plain".to_owned(), JobState::Waiting),
            (kq.clone(), "later".to_owned(), JobState::Delayed),
            (kq, "urgent".to_owned(), JobState::Prioritized),
        ],
        "the answer (queue, id, state) per node"
    );
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        kids.get(&id("later")).await?.due_at,
        Some(k.t0 + 60_000),
        "the delayed child's due time"
    );
    ensure_eq!(k.counts().await?.waiting_children, 1, "waiting-children");
    let kid_counts = kids.counts().await?;
    ensure_eq!(
        (
            kid_counts.waiting,
            kid_counts.delayed,
            kid_counts.prioritized
        ),
        (1, 1, 1),
        "children (waiting, delayed, prioritized)"
    );
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.pending,
        vec![
            key(&kids, "later"),
            key(&kids, "plain"),
            key(&kids, "urgent")
        ],
        "pending dependencies, by key"
    );
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 3,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    ensure_eq!(
        k.job_events(&id("p")).await?,
        vec![
            Event::Added {
                job_id: id("p"),
                name: "p".into()
            },
            Event::WaitingChildren { job_id: id("p") },
        ],
        "the parent's events"
    );
    Ok(())
}

/// A flow is written whole or not at all: a node whose id exists refuses the call with
/// `Conflict`, a root whose parent does not exist with `ParentNotFound`, and neither leaves a
/// job or an event behind (not even of the nodes before the refused one).
pub async fn a_flow_with_an_existing_id_or_a_missing_parent_writes_nothing(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "taken", JobOptions::new(), k.t0).await?;
    let p = link(&k, "p", ChildFailure::Wait);
    let clash = try_add_flow(
        &k,
        vec![
            node(&k, "p", 2, JobOptions::new()),
            leaf(&kids, "c", p.clone(), JobOptions::new()),
            leaf(&k, "taken", p, JobOptions::new()),
        ],
        k.t0 + 1,
    )
    .await?;
    expect_err(clash, "Conflict for an existing id", |e| {
        matches!(e, Error::Conflict(_))
    })?;
    let ghost = link(&k, "ghost", ChildFailure::Wait);
    let orphan = try_add_flow(
        &k,
        vec![
            node(&k, "r", 1, JobOptions::new().parent(ghost.clone())),
            leaf(
                &kids,
                "rc",
                link(&k, "r", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0 + 2,
    )
    .await?;
    let missing = ghost.key().to_string();
    expect_err(
        orphan,
        "ParentNotFound naming the parent",
        |e| matches!(e, Error::ParentNotFound { parent } if *parent == missing),
    )?;
    ensure_eq!(k.counts().await?.total(), 1, "jobs of the parent's queue");
    ensure_eq!(
        kids.counts().await?.total(),
        0,
        "jobs of the children's queue"
    );
    for job in ["p", "r"] {
        ensure!(
            k.job_events(&id(job)).await?.is_empty(),
            "a refused flow left events of {job}"
        );
    }
    ensure!(
        kids.events().await?.is_empty(),
        "a refused flow left events on the children's queue"
    );
    Ok(())
}

/// Children on the parent's own queue run first (the parent is not runnable), and the parent
/// runs once both completed.
pub async fn children_on_the_parents_queue_run_before_it(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    family(
        &k,
        &k,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    run(&k, "c1", k.t0 + 10).await?;
    run(&k, "c2", k.t0 + 20).await?;
    take(&k, "p", k.t0 + 30).await?;
    Ok(())
}

/// A tree three deep: the leaf runs first, then the middle job (on another queue), then the
/// root; each parent is released only when its own child completed.
pub async fn a_tree_three_deep_is_released_one_level_at_a_time(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let mid = k.sibling(h, "mid")?;
    let added = add_flow(
        &k,
        vec![
            node(&k, "root", 1, JobOptions::new()),
            node(
                &mid,
                "m",
                1,
                JobOptions::new().parent(link(&k, "root", ChildFailure::Wait)),
            ),
            leaf(
                &k,
                "leaf",
                link(&mid, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0,
    )
    .await?;
    let states: Vec<JobState> = added.nodes.iter().map(|n| n.state).collect();
    ensure_eq!(
        states,
        vec![
            JobState::WaitingChildren,
            JobState::WaitingChildren,
            JobState::Waiting
        ],
        "states of root, middle, leaf"
    );
    run(&k, "leaf", k.t0 + 10).await?;
    ensure_eq!(
        state(&mid, "m").await?,
        JobState::Waiting,
        "middle after the leaf"
    );
    ensure_eq!(
        state(&k, "root").await?,
        JobState::WaitingChildren,
        "root after the leaf"
    );
    run(&mid, "m", k.t0 + 20).await?;
    ensure_eq!(
        deps(&k, "root", 10).await?.processed,
        vec![(key(&mid, "m"), "42".to_owned())],
        "root's processed children"
    );
    take(&k, "root", k.t0 + 30).await?;
    Ok(())
}

/// A completed child moves from pending to processed with its return value, which survives
/// the child's own removal on completion; the parent waits for the others, and the last one
/// releases it to the front of its queue's waiting jobs with `waiting{prev:
/// waiting-children}`.
pub async fn a_completed_child_moves_its_value_to_processed_and_the_last_releases_the_parent(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    add_alone(&k, "other", JobOptions::new(), k.t0 + 1).await?;
    let c1 = take(&kids, "c1", k.t0 + 10).await?;
    kids.finish(&c1, TOKEN, completed_keeping(KeepJobs::None), k.t0 + 11)
        .await?;
    ensure!(
        kids.try_get(&id("c1")).await?.is_none(),
        "the child kept no record, yet it is stored"
    );
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.processed,
        vec![(key(&kids, "c1"), "42".to_owned())],
        "processed"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        (d.counts.processed, d.counts.pending),
        (2, 0),
        "(processed, pending)"
    );
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    take(&k, "p", k.t0 + 30).await?;
    Ok(())
}

/// A parent with a delay is released to delayed, due that delay after the release (not after
/// it was written), with a `delayed` event, and runs no earlier.
pub async fn a_released_parent_with_a_delay_is_due_that_long_after_the_release(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let delay = Duration::from_secs(5);
    family(
        &k,
        &kids,
        JobOptions::new().delay(delay),
        &[("c", ChildFailure::Wait)],
    )
    .await?;
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    let c = take(&kids, "c", k.t0 + 100).await?;
    kids.finish(&c, TOKEN, completed(), k.t0 + 1_000).await?;
    let due = k.t0 + 6_000;
    let parent = k.get(&id("p")).await?;
    ensure_eq!(
        (parent.state, parent.due_at),
        (JobState::Delayed, Some(due)),
        "parent (state, due)"
    );
    ensure_eq!(
        k.last_event(&id("p")).await?,
        Event::Delayed {
            job_id: id("p"),
            due_at: due
        },
        "parent's event"
    );
    ensure!(
        k.fetch(TOKEN, 1, due - 1).await?.jobs.is_empty(),
        "the parent ran before its delay ended"
    );
    take(&k, "p", due).await?;
    Ok(())
}

/// A parent with a priority is released to prioritized.
pub async fn a_released_parent_with_a_priority_is_prioritized(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new().priority(2),
        &[("c", ChildFailure::Wait)],
    )
    .await?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Prioritized, "parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}

/// `Wait` (the default): a child that failed for good stays a pending dependency and its
/// parent keeps waiting.
pub async fn a_failed_child_that_waits_keeps_its_parent_waiting(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Wait)]).await?;
    fail(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&kids, "c").await?, JobState::Failed, "child");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c")], "pending");
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 1,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    Ok(())
}

/// `FailParent`: the child moves to the parent's failed children, and the parent, released at
/// once although another child is pending, is handed out with the deferred failure `child
/// <key> failed`.
pub async fn a_failed_child_that_fails_its_parent_releases_it_to_fail(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::FailParent), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.failed, vec![key(&kids, "c1")], "failed children");
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    let reason = format!("child {} failed", key(&kids, "c1"));
    let parent = k.get(&id("p")).await?;
    ensure_eq!(parent.state, JobState::Waiting, "parent");
    ensure_eq!(
        parent.deferred_failure.as_deref(),
        Some(reason.as_str()),
        "parent's deferred failure"
    );
    let fetched = take(&k, "p", k.t0 + 20).await?;
    ensure_eq!(
        fetched.record.deferred_failure.as_deref(),
        Some(reason.as_str()),
        "the fetched parent's deferred failure"
    );
    Ok(())
}

/// `FailParent` on a parent that waits in delayed (added on its own, with a delay) makes it
/// runnable now, to fail.
pub async fn a_child_failing_its_delayed_parent_makes_it_runnable_now(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let minute = Duration::from_secs(60);
    add_alone(&k, "p", JobOptions::new().delay(minute), k.t0).await?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 1).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Delayed, "parent before");
    fail(&kids, "c", k.t0 + 10).await?;
    let fetched = take(&k, "p", k.t0 + 20).await?;
    ensure!(
        fetched.record.deferred_failure.is_some(),
        "the parent was handed out without its deferred failure"
    );
    Ok(())
}

/// `Ignore`: the child moves to the parent's ignored children with its failure reason; the
/// parent waits for the others and is released when the last completes.
pub async fn a_failed_child_that_is_ignored_records_its_reason(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Ignore), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "c1"), "boom".to_owned())],
        "ignored children"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// `Remove`: the child is dropped from the parent's dependencies and recorded nowhere; the
/// parent is released when its other child completes.
pub async fn a_failed_child_that_is_removed_leaves_no_trace(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Remove), ("c2", ChildFailure::Wait)],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(
        d.counts,
        DependencyCounts {
            pending: 1,
            ..DependencyCounts::default()
        },
        "dependency counts"
    );
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    run(&kids, "c2", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// `ContinueParent`: the failure is recorded as ignored and the parent is released at once,
/// although another child is pending (so it cannot complete yet).
pub async fn a_failed_child_that_continues_its_parent_releases_it_at_once(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[
            ("c1", ChildFailure::ContinueParent),
            ("c2", ChildFailure::Wait),
        ],
    )
    .await?;
    fail(&kids, "c1", k.t0 + 10).await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "c1"), "boom".to_owned())],
        "ignored children"
    );
    ensure_eq!(d.pending, vec![key(&kids, "c2")], "pending");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}

/// A child whose failed attempt is retried stays pending, and its parent waiting; its later
/// completion releases the parent.
pub async fn a_retried_child_keeps_its_parent_waiting(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_flow(
        &k,
        vec![
            node(&k, "p", 1, JobOptions::new()),
            leaf(&kids, "c", p, JobOptions::new().attempts(2)),
        ],
        k.t0,
    )
    .await?;
    let c = take(&kids, "c", k.t0 + 10).await?;
    kids.finish(&c, TOKEN, failed(Retry::Now), k.t0 + 11)
        .await?;
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c")],
        "pending"
    );
    run(&kids, "c", k.t0 + 20).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    Ok(())
}

/// A parent's completion while a child is pending is refused for that item with
/// `PendingDependencies`; the parent stays active under its lock, its attempt uncounted.
pub async fn a_parent_cannot_complete_while_a_child_is_pending(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    let verdict = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 3)
        .await?
        .remove(0);
    expect_err(
        verdict,
        "PendingDependencies with 1 pending",
        |e| matches!(e, Error::PendingDependencies { job_id, pending: 1 } if job_id == "p"),
    )?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::Active, 0),
        "parent (state, attempts made)"
    );
    k.finish(&parent, TOKEN, failed_for_good(), k.t0 + 4)
        .await?;
    Ok(())
}

/// A parent's completion after a `FailParent` child failed is refused for that item with
/// `FailedDependency` naming the child; the parent stays active under its lock.
pub async fn a_parent_with_a_failed_child_cannot_complete(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    let p = link(&k, "p", ChildFailure::FailParent);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 2).await?;
    fail(&kids, "c", k.t0 + 3).await?;
    let verdict = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 5)
        .await?
        .remove(0);
    let child = key(&kids, "c").to_string();
    expect_err(
        verdict,
        "FailedDependency naming the child",
        |e| matches!(e, Error::FailedDependency { job_id, child: c } if job_id == "p" && *c == child),
    )?;
    ensure_eq!(state(&k, "p").await?, JobState::Active, "parent");
    k.finish(&parent, TOKEN, failed_for_good(), k.t0 + 6)
        .await?;
    Ok(())
}

/// `WaitForChildren` with a child pending moves the parent to waiting-children (`waiting-
/// children` event), releases its lock and does not count the attempt; the child's completion
/// releases it.
pub async fn waiting_for_children_parks_the_parent_until_they_are_done(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    k.finish(&parent, TOKEN, AttemptEnd::WaitForChildren, k.t0 + 3)
        .await?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::WaitingChildren, 0),
        "parent (state, attempts made)"
    );
    ensure_eq!(
        k.last_event(&id("p")).await?,
        Event::WaitingChildren { job_id: id("p") },
        "parent's event"
    );
    let again = k
        .finish_many(vec![(&parent, TOKEN, completed())], k.t0 + 4)
        .await?
        .remove(0);
    expect_err(again, "LockLost: the lock was released", |e| {
        matches!(e, Error::LockLost(_))
    })?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    Ok(())
}

/// `WaitForChildren` with nothing pending puts the parent back at the front of the line,
/// its lock released and the attempt not counted.
pub async fn waiting_for_children_with_none_pending_runs_the_parent_again_first(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_alone(&k, "p", JobOptions::new(), k.t0).await?;
    let parent = take(&k, "p", k.t0 + 1).await?;
    add_alone(
        &kids,
        "c",
        JobOptions::new().parent(link(&k, "p", ChildFailure::Wait)),
        k.t0 + 2,
    )
    .await?;
    run(&kids, "c", k.t0 + 3).await?;
    add_alone(&k, "other", JobOptions::new(), k.t0 + 4).await?;
    k.finish(&parent, TOKEN, AttemptEnd::WaitForChildren, k.t0 + 5)
        .await?;
    let record = k.get(&id("p")).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::Waiting, 0),
        "parent (state, attempts made)"
    );
    take(&k, "p", k.t0 + 6).await?;
    Ok(())
}

/// A child added on its own (`job_add_bulk` with `options.parent`) needs its parent: a
/// missing one refuses the whole call with `ParentNotFound`. An existing parent is not moved
/// (it stays waiting) and has the child as a pending dependency.
pub async fn a_child_added_on_its_own_needs_its_parent_and_does_not_move_it(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let ghost = link(&k, "ghost", ChildFailure::Wait);
    let refused = kids
        .store
        .job_add_bulk(AddJobs {
            queue: kids.queue.clone(),
            jobs: vec![
                Kit::job("fine", JobOptions::new()),
                Kit::job("orphan", JobOptions::new().parent(ghost.clone())),
            ],
            now: k.t0,
        })
        .await;
    let missing = ghost.key().to_string();
    expect_err(
        refused,
        "ParentNotFound naming the parent",
        |e| matches!(e, Error::ParentNotFound { parent } if *parent == missing),
    )?;
    ensure_eq!(kids.counts().await?.total(), 0, "jobs written");
    add_alone(&k, "p", JobOptions::new(), k.t0 + 1).await?;
    let p = link(&k, "p", ChildFailure::Wait);
    add_alone(&kids, "c", JobOptions::new().parent(p), k.t0 + 2).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c")],
        "pending"
    );
    Ok(())
}

/// Removing a parent removes its whole subtree, on every queue and whatever each job's state
/// (a processed child included), with a `removed` event per job on its own queue.
pub async fn removing_a_parent_removes_its_subtree(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    let root = link(&k, "root", ChildFailure::Wait);
    add_flow(
        &k,
        vec![
            node(&k, "root", 2, JobOptions::new()),
            node(&kids, "m", 1, JobOptions::new().parent(root.clone())),
            leaf(
                &k,
                "leaf",
                link(&kids, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
            leaf(&kids, "done", root, JobOptions::new()),
        ],
        k.t0,
    )
    .await?;
    run(&kids, "done", k.t0 + 10).await?;
    ensure!(
        remove(&k, "root", k.t0 + 20).await?,
        "removing the root found nothing"
    );
    for (kit, job) in [(&k, "root"), (&kids, "m"), (&k, "leaf"), (&kids, "done")] {
        ensure!(
            kit.try_get(&id(job)).await?.is_none(),
            "job {job} survived its ancestor's removal"
        );
        ensure!(
            matches!(kit.last_event(&id(job)).await?, Event::Removed { .. }),
            "no `removed` event for job {job}"
        );
    }
    ensure_eq!(
        k.counts().await?.total(),
        0,
        "jobs left on the root's queue"
    );
    ensure_eq!(
        kids.counts().await?.total(),
        0,
        "jobs left on the children's queue"
    );
    let gone = facet(&k)?
        .job_dependencies(GetDependencies {
            queue: k.queue.clone(),
            job_id: id("root"),
            limit: 10,
        })
        .await?;
    ensure!(
        gone.is_none(),
        "a removed parent still has dependencies: {gone:?}"
    );
    Ok(())
}

/// Removing a parent while a job of its subtree is held by a worker is a `Conflict` and
/// removes nothing.
pub async fn removing_a_parent_is_refused_while_a_descendant_is_held(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    add_flow(
        &k,
        vec![
            node(&k, "root", 1, JobOptions::new()),
            node(
                &kids,
                "m",
                1,
                JobOptions::new().parent(link(&k, "root", ChildFailure::Wait)),
            ),
            leaf(
                &k,
                "leaf",
                link(&kids, "m", ChildFailure::Wait),
                JobOptions::new(),
            ),
        ],
        k.t0,
    )
    .await?;
    // The fetch's lock (30 s from the real time the case began) is alive for the whole case.
    take(&k, "leaf", k.t0 + 1).await?;
    expect_err(remove(&k, "root", k.t0 + 2).await, "Conflict", |e| {
        matches!(e, Error::Conflict(_))
    })?;
    ensure_eq!(state(&k, "root").await?, JobState::WaitingChildren, "root");
    ensure_eq!(
        state(&kids, "m").await?,
        JobState::WaitingChildren,
        "middle"
    );
    ensure_eq!(state(&k, "leaf").await?, JobState::Active, "leaf");
    Ok(())
}

/// Removing a child drops it from its parent's pending dependencies; removing the last one
/// releases the parent (`waiting{prev: waiting-children}`).
pub async fn removing_a_child_releases_its_parent_when_it_was_the_last(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    ensure!(remove(&kids, "c1", k.t0 + 1).await?, "c1 was not found");
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.pending,
        vec![key(&kids, "c2")],
        "pending"
    );
    ensure!(remove(&kids, "c2", k.t0 + 2).await?, "c2 was not found");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        k.last_event(&id("p")).await?,
        released("p"),
        "parent's event"
    );
    ensure_eq!(
        deps(&k, "p", 10).await?.counts.pending,
        0,
        "pending after both removals"
    );
    Ok(())
}

/// Draining the children's queue removes them from their parent's dependencies, which
/// releases the parent.
pub async fn draining_the_childrens_queue_releases_their_parent(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[("c1", ChildFailure::Wait), ("c2", ChildFailure::Wait)],
    )
    .await?;
    let drained = k
        .store
        .queue_drain(DrainQueue {
            queue: kids.queue.clone(),
            include_delayed: false,
        })
        .await?;
    ensure_eq!(drained.count, 2, "children drained");
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        deps(&k, "p", 10).await?.counts.pending,
        0,
        "pending after the drain"
    );
    Ok(())
}

/// Retrying a completed child makes it a pending dependency again (its processed value is
/// forgotten); the parent, already released, is not moved back.
pub async fn retrying_a_completed_child_makes_it_pending_again(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Wait)]).await?;
    run(&kids, "c", k.t0 + 10).await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    kids.store
        .job_retry(JobAt {
            queue: kids.queue.clone(),
            job_id: id("c"),
            now: k.t0 + 20,
        })
        .await?;
    let d = deps(&k, "p", 10).await?;
    ensure_eq!(d.pending, vec![key(&kids, "c")], "pending");
    ensure!(d.processed.is_empty(), "processed: {:?}", d.processed);
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "parent");
    Ok(())
}

/// `job_dependencies` lists at most `limit` of each kind, by key, with whole counts; an
/// unknown job has none (`None`).
pub async fn dependencies_are_listed_up_to_the_limit_with_whole_counts(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(
        &k,
        &kids,
        JobOptions::new(),
        &[
            ("a", ChildFailure::Wait),
            ("b", ChildFailure::Wait),
            ("c", ChildFailure::Wait),
            ("d", ChildFailure::Wait),
            ("e", ChildFailure::Ignore),
        ],
    )
    .await?;
    let fetched = kids.fetch(TOKEN, 5, k.t0 + 10).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        ids(&["a", "b", "c", "d", "e"]),
        "children fetched"
    );
    let mut items = Vec::new();
    for job in &fetched.jobs {
        match job.record.id.as_str() {
            "d" => {}
            "e" => items.push((job, TOKEN, failed_for_good())),
            _ => items.push((job, TOKEN, completed())),
        }
    }
    for verdict in kids.finish_many(items, k.t0 + 11).await? {
        verdict?;
    }
    let d = deps(&k, "p", 2).await?;
    ensure_eq!(
        d.processed,
        vec![
            (key(&kids, "a"), "42".to_owned()),
            (key(&kids, "b"), "42".to_owned())
        ],
        "processed, limited"
    );
    ensure_eq!(d.pending, vec![key(&kids, "d")], "pending");
    ensure_eq!(
        d.ignored,
        vec![(key(&kids, "e"), "boom".to_owned())],
        "ignored"
    );
    ensure_eq!(
        d.counts,
        DependencyCounts {
            processed: 3,
            pending: 1,
            ignored: 1,
            failed: 0
        },
        "counts"
    );
    let unknown = facet(&k)?
        .job_dependencies(GetDependencies {
            queue: k.queue.clone(),
            job_id: id("nope"),
            limit: 10,
        })
        .await?;
    ensure!(
        unknown.is_none(),
        "an unknown job has dependencies: {unknown:?}"
    );
    Ok(())
}

/// A child's stored options read back with its parent link and failure policy, whether a flow
/// wrote it or it was added on its own.
pub async fn a_childs_parent_link_reads_back_with_its_policy(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kids = k.sibling(h, "kids")?;
    family(&k, &kids, JobOptions::new(), &[("c", ChildFailure::Ignore)]).await?;
    ensure_eq!(
        kids.get(&id("c")).await?.options.parent,
        Some(link(&k, "p", ChildFailure::Ignore)),
        "the flow's child"
    );
    let p = link(&k, "p", ChildFailure::ContinueParent);
    add_alone(
        &kids,
        "alone",
        JobOptions::new().parent(p.clone()),
        k.t0 + 1,
    )
    .await?;
    ensure_eq!(
        kids.get(&id("alone")).await?.options.parent,
        Some(p),
        "the child added on its own"
    );
    Ok(())
}
