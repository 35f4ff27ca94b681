//! BullMQ's per-minute metrics (`metrics:completed` / `metrics:failed` and their `:data` lists)
//! on a queue Node BullMQ and oxq share: what an oxq worker started with
//! `WorkerOptions::metrics` records, Node's `queue.getMetrics` reads to the same numbers, and
//! what a Node worker started with `metrics: { maxDataPoints }` records, `Queue::metrics` reads
//! as Node does.

use std::sync::Arc;
use std::time::Duration;

use oxq::{
    Clock, Job, JobOptions, ManualClock, MetricsKind, MetricsSeries, Queue, QueueOptions, Worker,
};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const MINUTE: u64 = 60_000;

/// Node's `getMetrics` of both kinds.
async fn node_metrics(scene: &Scene, arg: Value) -> Value {
    let lines = scene
        .node_run("metrics.mjs", arg)
        .await
        .expect("node reads the metrics");
    lines
        .into_iter()
        .find(|l| l["event"] == "metrics")
        .expect("a metrics line")
}

async fn oxq_metrics(queue: &Queue<Value>, kind: MetricsKind) -> MetricsSeries {
    queue
        .metrics(kind, 0, -1)
        .await
        .expect("oxq reads the metrics")
}

/// Adds `ok` jobs that complete and `fail` jobs that fail for good.
async fn add_jobs(queue: &Queue<Value>, ok: usize, fail: usize) {
    let jobs = (0..ok)
        .map(|i| (format!("ok-{i}"), json!({}), JobOptions::new()))
        .chain((0..fail).map(|i| {
            (
                format!("fail-{i}"),
                json!({"failAlways": "no"}),
                JobOptions::new(),
            )
        }))
        .collect();
    queue.add_bulk(jobs).await.expect("add jobs");
}

/// Runs an oxq worker with metrics on `queue` until `finished` jobs are completed or failed.
async fn run_oxq_worker(queue: &Queue<Value>, finished: u64) {
    let worker = Worker::start(
        queue,
        oxq::WorkerOptions::new().metrics(60),
        |job: Job<Value>| async move {
            if job.data().get("failAlways").is_some() {
                Err(oxq::BoxError::from("planned failure"))
            } else {
                Ok(Value::from(1))
            }
        },
    );
    wait_until(WAIT, "the jobs to finish", || async {
        let counts = queue.counts().await?;
        Ok(counts.completed + counts.failed >= finished)
    })
    .await
    .expect("the jobs finish");
    worker.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reads_the_metrics_an_oxq_worker_records() {
    let scene = Scene::start("metrics-oxq-records").await.expect("scene");
    // the worker's finishes happen on a clock the test moves across minutes
    let clock = Arc::new(ManualClock::new(3_000_000_000_000 + 1_000));
    let queue = scene
        .queue
        .clone()
        .with_options(QueueOptions::new().clock(clock.clone()))
        .expect("queue options");
    let start = clock.now_ms();

    add_jobs(&queue, 3, 2).await;
    run_oxq_worker(&queue, 5).await;
    clock.advance(Duration::from_millis(2 * MINUTE));
    add_jobs(&queue, 1, 1).await;
    run_oxq_worker(&queue, 7).await;

    let node = node_metrics(&scene, json!({})).await;
    assert_eq!(
        node["completed"],
        json!({"meta": {"count": 4, "prevTS": start + 2 * MINUTE, "prevCount": 3}, "data": [0, 3], "count": 2}),
        "{node}"
    );
    assert_eq!(
        node["failed"],
        json!({"meta": {"count": 3, "prevTS": start + 2 * MINUTE, "prevCount": 2}, "data": [0, 2], "count": 2}),
        "{node}"
    );
    for (kind, name) in [
        (MetricsKind::Completed, "completed"),
        (MetricsKind::Failed, "failed"),
    ] {
        let ours = serde_json::to_value(oxq_metrics(&queue, kind).await).expect("json");
        assert_eq!(
            ours, node[name],
            "oxq and Node read the {name} series alike"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxq_reads_the_metrics_a_node_worker_records() {
    let scene = Scene::start("metrics-node-records").await.expect("scene");
    add_jobs(&scene.queue, 4, 3).await;
    let node = node_metrics(&scene, json!({"maxDataPoints": 60, "jobs": 7})).await;
    // Node's worker runs on real time: its points depend on the minutes it crossed, its counts
    // do not
    assert_eq!(node["completed"]["meta"]["count"], json!(4), "{node}");
    assert_eq!(node["failed"]["meta"]["count"], json!(3), "{node}");
    for (kind, name) in [
        (MetricsKind::Completed, "completed"),
        (MetricsKind::Failed, "failed"),
    ] {
        let ours = serde_json::to_value(oxq_metrics(&scene.queue, kind).await).expect("json");
        assert_eq!(
            ours, node[name],
            "oxq reads the {name} series Node recorded as Node does"
        );
    }
    let completed = oxq_metrics(&scene.queue, MetricsKind::Completed).await;
    assert_eq!(completed.meta.count, 4, "{completed:?}");
    assert!(completed.meta.prev_ts > 0, "{completed:?}");
}
