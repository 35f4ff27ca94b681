//! Dead letter queues seen from Node BullMQ 6: a job Node added and an oxq worker failed for
//! good is copied to the dead letter queue as an ordinary failed job there, which Node's
//! `getJob` reads (name, data, options, every attempt's error, attempts) and Node's
//! `getJobCounts` counts; a replay puts it back on the source queue where a Node worker runs
//! it to completion.

use std::time::Duration;

use oxq::{Job, WorkerOptions};
use oxq::{JobState, Worker};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reads_the_dead_jobs_oxq_dead_lettered_and_runs_their_replay() {
    let scene = Scene::start("dlq-source").await.expect("scene");
    let dead = scene.sibling("dlq-dead").expect("dead letter scene");
    let q = &scene.queue;
    q.set_dead_letter_queue(Some(dead.queue.name()))
        .await
        .expect("set the dead letter queue");
    let ids = scene
        .node_add(json!([{"add": {
            "name": "charge",
            "data": {"order": 7, "items": ["a", "é"]},
            "opts": {"attempts": 2}
        }}]))
        .await
        .expect("node adds");
    let source_id = ids[0].clone();

    let worker = Worker::start(
        q,
        WorkerOptions::new().concurrency(1),
        |job: Job<Value>| async move {
            Err::<Value, BoxError>(
                format!("declined on attempt {}", job.attempts_made() + 1).into(),
            )
        },
    );
    wait_until(WAIT, "the job to be dead-lettered", || async {
        Ok(dead.queue.dead_letter_count().await? == 1)
    })
    .await
    .expect("dead-lettered");
    worker.close().await.expect("close");

    let entry = dead
        .queue
        .dead_letters(0, 10)
        .await
        .expect("list")
        .remove(0);
    assert_eq!(entry.source_id.as_str(), source_id);
    let dead_id = entry.record.id.as_str().to_owned();
    let seen = dead.node_inspect(&[&dead_id]).await.expect("node inspect");
    let line = &seen[&dead_id];
    assert_eq!(
        line["found"],
        json!(true),
        "Node finds the dead job: {line}"
    );
    assert_eq!(line["state"], json!("failed"), "{line}");
    let job = &line["job"];
    assert_eq!(job["name"], json!("charge"));
    assert_eq!(job["data"], json!({"order": 7, "items": ["a", "é"]}));
    assert_eq!(job["opts"]["attempts"], json!(2));
    assert_eq!(job["attemptsMade"], json!(2));
    assert_eq!(
        job["stacktrace"],
        json!(["declined on attempt 1", "declined on attempt 2"])
    );
    assert_eq!(job["failedReason"], json!("declined on attempt 2"));
    let counts = dead.assert_counts_agree().await.expect("counts agree");
    assert_eq!(counts.failed, 1);
    assert_eq!(counts.total(), 1);

    // A replay puts it back on the source queue, where a Node worker completes it.
    let replayed = dead
        .queue
        .replay_dead_letter(&entry.record.id)
        .await
        .expect("replay");
    let node_worker = scene
        .node_spawn("worker.mjs", json!({}))
        .expect("node worker");
    wait_until(WAIT, "Node to complete the replayed job", || async {
        Ok(q.get_record(&replayed)
            .await?
            .is_some_and(|r| r.state == JobState::Completed))
    })
    .await
    .expect("replayed job completed by Node");
    node_worker.finish(WAIT).await.expect("node worker stops");
    let seen = scene
        .node_inspect(&[replayed.as_str()])
        .await
        .expect("node inspect");
    let job = &seen[replayed.as_str()]["job"];
    assert_eq!(job["data"], json!({"order": 7, "items": ["a", "é"]}));
    assert_eq!(job["attemptsMade"], json!(1), "attempts start again: {job}");
}
