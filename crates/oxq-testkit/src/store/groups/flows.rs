//! Flows and job schedulers with groups: a flow node with a group waits in its group on its
//! own queue (runnable, or delayed and then promoted into it), a parent with a group goes to
//! its group when released (its last child completed, a child failed under a policy that
//! releases it, a child removed), and the iterations of a scheduler whose template has a group
//! run in that group. Each case checks a job in its group by pausing the group: a job left
//! outside it (in the plain line) would still be fetched.
//!
//! Times are explicit `now`s; a store without flows or schedulers fails these cases.

use std::time::Duration;

use oxq_core::backend::{
    AddFlow, DrainQueue, FlowNode, Flows, GetScheduler, GroupChange, RemoveJob, RemoveScheduler,
    SchedulerTemplate, Schedulers, UpsertScheduler,
};
use oxq_core::flow::{ChildFailure, ParentLink};
use oxq_core::repeat::iteration_job_id;
use oxq_core::{JobId, JobOptions, JobState, Repeat};

use super::moves::held_by_its_paused_group;
use super::{change, info, one};
use crate::store::kit::{Kit, completed, failed_for_good, fetched_ids, ids};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn flows(k: &Kit) -> CaseResult<&dyn Flows> {
    k.store
        .flows()
        .ok_or_else(|| TestError::msg(format!("the {} store has no flows", k.store.kind())))
}

fn schedulers(k: &Kit) -> CaseResult<&dyn Schedulers> {
    k.store.schedulers().ok_or_else(|| {
        TestError::msg(format!(
            "the {} store has no job schedulers",
            k.store.kind()
        ))
    })
}

/// A node on `k`'s queue with custom id `job` (also its name), followed by `children`.
fn node(k: &Kit, job: &str, children: u32, options: JobOptions) -> FlowNode {
    FlowNode {
        queue: k.queue.clone(),
        job: Kit::job(job, options.job_id(job)),
        children,
    }
}

/// A link to job `parent` of `k`'s queue, with `policy`.
fn link(k: &Kit, parent: &str, policy: ChildFailure) -> ParentLink {
    ParentLink::new(k.queue.clone(), JobId::from(parent)).on_failure(policy)
}

async fn add_flow(k: &Kit, nodes: Vec<FlowNode>, now: u64) -> CaseResult {
    flows(k)?.flow_add(AddFlow { nodes, now }).await?;
    Ok(())
}

async fn state(k: &Kit, job: &str) -> CaseResult<JobState> {
    Ok(k.get(&JobId::from(job)).await?.state)
}

/// A parent of group `pg` on the case's queue and its children of groups `a` and `b` on a
/// sibling queue: each child waits in its group on its own queue (with `a` paused only `b`'s
/// child runs), and once both completed the parent waits in `pg` (held while `pg` is paused).
pub async fn a_flows_children_and_parent_run_in_their_groups(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let kids = k.sibling(h, "kids")?;
    add_flow(
        &k,
        vec![
            node(&k, "p", 2, JobOptions::new().group("pg")),
            node(
                &kids,
                "c1",
                0,
                JobOptions::new()
                    .group("a")
                    .parent(link(&k, "p", ChildFailure::Wait)),
            ),
            node(
                &kids,
                "c2",
                0,
                JobOptions::new()
                    .group("b")
                    .parent(link(&k, "p", ChildFailure::Wait)),
            ),
        ],
        k.t0,
    )
    .await?;
    ensure_eq!(state(&k, "p").await?, JobState::WaitingChildren, "parent");
    ensure_eq!(
        info(&kids, "a", k.t0).await?.waiting,
        1,
        "c1 waits in group a of its queue"
    );
    change(&kids, one("a"), GroupChange::Pause).await?;
    let c2 = kids.fetch("t1", 10, k.t0).await?;
    ensure_eq!(
        fetched_ids(&c2),
        ids(&["c2"]),
        "only c2 while group a is paused"
    );
    ensure_eq!(
        c2.jobs[0].record.options.group.as_deref(),
        Some("b"),
        "c2's group as fetched"
    );
    change(&kids, one("a"), GroupChange::Resume).await?;
    let c1 = kids.fetch("t2", 10, k.t0).await?;
    ensure_eq!(fetched_ids(&c1), ids(&["c1"]), "c1 once a is resumed");
    kids.finish(&c2.jobs[0], "t1", completed(), k.t0 + 1)
        .await?;
    ensure_eq!(
        state(&k, "p").await?,
        JobState::WaitingChildren,
        "parent with c1 pending"
    );
    kids.finish(&c1.jobs[0], "t2", completed(), k.t0 + 2)
        .await?;
    ensure_eq!(state(&k, "p").await?, JobState::Waiting, "released parent");
    ensure_eq!(
        info(&k, "pg", k.t0 + 2).await?.waiting,
        1,
        "the parent waits in group pg"
    );
    held_by_its_paused_group(&k, "pg", k.t0 + 3, &["p"]).await?;
    Ok(())
}

