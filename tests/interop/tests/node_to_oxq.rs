//! Scenario 1: Node BullMQ produces (`Queue.add` / `addBulk`), an oxq `Worker` consumes.
//!
//! * the jobs run in the order BullMQ would run them (LIFO first, then FIFO, then by
//!   priority, delayed when due), never before their delay or backoff;
//! * what oxq records (return value, failure, attempts, progress, logs) reads back in Node.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq::clock::now_ms;
use oxq::{Job, Unrecoverable, Worker, WorkerOptions};
use oxq_interop::{Scene, wait_until};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);
const DELAY_MS: u64 = 2_000;
const BACKOFF_MS: u64 = 400;

/// One attempt as the oxq processor saw it.
#[derive(Debug, Clone)]
struct Attempt {
    id: String,
    name: String,
    attempts_made: u32,
    timestamp: u64,
    started: u64,
    ended: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_jobs_run_on_an_oxq_worker_in_bullmq_order() {
    let scene = Scene::start("node-order").await.expect("scene");
    // Everything is queued before the worker starts, so the order is the queue's alone.
    scene
        .node_add(json!([
            {"add": {"name": "plain-1", "data": {}}},
            {"bulk": [{"name": "plain-2", "data": {}}, {"name": "plain-3", "data": {}}]},
            {"add": {"name": "lifo-1", "data": {}, "opts": {"lifo": true}}},
            {"add": {"name": "prio-5", "data": {}, "opts": {"priority": 5}}},
            {"bulk": [
                {"name": "prio-1", "data": {}, "opts": {"priority": 1}},
                {"name": "prio-3", "data": {}, "opts": {"priority": 3}}
            ]},
            {"add": {"name": "custom", "data": {}, "opts": {"jobId": "order-custom"}}},
            {"add": {"name": "delayed", "data": {}, "opts": {"delay": DELAY_MS}}},
            {"add": {"name": "retry", "data": {"failTimes": 1},
                     "opts": {"attempts": 3, "backoff": {"type": "exponential", "delay": BACKOFF_MS}}}},
            {"bulk": [
                {"name": "lifo-2", "data": {}, "opts": {"lifo": true}},
                {"name": "prio-1b", "data": {}, "opts": {"priority": 1}}
            ]},
            {"add": {"name": "plain-4", "data": {}}}
        ]))
        .await
        .expect("node adds");
    scene.assert_counts_agree().await.expect("counts before");

    let attempts = Arc::new(Mutex::new(Vec::<Attempt>::new()));
    let worker = {
        let attempts = attempts.clone();
        Worker::start(
            &scene.queue,
            WorkerOptions::new().concurrency(1),
            move |job: Job<Value>| {
                let attempts = attempts.clone();
                async move {
                    let started = now_ms();
                    let fail_times = job.data().get("failTimes").and_then(Value::as_u64);
                    let result: Result<Value, BoxError> =
                        if fail_times.is_some_and(|n| u64::from(job.attempts_made()) < n) {
                            Err("planned failure".into())
                        } else {
                            Ok(json!({"ran": job.name()}))
                        };
                    attempts.lock().expect("attempts").push(Attempt {
                        id: job.id().to_string(),
                        name: job.name().to_owned(),
                        attempts_made: job.attempts_made(),
                        timestamp: job.timestamp(),
                        started,
                        ended: now_ms(),
                    });
                    result
                }
            },
        )
    };
    wait_until(WAIT, "13 completed jobs", || async {
        Ok(scene.queue.counts().await?.completed == 13)
    })
    .await
    .expect("all jobs complete");
    worker.close().await.expect("close worker");

    let attempts = attempts.lock().expect("attempts").clone();
    // The delayed job's place depends on when it fell due (it joins the queue then, as in
    // BullMQ), which a loaded machine moves; its order is asserted by its start time below.
    let first_attempts: Vec<&str> = attempts
        .iter()
        .filter(|a| a.attempts_made == 0 && a.name != "delayed")
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(
        first_attempts,
        [
            "lifo-2", "lifo-1", "plain-1", "plain-2", "plain-3", "custom", "retry", "plain-4",
            "prio-1", "prio-1b", "prio-3", "prio-5",
        ],
        "oxq ran Node's jobs in another order than BullMQ would"
    );
    let custom = attempts
        .iter()
        .find(|a| a.name == "custom")
        .expect("custom");
    assert_eq!(custom.id, "order-custom", "the custom job id was kept");

    let delayed = attempts
        .iter()
        .find(|a| a.name == "delayed")
        .expect("delayed");
    assert!(
        delayed.started >= delayed.timestamp + DELAY_MS,
        "the delayed job ran {} ms early",
        delayed.timestamp + DELAY_MS - delayed.started
    );

    let retries: Vec<&Attempt> = attempts.iter().filter(|a| a.name == "retry").collect();
    assert_eq!(retries.len(), 2, "the retried job ran twice: {retries:?}");
    assert_eq!(retries[1].attempts_made, 1);
    assert!(
        retries[1].started >= retries[0].ended + BACKOFF_MS,
        "the retry came {} ms before its backoff ended",
        retries[0].ended + BACKOFF_MS - retries[1].started
    );

    let retry_id = retries[0].id.as_str();
    let node = scene.node_inspect(&[retry_id]).await.expect("inspect");
    let retry = &node[retry_id];
    assert_eq!(retry["state"], "completed");
    assert_eq!(retry["job"]["attemptsMade"], 2, "{retry}");
    assert_eq!(retry["job"]["returnvalue"], json!({"ran": "retry"}));

    let counts = scene.assert_counts_agree().await.expect("counts after");
    assert_eq!(counts.completed, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_reads_what_an_oxq_worker_recorded() {
    let scene = Scene::start("node-reads").await.expect("scene");
    let ids = scene
        .node_add(json!([
            {"add": {"name": "returns", "data": {"x": 1}}},
            {"add": {"name": "flaky", "data": {},
                     "opts": {"attempts": 3, "backoff": {"type": "exponential", "delay": 50}}}},
            {"add": {"name": "doomed", "data": {},
                     "opts": {"attempts": 2, "backoff": {"type": "fixed", "delay": 50}}}},
            {"add": {"name": "unrecoverable", "data": {}, "opts": {"attempts": 5}}},
            {"bulk": [
                {"name": "progress-number", "data": {}},
                {"name": "progress-object", "data": {}},
                {"name": "logs", "data": {}}
            ]}
        ]))
        .await
        .expect("node adds");
    assert_eq!(ids.len(), 7);

    let worker = Worker::start(
        &scene.queue,
        WorkerOptions::new().concurrency(4),
        |mut job: Job<Value>| async move {
            match job.name() {
                "returns" => Ok(json!({"sum": 42, "echo": job.data().clone()})),
                "flaky" if job.attempts_made() == 0 => Err("flaky first attempt".into()),
                "flaky" => Ok(json!("second time lucky")),
                "doomed" => Err(format!("doomed attempt {}", job.attempts_made() + 1).into()),
                "unrecoverable" => Err(BoxError::from(Unrecoverable::new("no point retrying"))),
                "progress-number" => {
                    job.update_progress(42).await?;
                    Ok(json!(null))
                }
                "progress-object" => {
                    job.update_progress(json!({"page": 3, "of": 7})).await?;
                    Ok(json!(null))
                }
                "logs" => {
                    job.log("first line").await?;
                    job.log("second line").await?;
                    Ok(json!("logged"))
                }
                other => Err(format!("unexpected job {other}").into()),
            }
        },
    );
    wait_until(WAIT, "5 completed and 2 failed jobs", || async {
        let counts = scene.queue.counts().await?;
        Ok(counts.completed == 5 && counts.failed == 2)
    })
    .await
    .expect("all jobs finish");
    worker.close().await.expect("close worker");

    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let node = scene.node_inspect(&id_refs).await.expect("inspect");
    let by_name = |name: &str| -> &Value {
        node.values()
            .find(|j| j["job"]["name"] == name)
            .unwrap_or_else(|| panic!("Node did not find job {name}: {node:?}"))
    };

    let returns = by_name("returns");
    assert_eq!(returns["state"], "completed");
    assert_eq!(
        returns["job"]["returnvalue"],
        json!({"sum": 42, "echo": {"x": 1}})
    );
    assert_eq!(returns["job"]["attemptsMade"], 1);
    assert!(returns["job"]["finishedOn"].as_u64().is_some(), "{returns}");
    assert!(
        returns["job"]["processedOn"].as_u64().is_some(),
        "{returns}"
    );

    let flaky = by_name("flaky");
    assert_eq!(flaky["state"], "completed");
    assert_eq!(flaky["job"]["attemptsMade"], 2);
    assert_eq!(flaky["job"]["returnvalue"], "second time lucky");
    assert_eq!(
        flaky["job"]["stacktrace"].as_array().map(Vec::len),
        Some(1),
        "{flaky}"
    );

    let doomed = by_name("doomed");
    assert_eq!(doomed["state"], "failed");
    assert_eq!(doomed["job"]["failedReason"], "doomed attempt 2");
    assert_eq!(doomed["job"]["attemptsMade"], 2);
    assert_eq!(
        doomed["job"]["stacktrace"].as_array().map(Vec::len),
        Some(2),
        "{doomed}"
    );
    assert!(doomed["job"]["finishedOn"].as_u64().is_some(), "{doomed}");

    let unrecoverable = by_name("unrecoverable");
    assert_eq!(unrecoverable["state"], "failed");
    assert_eq!(unrecoverable["job"]["failedReason"], "no point retrying");
    assert_eq!(unrecoverable["job"]["attemptsMade"], 1);

    assert_eq!(by_name("progress-number")["job"]["progress"], json!(42));
    assert_eq!(
        by_name("progress-object")["job"]["progress"],
        json!({"page": 3, "of": 7})
    );
    let logs = by_name("logs");
    assert_eq!(
        logs["logs"],
        json!({"logs": ["first line", "second line"], "count": 2})
    );

    let counts = scene.assert_counts_agree().await.expect("counts after");
    assert_eq!((counts.completed, counts.failed), (5, 2));
}
