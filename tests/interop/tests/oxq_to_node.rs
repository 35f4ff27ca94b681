//! Scenario 2: oxq produces, a Node BullMQ `Worker` consumes.
//!
//! Node sees each job's name, data and options (attempts, delay, priority, lifo, jobId,
//! backoff) as oxq wrote them and runs the jobs in BullMQ's order; what Node records (return
//! values, failures, attempts) reads back through oxq's `get_job`.

use std::time::Duration;

use oxq::{Backoff, JobId, JobOptions, JobState};
use oxq_interop::{Scene, event_is, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);
const DELAY_MS: u64 = 3_000;
const BACKOFF_MS: u64 = 300;

fn field<'a>(line: &'a Value, key: &str) -> &'a Value {
    &line[key]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oxq_jobs_run_on_a_node_worker_with_their_options() {
    let scene = Scene::start("oxq-to-node").await.expect("scene");
    let q = &scene.queue;
    let opts = JobOptions::new;
    q.add("plain-1", json!({"k": "v", "n": [1, 2]}), opts())
        .await
        .expect("add");
    q.add("lifo", json!({}), opts().lifo(true))
        .await
        .expect("add");
    q.add_bulk(vec![
        ("prio-2".to_owned(), json!({}), opts().priority(2)),
        ("prio-1".to_owned(), json!({}), opts().priority(1)),
        (
            "custom".to_owned(),
            json!({"c": true}),
            opts().job_id("from-oxq"),
        ),
    ])
    .await
    .expect("add bulk");
    q.add(
        "delayed",
        json!({}),
        opts().delay(Duration::from_millis(DELAY_MS)),
    )
    .await
    .expect("add");
    let retry = q
        .add(
            "retry",
            json!({"failTimes": 1}),
            opts()
                .attempts(3)
                .backoff(Backoff::exponential(Duration::from_millis(BACKOFF_MS))),
        )
        .await
        .expect("add");
    let doomed = q
        .add(
            "doomed",
            json!({"failAlways": "node refuses"}),
            opts()
                .attempts(2)
                .backoff(Backoff::fixed(Duration::from_millis(100))),
        )
        .await
        .expect("add");
    q.add("plain-2", json!("just a string"), opts())
        .await
        .expect("add");
    scene.assert_counts_agree().await.expect("counts before");

    let mut node = scene
        .node_spawn("worker.mjs", json!({"concurrency": 1}))
        .expect("start node worker");
    node.wait_event("ready", WAIT).await.expect("node ready");
    wait_until(WAIT, "8 completed jobs and 1 failed job", || async {
        let counts = q.counts().await?;
        Ok(counts.completed == 8 && counts.failed == 1)
    })
    .await
    .expect("node finishes every job");
    let lines = node.finish(WAIT).await.expect("node worker stops");

    let starts: Vec<&Value> = lines.iter().filter(|l| event_is(l, "start")).collect();
    // The delayed job's place depends on when it fell due (it joins the queue then), which a
    // loaded machine moves; its start is checked against its delay below.
    let first_attempts: Vec<&str> = starts
        .iter()
        .filter(|s| s["attemptsMade"] == 0 && s["name"] != "delayed")
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        first_attempts,
        [
            "lifo", "plain-1", "custom", "retry", "doomed", "plain-2", "prio-1", "prio-2"
        ],
        "Node ran oxq's jobs in another order than BullMQ would"
    );
    let start_of = |name: &str| -> &Value {
        starts
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("Node never ran {name}: {lines:?}"))
    };

    // Name, data and options as oxq wrote them.
    let plain = start_of("plain-1");
    assert_eq!(field(plain, "data"), &json!({"k": "v", "n": [1, 2]}));
    assert_eq!(field(start_of("plain-2"), "data"), &json!("just a string"));
    assert_eq!(start_of("lifo")["opts"]["lifo"], true);
    assert_eq!(start_of("prio-1")["opts"]["priority"], 1);
    assert_eq!(start_of("prio-2")["opts"]["priority"], 2);
    let custom = start_of("custom");
    assert_eq!(custom["id"], "from-oxq");
    assert_eq!(custom["opts"]["jobId"], "from-oxq");
    assert_eq!(custom["data"], json!({"c": true}));
    let delayed = start_of("delayed");
    assert_eq!(delayed["opts"]["delay"], DELAY_MS);
    let (timestamp, at) = (
        delayed["timestamp"].as_u64().expect("timestamp"),
        delayed["at"].as_u64().expect("start time"),
    );
    assert!(
        at >= timestamp + DELAY_MS,
        "Node ran the delayed job {} ms early",
        timestamp + DELAY_MS - at
    );
    let retry_opts = &start_of("retry")["opts"];
    assert_eq!(retry_opts["attempts"], 3);
    assert_eq!(retry_opts["backoff"]["type"], "exponential");
    assert_eq!(retry_opts["backoff"]["delay"], BACKOFF_MS);
    assert!(
        retry_opts["backoff"]["jitter"].as_f64().unwrap_or(0.0) == 0.0,
        "no jitter was asked for: {retry_opts}"
    );
    let doomed_opts = &start_of("doomed")["opts"];
    assert_eq!(doomed_opts["attempts"], 2);
    assert_eq!(
        doomed_opts["backoff"],
        json!({"type": "fixed", "delay": 100})
    );
    for plain in ["plain-1", "plain-2", "lifo"] {
        let opts = &start_of(plain)["opts"];
        assert!(
            opts["delay"].as_u64().unwrap_or(0) == 0 && opts["priority"].as_u64().unwrap_or(0) == 0,
            "{plain} got a delay or a priority: {opts}"
        );
    }

    // Node's backoff between the retried job's attempts.
    let retry_starts: Vec<&&Value> = starts.iter().filter(|s| s["name"] == "retry").collect();
    assert_eq!(retry_starts.len(), 2, "{retry_starts:?}");
    let (first, second) = (
        retry_starts[0]["at"].as_u64().expect("at"),
        retry_starts[1]["at"].as_u64().expect("at"),
    );
    assert!(
        second >= first + BACKOFF_MS,
        "retried after {} ms",
        second - first
    );

    // Node's results, read by oxq.
    let retry = q
        .get_job(retry.id())
        .await
        .expect("get")
        .expect("retry job");
    assert_eq!(retry.state(), JobState::Completed);
    assert_eq!(retry.attempts_made(), 2);
    let value: Value = retry.return_value().expect("a return value").expect("JSON");
    assert_eq!(value, json!({"by": "node", "echo": {"failTimes": 1}}));

    let doomed = q
        .get_job(doomed.id())
        .await
        .expect("get")
        .expect("doomed job");
    assert_eq!(doomed.state(), JobState::Failed);
    assert_eq!(doomed.failed_reason(), Some("node refuses"));
    assert_eq!(doomed.attempts_made(), 2);
    assert_eq!(doomed.stacktrace().len(), 2, "{:?}", doomed.stacktrace());
    assert!(doomed.finished_on().is_some());

    let custom = q
        .get_job(&JobId("from-oxq".to_owned()))
        .await
        .expect("get")
        .expect("custom job");
    assert_eq!(custom.state(), JobState::Completed);
    assert_eq!(custom.attempts_made(), 1);
    let value: Value = custom
        .return_value()
        .expect("a return value")
        .expect("JSON");
    assert_eq!(value, json!({"by": "node", "echo": {"c": true}}));

    let counts = scene.assert_counts_agree().await.expect("counts after");
    assert_eq!((counts.completed, counts.failed), (8, 1));
}
