//! Flows and job schedulers with groups as written to Redis: a flow node with a group and the
//! iterations of a scheduler whose template has one sit in their group's keys (`oxq:g:<group>`,
//! `oxq:gdelayed` and `oxq:gd:<group>`; `scripts/include/common.lua`), never in the keys a Node
//! worker takes or promotes jobs from (`wait`, `prioritized`, `delayed`), and a released parent
//! with a group goes to its group (from oxq:gdelayed too, when a child fails it). The pending
//! iteration of such a scheduler is kept by drain and refused by cancel, as a plain one is.
//! What a store does with them is the store contract (`oxq-testkit`, `store::groups::flows`).

mod support;

use std::time::Duration;

use oxq_core::backend::{
    AddFlow, AttemptEnd, CancelJob, Cancellation, DrainQueue, Finish, FinishJobs, FlowNode, Flows,
    JobAt, NewJob, Retry, SchedulerTemplate, Schedulers, UpsertScheduler,
};
use oxq_core::flow::{ChildFailure, ParentLink};
use oxq_core::repeat::iteration_job_id;
use oxq_core::{Backend, Error, JobId, JobOptions, KeepJobs, LockToken, Repeat};
use support::{World, ids, now};

/// How many members Node's keys `wait`, `prioritized` and `delayed` hold.
async fn in_node_keys(w: &World) -> (u64, u64, u64) {
    let wait: u64 = w.cmd(redis::cmd("LLEN").arg(w.key("wait"))).await;
    let prioritized: u64 = w.cmd(redis::cmd("ZCARD").arg(w.key("prioritized"))).await;
    let delayed: u64 = w.cmd(redis::cmd("ZCARD").arg(w.key("delayed"))).await;
    (wait, prioritized, delayed)
}

/// The members of zset `suffix` of the queue.
async fn members(w: &World, suffix: &str) -> Vec<String> {
    w.cmd(redis::cmd("ZRANGE").arg(w.key(suffix)).arg(0).arg(-1))
        .await
}

/// A flow node on the world's queue with custom id `id` (also its name).
fn node_on(w: &World, id: &str, children: u32, options: JobOptions) -> FlowNode {
    FlowNode {
        queue: w.queue.clone(),
        job: NewJob {
            name: id.to_owned(),
            data: "{}".to_owned(),
            options: options.job_id(id),
        },
        children,
    }
}

async fn complete(w: &World, fetched: &oxq_core::backend::Fetched, token: &str) {
    let done = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: fetched
                .jobs
                .iter()
                .map(|job| Finish {
                    job_id: job.record.id.clone(),
                    token: LockToken(token.to_owned()),
                    end: AttemptEnd::Completed {
                        return_value: "1".to_owned(),
                        keep: KeepJobs::All,
                    },
                    memo: job.memo.clone(),
                })
                .collect(),
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(done.items.iter().all(Result::is_ok), "{:?}", done.items);
}

