//! Scenario 4: Node's `getJobCounts()` and oxq's `counts()` agree on every state — waiting,
//! prioritized, delayed, active, waiting-children, completed, failed — with jobs from both
//! sides in all of them at once, while paused, and once the queue is at rest.
//! (Every other scenario also ends with the same comparison.)

use std::sync::Arc;
use std::time::Duration;

use oxq::{Job, JobOptions, JobState, Worker, WorkerOptions};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_oxq_count_every_state_alike() {
    let scene = Scene::start("counts").await.expect("scene");
    let q = &scene.queue;
    q.add("ok", json!({}), JobOptions::new())
        .await
        .expect("add");
    scene
        .node_add(
            json!([{"add": {"name": "bad", "data": {}}}, {"add": {"name": "hold", "data": {}}}]),
        )
        .await
        .expect("node adds");

    // One job at a time; "hold" stays active until the test lets it go.
    let release = Arc::new(Semaphore::new(0));
    let worker = {
        let release = release.clone();
        Worker::start(
            q,
            WorkerOptions::new().concurrency(1),
            move |job: Job<Value>| {
                let release = release.clone();
                async move {
                    match job.name() {
                        "bad" => Err(BoxError::from("bad job")),
                        "hold" => {
                            let permit = release.acquire().await?;
                            permit.forget();
                            Ok(json!("released"))
                        }
                        _ => Ok(json!("done")),
                    }
                }
            },
        )
    };
    wait_until(WAIT, "ok completed, bad failed, hold active", || async {
        let c = q.counts().await?;
        Ok(c.completed == 1 && c.failed == 1 && c.active == 1)
    })
    .await
    .expect("worker reaches hold");

    // Now fill the other states from both sides; the busy worker takes nothing more.
    q.add_bulk(vec![
        ("w-oxq".to_owned(), json!({}), JobOptions::new()),
        ("p-oxq".to_owned(), json!({}), JobOptions::new().priority(3)),
        (
            "d-oxq".to_owned(),
            json!({}),
            JobOptions::new().delay(Duration::from_secs(600)),
        ),
    ])
    .await
    .expect("oxq adds");
    scene
        .node_add(json!([
            {"add": {"name": "w-node", "data": {}}},
            {"add": {"name": "w-node-lifo", "data": {}, "opts": {"lifo": true}}},
            {"add": {"name": "p-node", "data": {}, "opts": {"priority": 2}}},
            {"add": {"name": "d-node", "data": {}, "opts": {"delay": 600_000}}}
        ]))
        .await
        .expect("node adds");
    let flow = scene
        .node_run("flow.mjs", json!({"childQueue": "kids", "children": 2}))
        .await
        .expect("node flow");
    assert!(flow.iter().any(|l| l["event"] == "flow"), "{flow:?}");

    let counts = scene
        .assert_counts_agree()
        .await
        .expect("counts, all states");
    for state in JobState::ALL {
        assert!(counts.get(state) > 0, "no job is {state}: {counts:?}");
    }
    assert_eq!(
        (counts.waiting, counts.prioritized, counts.delayed),
        (3, 2, 2),
        "{counts:?}"
    );
    assert_eq!(
        (counts.active, counts.waiting_children),
        (1, 1),
        "{counts:?}"
    );

    // Node sees the held job as active.
    let hold_id = q
        .get_jobs(&[JobState::Active], 0, 10, true)
        .await
        .expect("active jobs")
        .first()
        .map(|j| j.id().to_string())
        .expect("an active job");
    let node = scene.node_inspect(&[&hold_id]).await.expect("inspect");
    assert_eq!(node[&hold_id]["state"], "active");

    // Paused (BullMQ 6): waiting jobs stay waiting, for both.
    q.pause().await.expect("pause");
    let paused = scene
        .assert_counts_agree()
        .await
        .expect("counts while paused");
    assert_eq!(paused, counts);
    q.resume().await.expect("resume");

    // The child queue agrees too.
    let kids = scene.sibling("kids").expect("child queue");
    let kid_counts = kids
        .assert_counts_agree()
        .await
        .expect("child queue counts");
    assert_eq!(kid_counts.waiting, 2);

    // At rest: everything runnable ran; delayed jobs and the flow's parent are left.
    release.add_permits(1);
    wait_until(WAIT, "the runnable jobs to finish", || async {
        let c = q.counts().await?;
        Ok(c.waiting == 0 && c.prioritized == 0 && c.active == 0)
    })
    .await
    .expect("worker drains the queue");
    worker.close().await.expect("close worker");
    let rest = scene.assert_counts_agree().await.expect("counts at rest");
    assert_eq!(
        (
            rest.completed,
            rest.failed,
            rest.delayed,
            rest.waiting_children
        ),
        (7, 1, 2, 1),
        "{rest:?}"
    );
}