/// A delayed child of group `a` is delayed in its group and promoted into it when due; its
/// parent of group `pg`, released with a delay, is delayed in `pg` that long after the release
/// and promoted into `pg`.
pub async fn delayed_flow_nodes_wait_delayed_in_their_groups(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let kids = k.sibling(h, "kids")?;
    add_flow(
        &k,
        vec![
            node(
                &k,
                "p",
                1,
                JobOptions::new().group("pg").delay(Duration::from_secs(5)),
            ),
            node(
                &kids,
                "c",
                0,
                JobOptions::new()
                    .group("a")
                    .delay(Duration::from_secs(2))
                    .parent(link(&k, "p", ChildFailure::Wait)),
            ),
        ],
        k.t0,
    )
    .await?;
    ensure_eq!(
        info(&kids, "a", k.t0).await?.delayed,
        1,
        "c is delayed in group a"
    );
    ensure_eq!(
        kids.counts().await?.delayed,
        1,
        "the queue counts c delayed"
    );
    ensure!(
        kids.fetch("early", 10, k.t0 + 1_999).await?.jobs.is_empty(),
        "c ran before its delay ended"
    );
    let c = held_by_its_paused_group(&kids, "a", k.t0 + 2_000, &["c"]).await?;
    let released = k.t0 + 2_100;
    kids.finish(&c.jobs[0], "freed", completed(), released)
        .await?;
    let due = released + 5_000;
    let parent = k.get(&JobId::from("p")).await?;
    ensure_eq!(
        (parent.state, parent.due_at),
        (JobState::Delayed, Some(due)),
        "parent (state, due) after its release"
    );
    ensure_eq!(
        info(&k, "pg", released).await?.delayed,
        1,
        "the parent is delayed in group pg"
    );
    ensure!(
        k.fetch("early", 10, due - 1).await?.jobs.is_empty(),
        "the parent ran before its delay ended"
    );
    held_by_its_paused_group(&k, "pg", due, &["p"]).await?;
    Ok(())
}

/// Parents of group `pg` released other ways than by a last completion go to `pg` too: one
/// whose only child failed under `Ignore`, one whose child failed under `ContinueParent` while
/// another was pending, one whose only child was removed.
pub async fn parents_released_by_failures_and_removals_go_to_their_group(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    let kids = k.sibling(h, "kids")?;
    let group = || JobOptions::new().group("pg");
    let child = |job: &str, parent: &str, policy| {
        node(
            &kids,
            job,
            0,
            JobOptions::new().parent(link(&k, parent, policy)),
        )
    };
    add_flow(
        &k,
        vec![
            node(&k, "p1", 1, group()),
            child("c1", "p1", ChildFailure::Ignore),
            node(&k, "p2", 2, group()),
            child("c2", "p2", ChildFailure::ContinueParent),
            child("c3", "p2", ChildFailure::Wait),
            node(&k, "p3", 1, group()),
            child("c4", "p3", ChildFailure::Wait),
        ],
        k.t0,
    )
    .await?;
    let taken = kids.fetch("t", 2, k.t0).await?;
    ensure_eq!(
        fetched_ids(&taken),
        ids(&["c1", "c2"]),
        "the failing children"
    );
    for job in &taken.jobs {
        kids.finish(job, "t", failed_for_good(), k.t0 + 1).await?;
    }
    kids.store
        .job_remove(RemoveJob {
            queue: kids.queue.clone(),
            job_id: JobId::from("c4"),
            now: k.t0 + 2,
        })
        .await?;
    for parent in ["p1", "p2", "p3"] {
        ensure_eq!(state(&k, parent).await?, JobState::Waiting, "{parent}");
    }
    ensure_eq!(
        info(&k, "pg", k.t0 + 2).await?.waiting,
        3,
        "every released parent waits in group pg"
    );
    change(&k, one("pg"), GroupChange::Pause).await?;
    ensure_eq!(
        k.fetch_ids("held", 10, k.t0 + 3).await?,
        Vec::<String>::new(),
        "nothing runs while group pg is paused"
    );
    change(&k, one("pg"), GroupChange::Resume).await?;
    let mut freed = k.fetch_ids("freed", 10, k.t0 + 3).await?;
    freed.sort();
    ensure_eq!(
        freed,
        ids(&["p1", "p2", "p3"]),
        "the parents after pg's resume"
    );
    Ok(())
}