#[tokio::test]
async fn flow_nodes_with_groups_sit_in_their_group_keys_and_the_parent_joins_its_group() {
    let w = World::new().await;
    let parent = ParentLink::new(w.queue.clone(), JobId::from("p"));
    let later = Duration::from_secs(3_600);
    let at = now();
    w.backend
        .flow_add(AddFlow {
            nodes: vec![
                node_on(&w, "p", 2, JobOptions::new().group("pg")),
                node_on(
                    &w,
                    "c1",
                    0,
                    JobOptions::new().group("a").parent(parent.clone()),
                ),
                node_on(
                    &w,
                    "c2",
                    0,
                    JobOptions::new().group("b").delay(later).parent(parent),
                ),
            ],
            now: at,
        })
        .await
        .expect("flow");
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(members(&w, "waiting-children").await, ["p"]);
    assert_eq!(members(&w, "oxq:g:a").await, ["c1"], "c1 runnable in a");
    assert_eq!(members(&w, "oxq:groups").await, ["a"], "only a in the ring");
    assert_eq!(members(&w, "oxq:gdelayed").await, ["c2"], "c2 delayed");
    assert_eq!(members(&w, "oxq:gd:b").await, ["c2"], "c2 delayed in b");
    for (id, group) in [("p", "pg"), ("c1", "a"), ("c2", "b")] {
        assert_eq!(
            w.hash(id).await.get("oxq.group").map(String::as_str),
            Some(group),
            "{id}'s group field"
        );
    }
    let marker: Option<f64> = w
        .cmd(redis::cmd("ZSCORE").arg(w.key("marker")).arg("1"))
        .await;
    assert_eq!(
        marker,
        Some((at + 3_600_000) as f64),
        "the delay marker at c2's due time"
    );

    // the delayed child promoted by hand, then both children run; the parent joins pg
    w.backend
        .job_promote(JobAt {
            queue: w.queue.clone(),
            job_id: JobId::from("c2"),
            now: now(),
        })
        .await
        .expect("promote");
    let children = w.fetch("t", 10).await;
    let mut taken = ids(&children);
    taken.sort();
    assert_eq!(taken, ["c1", "c2"]);
    complete(&w, &children, "t").await;
    assert_eq!(members(&w, "waiting-children").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:g:pg").await, ["p"], "the parent in pg");
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(ids(&w.fetch("t2", 10).await), ["p"]);
}

#[tokio::test]
async fn a_released_parent_with_a_delay_and_a_group_is_delayed_in_its_group() {
    let w = World::new().await;
    w.backend
        .flow_add(AddFlow {
            nodes: vec![
                node_on(
                    &w,
                    "p",
                    1,
                    JobOptions::new()
                        .group("pg")
                        .delay(Duration::from_secs(3_600)),
                ),
                node_on(
                    &w,
                    "c",
                    0,
                    JobOptions::new().parent(ParentLink::new(w.queue.clone(), JobId::from("p"))),
                ),
            ],
            now: now(),
        })
        .await
        .expect("flow");
    let child = w.fetch("t", 1).await;
    assert_eq!(ids(&child), ["c"]);
    complete(&w, &child, "t").await;
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(members(&w, "oxq:gdelayed").await, ["p"]);
    assert_eq!(members(&w, "oxq:gd:pg").await, ["p"]);
    let marker: Option<f64> = w
        .cmd(redis::cmd("ZSCORE").arg(w.key("marker")).arg("1"))
        .await;
    assert!(marker.is_some(), "the delay marker for the parent");
}

/// A parent delayed in its group (released with a delay) that a later child fails under
/// FailParent leaves oxq:gdelayed for its group at once, to fail at its fetch.
#[tokio::test]
async fn a_child_failing_a_delayed_group_parent_moves_it_from_gdelayed_to_its_group() {
    let w = World::new().await;
    let link = ParentLink::new(w.queue.clone(), JobId::from("p"));
    w.backend
        .flow_add(AddFlow {
            nodes: vec![
                node_on(
                    &w,
                    "p",
                    1,
                    JobOptions::new()
                        .group("pg")
                        .delay(Duration::from_secs(3_600)),
                ),
                node_on(&w, "c1", 0, JobOptions::new().parent(link.clone())),
            ],
            now: now(),
        })
        .await
        .expect("flow");
    let c1 = w.fetch("t", 1).await;
    complete(&w, &c1, "t").await;
    assert_eq!(members(&w, "oxq:gdelayed").await, ["p"], "released delayed");
    w.add(
        "c2",
        "{}",
        JobOptions::new()
            .job_id("c2")
            .parent(link.on_failure(ChildFailure::FailParent)),
    )
    .await;
    let c2 = w.fetch("t2", 1).await;
    assert_eq!(ids(&c2), ["c2"]);
    let done = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![Finish {
                job_id: JobId::from("c2"),
                token: LockToken("t2".to_owned()),
                end: AttemptEnd::Failed {
                    reason: "boom".to_owned(),
                    retry: Retry::Never {
                        keep: KeepJobs::All,
                    },
                },
                memo: c2.jobs[0].memo.clone(),
            }],
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(done.items.iter().all(Result::is_ok), "{:?}", done.items);
    assert_eq!(members(&w, "oxq:gdelayed").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:gd:pg").await, Vec::<String>::new());
    assert_eq!(members(&w, "oxq:g:pg").await, ["p"], "the parent in pg");
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert!(
        w.hash("p").await.contains_key("defa"),
        "the parent fails at its fetch"
    );
}

#[tokio::test]
async fn a_schedulers_iterations_with_a_group_sit_in_its_group_keys() {
    let w = World::new().await;
    let at = now();
    w.backend
        .scheduler_upsert(UpsertScheduler {
            queue: w.queue.clone(),
            id: "tick".to_owned(),
            repeat: Repeat::every(Duration::from_secs(3_600)),
            template: SchedulerTemplate {
                name: "beat".to_owned(),
                data: "{}".to_owned(),
                options: JobOptions::new().group("s"),
            },
            now: at,
        })
        .await
        .expect("upsert");
    let first = iteration_job_id("tick", at);
    assert_eq!(members(&w, "oxq:g:s").await, [first.as_str()]);
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
    assert_eq!(
        w.hash(&first).await.get("oxq.group").map(String::as_str),
        Some("s")
    );
    // the pending run is kept by drain and refused by cancel, as a plain one is
    w.backend
        .queue_drain(DrainQueue {
            queue: w.queue.clone(),
            include_delayed: true,
        })
        .await
        .expect("drain");
    assert_eq!(
        members(&w, "oxq:g:s").await,
        [first.as_str()],
        "drain kept it"
    );
    let cancelled = w
        .backend
        .job_cancel(CancelJob {
            queue: w.queue.clone(),
            job_id: JobId(first.clone()),
            now: now(),
        })
        .await;
    assert!(
        matches!(cancelled, Err(Error::Conflict(_))),
        "cancel of the pending run: {cancelled:?}"
    );
    assert_eq!(members(&w, "oxq:g:s").await, [first.as_str()], "still in s");

    let taken = w.fetch("t", 1).await;
    assert_eq!(ids(&taken), [first]);
    let second = iteration_job_id("tick", at + 3_600_000);
    assert_eq!(members(&w, "oxq:gdelayed").await, [second.as_str()]);
    assert_eq!(members(&w, "oxq:gd:s").await, [second]);
    assert_eq!(in_node_keys(&w).await, (0, 0, 0), "nothing in Node's keys");
}
