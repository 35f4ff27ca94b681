//! Flows as written to Redis: the fields and keys Node's BullMQ reads for a tree oxq writes
//! (`parentKey`, `parent`, `opts.parent` with the policy flag, `:dependencies`,
//! `waiting-children`), and what the children check costs a completion of plain jobs. What a
//! store does with flows is the store contract (`oxq-testkit`, `store::flows`).

mod support;

use oxq_core::backend::{AddFlow, AttemptEnd, Finish, FinishJobs, FlowNode, Flows, NewJob};
use oxq_core::{
    Backend, ChildFailure, JobId, JobOptions, KeepJobs, LockToken, ParentLink, QueueRef,
};
use serde_json::{Value, json};
use support::{World, now};

fn node(queue: &QueueRef, id: &str, children: u32, options: JobOptions) -> FlowNode {
    FlowNode {
        queue: queue.clone(),
        job: NewJob {
            name: id.to_owned(),
            data: r#"{"n":1}"#.to_owned(),
            options: options.job_id(id),
        },
        children,
    }
}

fn json_field(hash: &std::collections::HashMap<String, String>, field: &str) -> Value {
    let text = hash
        .get(field)
        .unwrap_or_else(|| panic!("no `{field}` field in {hash:?}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("`{field}` is not JSON ({e}): {text}"))
}

#[tokio::test]
async fn a_flow_is_written_in_bullmqs_layout() {
    let w = World::new().await;
    let kids = QueueRef::with_prefix(w.queue.prefix.clone(), "kids").expect("queue");
    let parent = ParentLink::new(w.queue.clone(), JobId::from("root"));
    w.backend
        .flow_add(AddFlow {
            nodes: vec![
                node(&w.queue, "root", 2, JobOptions::new().priority(4)),
                node(
                    &kids,
                    "a",
                    0,
                    JobOptions::new().parent(parent.clone().on_failure(ChildFailure::FailParent)),
                ),
                node(&kids, "b", 0, JobOptions::new().parent(parent)),
            ],
            now: 1_000,
        })
        .await
        .expect("flow");

    let root_key = w.key("root");
    let child_key = |id: &str| format!("{}:kids:{id}", w.queue.prefix);
    let waiting: Vec<(String, f64)> = w
        .cmd(
            redis::cmd("ZRANGE")
                .arg(w.key("waiting-children"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await;
    assert_eq!(
        waiting,
        vec![("root".to_owned(), 1_000.0)],
        "waiting-children"
    );
    let mut deps: Vec<String> = w
        .cmd(redis::cmd("SMEMBERS").arg(format!("{root_key}:dependencies")))
        .await;
    deps.sort();
    assert_eq!(
        deps,
        vec![child_key("a"), child_key("b")],
        "full child keys"
    );
    // the parent keeps its priority for its release, as Node's addParentJob does
    let root = w.hash("root").await;
    assert_eq!(root.get("priority").map(String::as_str), Some("4"));
    assert!(!root.contains_key("parentKey"), "the root has no parent");

    let a: std::collections::HashMap<String, String> =
        w.cmd(redis::cmd("HGETALL").arg(child_key("a"))).await;
    assert_eq!(a.get("parentKey"), Some(&root_key));
    assert_eq!(
        json_field(&a, "parent"),
        json!({"id": "root", "queueKey": format!("{}:jobs", w.queue.prefix), "fpof": true})
    );
    let opts = json_field(&a, "opts");
    assert_eq!(
        opts["parent"],
        json!({"id": "root", "queue": format!("{}:jobs", w.queue.prefix)})
    );
    assert_eq!(opts["fpof"], json!(true));
    let b: std::collections::HashMap<String, String> =
        w.cmd(redis::cmd("HGETALL").arg(child_key("b"))).await;
    assert_eq!(
        json_field(&b, "parent"),
        json!({"id": "root", "queueKey": format!("{}:jobs", w.queue.prefix)}),
        "no flag for the default policy"
    );
    let events: Vec<String> = w.events().await.into_iter().map(|(name, _)| name).collect();
    assert_eq!(events, ["added", "waiting-children"], "the parent's queue");
}

/// Plain completions pay one `EXISTS` per finish call for the children check, however many
/// jobs it completes, and no other read but the queue's settings; their locks are read, deleted
/// and the jobs added to `completed` once per call too.
#[tokio::test]
async fn plain_completions_check_for_children_once_per_call() {
    let w = World::new().await;
    for i in 0..5 {
        w.add("plain", &format!("{i}"), JobOptions::new()).await;
    }
    let fetched = w.fetch("t", 5).await;
    assert_eq!(fetched.jobs.len(), 5);
    let items = fetched
        .jobs
        .iter()
        .map(|job| Finish {
            job_id: job.record.id.clone(),
            token: LockToken("t".to_owned()),
            end: AttemptEnd::Completed {
                return_value: "1".to_owned(),
                keep: KeepJobs::All,
            },
            memo: job.memo.clone(),
        })
        .collect();
    let _: () = w.cmd(redis::cmd("CONFIG").arg("RESETSTAT")).await;
    let done = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items,
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(done.items.iter().all(Result::is_ok), "{:?}", done.items);
    assert_eq!(w.calls_of("exists").await, 1, "one children check per call");
    for read in ["scard", "zrange", "hget", "lpos", "get"] {
        assert_eq!(w.calls_of(read).await, 0, "{read} on the plain path");
    }
    // hmget: the queue's settings (meta), read once per call
    for per_call in ["mget", "del", "zadd", "hmget"] {
        assert_eq!(w.calls_of(per_call).await, 1, "{per_call} calls");
    }
    assert_eq!(w.counts().await.completed, 5);
    let locks: i64 = w
        .cmd(
            redis::cmd("EXISTS")
                .arg(w.key("1:lock"))
                .arg(w.key("5:lock")),
        )
        .await;
    assert_eq!(locks, 0, "the locks are gone");
}

/// A child oxq adds on its own to a job Node's FlowProducer would recognise: the same fields,
/// and a wait for children that moves the parent as Node's moveToWaitingChildren does.
#[tokio::test]
async fn a_parent_waiting_for_a_child_it_added_is_parked_in_waiting_children() {
    let w = World::new().await;
    let parent_id = w.add("parent", "{}", JobOptions::new().job_id("p")).await;
    let fetched = w.fetch("t", 1).await;
    let link = ParentLink::new(w.queue.clone(), parent_id.clone()).on_failure(ChildFailure::Ignore);
    w.add("child", "{}", JobOptions::new().job_id("c").parent(link))
        .await;
    let child = w.hash("c").await;
    assert_eq!(child.get("parentKey"), Some(&w.key("p")));
    assert_eq!(json_field(&child, "parent")["idof"], json!(true));
    let parked = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![Finish {
                job_id: parent_id,
                token: LockToken("t".to_owned()),
                end: AttemptEnd::WaitForChildren,
                memo: fetched.jobs[0].memo.clone(),
            }],
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(parked.items[0].is_ok(), "{:?}", parked.items);
    let score: Option<f64> = w
        .cmd(redis::cmd("ZSCORE").arg(w.key("waiting-children")).arg("p"))
        .await;
    assert!(score.is_some(), "the parent is not in waiting-children");
    let lock: Option<String> = w.cmd(redis::cmd("GET").arg(w.key("p:lock"))).await;
    assert_eq!(lock, None, "the lock was released");
    let (name, fields) = w.events().await.pop().expect("an event");
    assert_eq!(name, "waiting-children");
    assert_eq!(fields.get("prev").map(String::as_str), Some("active"));
    assert_eq!(
        w.hash("p").await.get("atm").map(String::as_str),
        None,
        "no attempt counted"
    );
}

/// A `FailParent` child failing for good while its parent waits in delayed releases the parent
/// now, with `waiting {prev: delayed}` and the deferred failure naming the child.
#[tokio::test]
async fn a_child_failing_a_delayed_parent_releases_it_from_delayed() {
    let w = World::new().await;
    let parent = w
        .add(
            "parent",
            "{}",
            JobOptions::new()
                .job_id("p")
                .delay(std::time::Duration::from_secs(60)),
        )
        .await;
    let link = ParentLink::new(w.queue.clone(), parent).on_failure(ChildFailure::FailParent);
    w.add("child", "{}", JobOptions::new().job_id("c").parent(link))
        .await;
    let fetched = w.fetch("t", 1).await;
    assert_eq!(fetched.jobs.len(), 1, "the child runs first");
    let failed = w
        .backend
        .job_finish(FinishJobs {
            queue: w.queue.clone(),
            now: now(),
            items: vec![Finish {
                job_id: JobId::from("c"),
                token: LockToken("t".to_owned()),
                end: AttemptEnd::Failed {
                    reason: "boom".to_owned(),
                    retry: oxq_core::backend::Retry::Never {
                        keep: KeepJobs::All,
                    },
                },
                memo: fetched.jobs[0].memo.clone(),
            }],
            fetch_next: None,
            metrics: None,
        })
        .await
        .expect("finish");
    assert!(failed.items[0].is_ok(), "{:?}", failed.items);
    let hash = w.hash("p").await;
    assert_eq!(
        hash.get("defa").map(String::as_str),
        Some(format!("child {} failed", w.key("c")).as_str())
    );
    assert_eq!(hash.get("delay").map(String::as_str), Some("0"));
    let (name, fields) = w
        .events()
        .await
        .into_iter()
        .rfind(|(_, f)| f.get("jobId").map(String::as_str) == Some("p"))
        .expect("an event of the parent");
    assert_eq!(name, "waiting");
    assert_eq!(fields.get("prev").map(String::as_str), Some("delayed"));
}