/// A scheduler whose template has group `s`: its first iteration waits in `s` (and survives a
/// drain, as a pending run does), the next one, created when the first is taken, is delayed in
/// `s` and promoted into it when due, and removing the scheduler removes the pending one from
/// `s`.
pub async fn a_schedulers_iterations_run_in_its_templates_group(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = schedulers(&k)?;
    let every = 1_000;
    let t = (k.t0 / every + 1) * every;
    let template = SchedulerTemplate {
        name: "beat".to_owned(),
        data: "{}".to_owned(),
        options: JobOptions::new().group("s"),
    };
    let upsert = |now| UpsertScheduler {
        queue: k.queue.clone(),
        id: "tick".to_owned(),
        repeat: Repeat::every(Duration::from_millis(every)),
        template: template.clone(),
        now,
    };
    s.scheduler_upsert(upsert(t)).await?;
    // the same rule again replaces the pending iteration (out of the group's keys)
    let answered = s.scheduler_upsert(upsert(t)).await?;
    ensure_eq!(answered.next_run, Some(t), "next run");
    let stored = s
        .scheduler_get(GetScheduler {
            queue: k.queue.clone(),
            id: "tick".to_owned(),
        })
        .await?
        .ok_or_else(|| TestError::msg("scheduler tick is not stored"))?;
    ensure_eq!(
        stored.template.options.group.as_deref(),
        Some("s"),
        "the template's group read back"
    );
    let first = iteration_job_id("tick", t);
    let record = k.get(&JobId(first.clone())).await?;
    ensure_eq!(
        (record.state, record.options.group.as_deref()),
        (JobState::Waiting, Some("s")),
        "the first iteration (state, group)"
    );
    ensure_eq!(
        info(&k, "s", t).await?.waiting,
        1,
        "one iteration waits in group s"
    );
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;
    ensure_eq!(
        info(&k, "s", t).await?.waiting,
        1,
        "the pending iteration survives a drain"
    );
    held_by_its_paused_group(&k, "s", t, &[first.as_str()]).await?;
    let second = iteration_job_id("tick", t + every);
    ensure_eq!(
        state(&k, &second).await?,
        JobState::Delayed,
        "the next iteration"
    );
    ensure_eq!(
        info(&k, "s", t).await?.delayed,
        1,
        "the next iteration is delayed in group s"
    );
    ensure!(
        k.fetch("early", 10, t + every - 1).await?.jobs.is_empty(),
        "the next iteration ran early"
    );
    held_by_its_paused_group(&k, "s", t + every, &[second.as_str()]).await?;
    ensure_eq!(
        info(&k, "s", t + every).await?.delayed,
        1,
        "the third iteration is delayed in group s"
    );
    let removed = s
        .scheduler_remove(RemoveScheduler {
            queue: k.queue.clone(),
            id: "tick".to_owned(),
            now: t + every,
        })
        .await?;
    ensure!(removed.existed, "the scheduler existed");
    let third = JobId(iteration_job_id("tick", t + 2 * every));
    ensure!(
        k.try_get(&third).await?.is_none(),
        "the pending iteration was removed with its scheduler"
    );
    ensure_eq!(
        info(&k, "s", t + every).await?.delayed,
        0,
        "nothing left delayed in group s"
    );
    Ok(())
}
