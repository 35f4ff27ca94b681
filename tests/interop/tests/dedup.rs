//! Deduplication across Node BullMQ and oxq on one queue (`de:<id>` keys, the job's `deid`):
//! a job Node added with a deduplication id and an oxq worker completed releases the id, so
//! Node's next add makes a new job; an id oxq took is honoured by Node's add and released by a
//! Node worker; Node's throttle and debounce keys are understood by oxq's add.

use std::time::Duration;

use oxq::{BoxError, Deduplication, Job, JobId, JobOptions, JobState, Worker, WorkerOptions};
use oxq_interop::{Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn wait_completed(scene: &Scene, id: &JobId) {
    wait_until(WAIT, &format!("job {id} to complete"), || async {
        let record = scene.queue.get_record(id).await?;
        Ok(record.is_some_and(|r| r.state == JobState::Completed))
    })
    .await
    .expect("job completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_job_completed_by_oxq_releases_its_id_for_nodes_next_add() {
    let scene = Scene::start("dedup-node-oxq").await.expect("scene");
    let q = &scene.queue;
    let add =
        json!({"add": {"name": "sync", "data": {"n": 1}, "opts": {"deduplication": {"id": "d1"}}}});
    let ids = scene
        .node_add(json!([add.clone(), add.clone()]))
        .await
        .expect("node adds");
    assert_eq!(ids[0], ids[1], "Node's second add answers the first job");
    let first = JobId(ids[0].clone());
    assert_eq!(
        q.get_deduplication_job_id("d1").await.expect("owner"),
        Some(first.clone()),
        "oxq reads Node's key"
    );
    let standing = q
        .add(
            "sync",
            json!({"n": 2}),
            JobOptions::new().deduplication(Deduplication::new("d1")),
        )
        .await
        .expect("oxq add");
    assert_eq!(
        standing.id(),
        &first,
        "oxq's add is deduplicated by Node's key"
    );
    assert_eq!(standing.data(), &json!({"n": 1}), "and returns Node's job");

    let worker = Worker::start(
        q,
        WorkerOptions::new().concurrency(1),
        |_job: Job<Value>| async { Ok::<Value, BoxError>(json!({"by": "oxq"})) },
    );
    wait_completed(&scene, &first).await;
    worker.close().await.expect("close worker");
    assert_eq!(
        q.get_deduplication_job_id("d1").await.expect("owner"),
        None,
        "released by oxq's completion"
    );
    let next = scene.node_add(json!([add])).await.expect("node add");
    assert_ne!(
        next[0], ids[0],
        "Node's add after the completion makes a new job"
    );
    assert_eq!(
        q.counts().await.expect("counts").waiting,
        1,
        "the new job waits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oxq_job_completed_by_node_releases_its_id_for_oxqs_next_add() {
    let scene = Scene::start("dedup-oxq-node").await.expect("scene");
    let q = &scene.queue;
    let opts = || JobOptions::new().deduplication(Deduplication::new("d2"));
    let first = q
        .add("sync", json!({"n": 1}), opts())
        .await
        .expect("oxq add");
    let ids = scene
        .node_add(json!([{"add": {"name": "sync", "data": {"n": 2}, "opts": {"deduplication": {"id": "d2"}}}}]))
        .await
        .expect("node add");
    assert_eq!(
        ids[0],
        first.id().as_str(),
        "Node's add is deduplicated by oxq's key"
    );

    let mut node = scene
        .node_spawn("worker.mjs", json!({"concurrency": 1}))
        .expect("start node worker");
    node.wait_event("ready", WAIT).await.expect("node ready");
    node.wait_for(WAIT, "Node to complete the oxq job", |line| {
        event_is(line, "completed") && line["id"] == json!(first.id().as_str())
    })
    .await
    .expect("node completed the oxq job");
    node.finish(WAIT).await.expect("node worker closed");
    let next = q
        .add("sync", json!({"n": 3}), opts())
        .await
        .expect("oxq add");
    assert_ne!(
        next.id(),
        first.id(),
        "oxq's add after Node's completion makes a new job"
    );
    assert_eq!(next.state(), JobState::Waiting, "the new job waits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_throttle_and_debounce_keys_hold_for_oxq_adds() {
    let scene = Scene::start("dedup-windows").await.expect("scene");
    let q = &scene.queue;
    let window = Duration::from_secs(60);
    // throttle: Node's key with a TTL holds oxq's add
    let ids = scene
        .node_add(json!([{"add": {"name": "t", "data": 1, "opts": {"deduplication": {"id": "t1", "ttl": 60_000}}}}]))
        .await
        .expect("node add");
    let throttled = q
        .add(
            "t",
            json!(2),
            JobOptions::new().deduplication(Deduplication::throttle("t1", window)),
        )
        .await
        .expect("oxq add");
    assert_eq!(
        throttled.id().as_str(),
        ids[0],
        "throttled by Node's window"
    );

    // debounce: oxq's add replaces Node's delayed job and takes the id; Node's next add
    // replaces oxq's
    let node_debounce = json!({"add": {"name": "d", "data": "node", "opts": {
        "delay": 60_000,
        "deduplication": {"id": "db", "ttl": 60_000, "extend": true, "replace": true}
    }}});
    let node_first = scene
        .node_add(json!([node_debounce.clone()]))
        .await
        .expect("node add");
    let replacing = q
        .add(
            "d",
            json!("oxq"),
            JobOptions::new()
                .delay(window)
                .deduplication(Deduplication::debounce("db", window)),
        )
        .await
        .expect("oxq add");
    assert_ne!(replacing.id().as_str(), node_first[0], "a new job stands");
    assert!(
        q.get_record(&JobId(node_first[0].clone()))
            .await
            .expect("get")
            .is_none(),
        "Node's delayed job was replaced"
    );
    let node_again = scene
        .node_add(json!([node_debounce]))
        .await
        .expect("node add");
    assert!(
        q.get_record(replacing.id()).await.expect("get").is_none(),
        "Node's add replaced oxq's delayed job"
    );
    assert_eq!(
        q.get_deduplication_job_id("db").await.expect("owner"),
        Some(JobId(node_again[0].clone())),
        "Node's job owns the id"
    );
    let counts = q.counts().await.expect("counts");
    assert_eq!(
        (counts.delayed, counts.waiting),
        (1, 1),
        "(delayed, waiting)"
    );
    scene.assert_counts_agree().await.expect("counts agree");
}
