//! A processor's delay outcome (`Outcome::DelayFor`) on Redis is BullMQ's `moveToDelayed`
//! with skip-attempt (`job.moveToDelayed(ts, token)` + `DelayedError` in Node): Node reads the
//! job as delayed with no attempt used, and a Node worker runs it once due.

use std::time::Duration;

use oxq::{Job, Outcome, Worker, WorkerOptions};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const DELAY_MS: u64 = 1_500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_an_oxq_worker_delays_is_delayed_for_node_and_runs_on_a_node_worker() {
    let scene = Scene::start("delay-outcome").await.expect("scene");
    let ids = scene
        .node_add(json!([
            {"add": {"name": "postpone", "data": {"n": 1}, "opts": {"attempts": 1}}}
        ]))
        .await
        .expect("node adds");
    let [id] = ids.as_slice() else {
        panic!("one id expected, got {ids:?}");
    };

    let worker = Worker::start(
        &scene.queue,
        WorkerOptions::new(),
        |_job: Job<Value>| async move { Outcome::<Value>::DelayFor(Duration::from_millis(DELAY_MS)) },
    );
    wait_until(WAIT, "the job to be delayed", || async {
        Ok(scene.queue.counts().await?.delayed == 1)
    })
    .await
    .expect("the job is delayed");
    worker.close().await.expect("close the oxq worker");

    let node = scene.node_inspect(&[id]).await.expect("inspect");
    let seen = &node[id.as_str()];
    assert_eq!(seen["state"], "delayed", "{seen}");
    assert_eq!(seen["job"]["attemptsMade"], 0, "{seen}");
    assert_eq!(seen["job"]["attemptsStarted"], 1, "{seen}");
    assert_eq!(seen["job"]["stacktrace"], json!([]), "{seen}");
    let delay = seen["job"]["delay"].as_u64().unwrap_or(0);
    assert!(
        (DELAY_MS - 1_000..=DELAY_MS).contains(&delay),
        "the delay field should be the relative delay, {DELAY_MS} ms less the time to record it: {seen}"
    );
    scene
        .assert_counts_agree()
        .await
        .expect("counts while delayed");

    let mut node_worker = scene
        .node_spawn(
            "worker.mjs",
            json!({"concurrency": 1, "record": "full", "tag": "node"}),
        )
        .expect("node worker");
    node_worker
        .wait_event("ready", WAIT)
        .await
        .expect("node ready");
    let done = node_worker
        .wait_event("completed", WAIT)
        .await
        .expect("the node worker completes the delayed job");
    assert_eq!(done["id"], json!(id), "{done}");
    assert_eq!(done["attemptsMade"], 1, "{done}");
    node_worker.finish(WAIT).await.expect("node worker stops");
    let record = scene
        .queue
        .get_record(&oxq::JobId::from(id.as_str()))
        .await
        .expect("read the job")
        .expect("the job exists");
    assert_eq!(record.state, oxq::JobState::Completed);
    assert_eq!(record.attempts_made, 1);
    assert_eq!(record.attempts_started, 2);
}
