//! The API's search by a text in the data (its filters and limits) and the per-minute
//! throughput series computed from finished jobs (moved by a manual clock), through real HTTP
//! requests on a temp SQLite file and on a redis-server started per test.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use oxq::prelude::*;
use oxq::{Clock, ManualClock, QueueOptions};
use oxq_dashboard::DashboardOptions;
use serde_json::{Value, json};
use support::{COMPLETED, FAILED, Served, TestStore, seed};

on_both_stores!(
    search_by_a_text_in_the_data,
    throughput_counts_finished_jobs_per_minute,
);

/// `(queue, id)` of each match, sorted.
fn matches(answer: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = answer["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("no matches in {answer}"))
        .iter()
        .map(|m| {
            (
                m["queue"].as_str().unwrap_or_default().to_owned(),
                m["job"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn emails(ids: &[&str]) -> Vec<(String, String)> {
    let mut found: Vec<_> = ids
        .iter()
        .map(|id| ("emails".to_owned(), (*id).to_owned()))
        .collect();
    found.sort();
    found
}

async fn search_by_a_text_in_the_data(store: TestStore) {
    seed(&store.backend).await;
    // 9 jobs: emails holds 3 completed, 1 failed, 1 delayed, 2 waiting; reports 2 waiting
    let all_jobs = 9;
    let dashboard = Served::start(&store.backend, DashboardOptions::new().read_only(true)).await;

    let nobody = dashboard
        .get("/api/search/data?text=nobody")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(matches(&nobody), emails(&[FAILED]), "{nobody}");
    assert_eq!(nobody["matches"][0]["job"]["state"], "failed");
    assert_eq!(
        nobody["matches"][0]["job"]["data"]["to"],
        "nobody@example.com"
    );
    assert_eq!(nobody["scanned"], all_jobs, "{nobody}");
    assert_eq!(nobody["complete"], true);

    // case-insensitive, across states
    let example = dashboard
        .get("/api/search/data?text=EXAMPLE.COM")
        .await
        .expect(StatusCode::OK)
        .json;
    let mut expected = COMPLETED.to_vec();
    expected.extend([FAILED, "later"]);
    assert_eq!(matches(&example), emails(&expected), "{example}");

    // narrowed to a queue and a state
    let completed = dashboard
        .get("/api/search/data?text=example&queue=emails&state=completed")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(matches(&completed), emails(&COMPLETED), "{completed}");
    assert_eq!(completed["scanned"], 3);
    let month = dashboard
        .get("/api/search/data?text=%22month%22%3A5&queue=reports")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        matches(&month),
        vec![("reports".to_owned(), support::PARENT.to_owned())],
        "{month}"
    );

    // the limits: matches, then jobs read
    let two = dashboard
        .get("/api/search/data?text=example&limit=2")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(matches(&two).len(), 2, "{two}");
    assert_eq!(two["complete"], false);
    let three_read = dashboard
        .get("/api/search/data?text=nothing-has-this&scan=3")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(three_read["scanned"], 3, "{three_read}");
    assert_eq!(three_read["complete"], false);
    assert_eq!(matches(&three_read), vec![]);

    // bad requests
    for bad in [
        "/api/search/data?text=",
        "/api/search/data?text=%20%20",
        "/api/search/data?text=x&scan=0",
        "/api/search/data?text=x&scan=50001",
        "/api/search/data?text=x&limit=0",
        "/api/search/data?text=x&state=sleeping",
        "/api/search/data",
    ] {
        dashboard.get(bad).await.expect(StatusCode::BAD_REQUEST);
    }
    let long = format!("/api/search/data?text={}", "a".repeat(201));
    dashboard.get(&long).await.expect(StatusCode::BAD_REQUEST);
    dashboard
        .get("/api/search/data?text=x&queue=nowhere")
        .await
        .expect(StatusCode::NOT_FOUND);

    // a dashboard hiding data cannot be searched by it (the matches would tell the data)
    let hidden = Served::start(&store.backend, DashboardOptions::new().hide_data(true)).await;
    let refused = hidden
        .get("/api/search/data?text=nobody")
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(refused.text.contains("hidden"), "{}", refused.text);
}

const MINUTE: Duration = Duration::from_secs(60);

/// Adds `count` jobs (failing ones when `fail`) and lets a worker on `queue` finish them.
async fn finish_jobs(queue: &Queue<Value>, count: usize, fail: bool) {
    for _ in 0..count {
        queue
            .add("work", json!({ "fail": fail }), JobOptions::new())
            .await
            .expect("add");
    }
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(queue, options, |job: Job<Value>| async move {
        if job.data()["fail"] == true {
            return Err(std::io::Error::other("no"));
        }
        Ok(Value::Null)
    });
    let mut finished = 0;
    while finished < count {
        let event = tokio::time::timeout(Duration::from_secs(30), received.recv())
            .await
            .expect("the worker finishes the jobs within 30 s")
            .expect("the worker is running");
        if matches!(
            event,
            WorkerEvent::Completed { .. } | WorkerEvent::Failed { .. }
        ) {
            finished += 1;
        }
    }
    worker.close().await.expect("the worker closes");
}

async fn throughput_counts_finished_jobs_per_minute(store: TestStore) {
    // a clock 10 s into a whole minute, two hours before the minute "start"
    let real_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
        / 60_000
        * 60_000;
    let start = real_minute + 10_000;
    let clock = Arc::new(ManualClock::new(start - 2 * 3_600_000));
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let queue: Queue<Value> = Queue::new(store.backend.clone(), "work")
        .expect("a queue name")
        .with_options(QueueOptions::new().clock(clock_dyn.clone()))
        .expect("valid options");

    finish_jobs(&queue, 1, false).await; // two hours before: outside the hour
    clock.advance(2 * 60 * MINUTE);
    finish_jobs(&queue, 2, false).await; // at `start`
    clock.advance(5 * MINUTE);
    finish_jobs(&queue, 1, false).await; // 5 minutes later
    finish_jobs(&queue, 3, true).await;
    clock.advance(5 * MINUTE); // now: start + 10 min

    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().clock(clock_dyn.clone()),
    )
    .await;
    let series = dashboard
        .get("/api/queues/work/throughput")
        .await
        .expect(StatusCode::OK)
        .json;
    // the last minute is the one now running (start + 10 min), so `start` is minute 49
    let to = real_minute + 11 * 60_000;
    assert_eq!(series["to"], to, "{series}");
    assert_eq!(series["from"], to - 60 * 60_000, "{series}");
    assert_eq!(series["minute_ms"], 60_000);
    assert_eq!(series["complete"], true);
    assert_eq!(
        series["source"], "finished jobs",
        "no worker recorded metrics"
    );
    let mut completed = vec![0_u64; 60];
    completed[49] = 2;
    completed[54] = 1;
    let mut failed = vec![0_u64; 60];
    failed[54] = 3;
    assert_eq!(series["completed"], json!(completed), "{series}");
    assert_eq!(series["failed"], json!(failed), "{series}");

    // a shorter window leaves out what finished before it
    let last_five = dashboard
        .get("/api/queues/work/throughput?minutes=5")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        last_five["completed"],
        json!([0, 0, 0, 0, 0]),
        "{last_five}"
    );
    let last_seven = dashboard
        .get("/api/queues/work/throughput?minutes=7")
        .await
        .expect(StatusCode::OK)
        .json;
    // its minutes start at start + 4 min: the jobs of start + 5 min are in its second
    assert_eq!(
        last_seven["completed"],
        json!([0, 1, 0, 0, 0, 0, 0]),
        "{last_seven}"
    );
    assert_eq!(
        last_seven["failed"],
        json!([0, 3, 0, 0, 0, 0, 0]),
        "{last_seven}"
    );

    for bad in ["minutes=0", "minutes=1441", "minutes=x"] {
        dashboard
            .get(&format!("/api/queues/work/throughput?{bad}"))
            .await
            .expect(StatusCode::BAD_REQUEST);
    }
    dashboard
        .get("/api/queues/nowhere/throughput")
        .await
        .expect(StatusCode::NOT_FOUND);
}
