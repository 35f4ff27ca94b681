//! Rate limits and global concurrency on a queue Node BullMQ and oxq share: a global rate limit
//! Node sets (`setGlobalRateLimit`) holds for oxq workers, and one oxq sets holds for a Node
//! worker; each side reads what the other wrote (the meta hash's `max`, `duration`,
//! `concurrency`). The limiter counts starts in fixed windows, each opened by the first start it
//! counts, so the check splits the starts into such windows; start times are taken by each
//! processor as it starts, a moment after the store counted it, so each window checked is
//! shortened by [`JITTER_MS`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq::clock::now_ms;
use oxq::{Job, JobOptions, Worker, WorkerOptions};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const MAX: usize = 3;
const WINDOW_MS: u64 = 500;
const JOBS: usize = 12;
/// How late a processor may record its start after the store counted it.
const JITTER_MS: u64 = 100;

/// Fails unless each window of the limit (less the jitter) holds at most `MAX` of `starts`,
/// and the jobs took the windows they need.
fn assert_limit_held(mut starts: Vec<u64>) {
    starts.sort_unstable();
    assert_eq!(starts.len(), JOBS, "every job started once: {starts:?}");
    // BullMQ's limiter is a fixed window opened by the first start it counts: partition the
    // starts into such windows (each from the first start not yet in one) and count each.
    let span = WINDOW_MS - JITTER_MS;
    let mut first = 0;
    while first < starts.len() {
        let end = starts[first] + span;
        let next = starts.partition_point(|t| *t < end);
        assert!(
            next - first <= MAX,
            "{} starts within {span} ms of {} (limit {MAX} per {WINDOW_MS} ms): {starts:?}",
            next - first,
            starts[first]
        );
        first = next;
    }
    let took = starts[JOBS - 1] - starts[0];
    assert!(
        took >= (JOBS / MAX - 1) as u64 * span,
        "{JOBS} jobs started within {took} ms: {starts:?}"
    );
}

async fn add_jobs(scene: &Scene) {
    let jobs = (0..JOBS)
        .map(|i| (format!("call-{i}"), json!({ "i": i }), JobOptions::new()))
        .collect();
    scene.queue.add_bulk(jobs).await.expect("add jobs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_rate_limit_node_sets_holds_for_oxq_workers() {
    let scene = Scene::start("limits-node-sets").await.expect("scene");
    let lines = scene
        .node_run(
            "limits.mjs",
            json!({"rateLimit": {"max": MAX, "duration": WINDOW_MS}, "concurrency": 8}),
        )
        .await
        .expect("node sets the limits");
    assert_eq!(
        lines.last().map(|l| l["rateLimit"].clone()),
        Some(json!({"max": MAX, "duration": WINDOW_MS})),
        "{lines:?}"
    );
    let limits = scene.queue.limits().await.expect("oxq reads the limits");
    assert_eq!(
        limits.rate_limit.map(|l| (l.max as usize, l.duration)),
        Some((MAX, Duration::from_millis(WINDOW_MS))),
        "{limits:?}"
    );
    assert_eq!(limits.concurrency, Some(8), "{limits:?}");

    add_jobs(&scene).await;
    let starts = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let starts = starts.clone();
            Worker::start(
                &scene.queue,
                WorkerOptions::new().concurrency(6),
                move |_job: Job<Value>| {
                    starts.lock().expect("starts").push(now_ms());
                    async { Ok::<_, oxq::BoxError>(Value::Null) }
                },
            )
        })
        .collect();
    wait_until(WAIT, "every job to complete", || async {
        Ok(scene.queue.counts().await?.completed >= JOBS as u64)
    })
    .await
    .expect("the jobs complete");
    for worker in workers {
        worker.close().await.expect("close");
    }
    let starts = starts.lock().expect("starts").clone();
    assert_limit_held(starts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_rate_limit_oxq_sets_holds_for_a_node_worker() {
    let scene = Scene::start("limits-oxq-sets").await.expect("scene");
    scene
        .queue
        .set_global_rate_limit(MAX as u32, Duration::from_millis(WINDOW_MS))
        .await
        .expect("oxq sets the rate limit");
    scene
        .queue
        .set_global_concurrency(8)
        .await
        .expect("oxq sets the concurrency");
    let lines = scene
        .node_run("limits.mjs", json!({}))
        .await
        .expect("node reads the limits");
    let seen = lines.last().cloned().unwrap_or_default();
    assert_eq!(
        seen["rateLimit"],
        json!({"max": MAX, "duration": WINDOW_MS}),
        "{seen}"
    );
    assert_eq!(seen["concurrency"], json!(8), "{seen}");

    add_jobs(&scene).await;
    let mut node = scene
        .node_spawn(
            "worker.mjs",
            json!({"concurrency": 6, "record": "full", "tag": "node"}),
        )
        .expect("node worker");
    node.wait_event("ready", WAIT).await.expect("node ready");
    node.wait_for_count(WAIT, "node completions", JOBS, |l| {
        l["event"] == "completed"
    })
    .await
    .expect("the node worker completes every job");
    let starts: Vec<u64> = node
        .seen()
        .iter()
        .filter(|l| l["event"] == "start")
        .map(|l| l["at"].as_u64().expect("a start time"))
        .collect();
    node.finish(WAIT).await.expect("node worker stops");
    assert_limit_held(starts);

    scene
        .queue
        .remove_global_rate_limit()
        .await
        .expect("oxq removes the rate limit");
    scene
        .queue
        .remove_global_concurrency()
        .await
        .expect("oxq removes the concurrency");
    let lines = scene
        .node_run("limits.mjs", json!({}))
        .await
        .expect("node reads the limits again");
    let seen = lines.last().cloned().unwrap_or_default();
    assert_eq!(seen["rateLimit"], Value::Null, "{seen}");
    assert_eq!(seen["concurrency"], Value::Null, "{seen}");
}
