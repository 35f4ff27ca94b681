//! `GET /api/queues/{queue}/workers` through real HTTP requests on both stores: a running
//! worker is listed with its name while it runs and is gone once it closed.

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use oxq::{Job, JobOptions, Queue, Worker, WorkerOptions};
use oxq_dashboard::DashboardOptions;
use serde_json::{Value, json};
use support::{Served, TestStore};

on_both_stores!(a_running_worker_is_listed_until_it_closes);

/// The names the API lists for `queue`.
async fn names(dashboard: &Served, queue: &str) -> Vec<Value> {
    let answer = dashboard
        .get(&format!("/api/queues/{queue}/workers"))
        .await
        .expect(StatusCode::OK)
        .json;
    answer["workers"]
        .as_array()
        .unwrap_or_else(|| panic!("no workers in {answer}"))
        .iter()
        .map(|w| {
            assert!(w["addr"].as_str().is_some_and(|a| !a.is_empty()), "{w}");
            assert!(w["age_ms"].is_u64() && w["idle_ms"].is_u64(), "{w}");
            w["name"].clone()
        })
        .collect()
}

async fn a_running_worker_is_listed_until_it_closes(store: TestStore) {
    let queue: Queue<Value> = Queue::new(store.backend.clone(), "mail").expect("a queue name");
    queue
        .add("send", json!({}), JobOptions::new())
        .await
        .expect("add");
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;
    assert_eq!(names(&dashboard, "mail").await, Vec::<Value>::new());
    let worker = Worker::start(
        &queue,
        WorkerOptions::new().name("mailer-1"),
        |_job: Job<Value>| async { Ok::<_, std::io::Error>(()) },
    );
    // A poll: the worker announces itself from a task of its own, with nothing to wait on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while names(&dashboard, "mail").await != vec![json!("mailer-1")] {
        assert!(Instant::now() < deadline, "the worker was never listed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.close().await.expect("close");
    assert_eq!(names(&dashboard, "mail").await, Vec::<Value>::new());
    dashboard
        .get("/api/queues/nope/workers")
        .await
        .expect(StatusCode::NOT_FOUND);
}
