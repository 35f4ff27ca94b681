//! `GET /api/queues/{queue}/metrics` through real HTTP requests on both stores: a worker with
//! `WorkerOptions::metrics` on a manual clock completes and fails jobs across minutes, and the
//! API answers the series in BullMQ's `getMetrics` shape, and the chart's `/throughput` series
//! is read from it; a bad `type` is refused.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use oxq::{
    Clock, Job, JobOptions, ManualClock, Queue, QueueOptions, Worker, WorkerEvent, WorkerOptions,
};
use oxq_dashboard::DashboardOptions;
use serde_json::{Value, json};
use support::{Served, TestStore};

on_both_stores!(the_api_answers_the_series_a_worker_recorded);

const MINUTE: u64 = 60_000;

/// Adds `names` (a name starting with `fail` fails for good) and runs a worker with metrics
/// until each has ended, told by the worker's listener.
async fn run(queue: &Queue<Value>, names: &[&str]) {
    for name in names {
        queue
            .add(name, json!({}), JobOptions::new())
            .await
            .expect("add");
    }
    let (ended, mut ends) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new()
        .metrics(10)
        .on_event(move |event| match event {
            WorkerEvent::Completed { .. }
            | WorkerEvent::Failed {
                retrying: false, ..
            } => {
                let _ = ended.send(());
            }
            _ => {}
        });
    let worker = Worker::start(queue, options, |job: Job<Value>| async move {
        if job.name().starts_with("fail") {
            Err(oxq::BoxError::from("planned"))
        } else {
            Ok(Value::Null)
        }
    });
    for _ in names {
        tokio::time::timeout(Duration::from_secs(20), ends.recv())
            .await
            .expect("a job ends in time")
            .expect("the worker is listening");
    }
    worker.close().await.expect("close");
}

async fn the_api_answers_the_series_a_worker_recorded(store: TestStore) {
    let clock = Arc::new(ManualClock::new(3_000_000_000_000 + 500));
    let queue: Queue<Value> = Queue::new(store.backend.clone(), "mail")
        .expect("a queue name")
        .with_options(QueueOptions::new().clock(clock.clone()))
        .expect("queue options");
    let start = clock.now_ms();
    run(&queue, &["a", "b", "fail-1"]).await;
    clock.advance(Duration::from_millis(3 * MINUTE));
    run(&queue, &["c"]).await;

    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;
    let completed = dashboard
        .get("/api/queues/mail/metrics?type=completed")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        completed,
        json!({
            "queue": "mail",
            "type": "completed",
            "meta": {"count": 3, "prevTS": start + 3 * MINUTE, "prevCount": 2},
            "data": [0, 0, 2],
            "count": 3,
        })
    );
    let part = dashboard
        .get("/api/queues/mail/metrics?type=completed&start=2&end=-1")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(part["data"], json!([2]), "{part}");
    assert_eq!(part["count"], json!(3), "{part}");
    let failed = dashboard
        .get("/api/queues/mail/metrics?type=failed")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        failed["meta"],
        json!({"count": 1, "prevTS": start, "prevCount": 0}),
        "{failed}"
    );
    assert_eq!(failed["data"], json!([]), "{failed}");

    // the chart's series reads the recorded metrics: minute M0 (start) 2 completed and 1
    // failed, then two quiet minutes, then the open minute M0 + 3 with 1 completed
    let clock_dyn: Arc<dyn Clock> = clock.clone();
    let charted = Served::start(&store.backend, DashboardOptions::new().clock(clock_dyn)).await;
    let series = charted
        .get("/api/queues/mail/throughput?minutes=4")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(series["source"], "metrics", "{series}");
    assert_eq!(series["from"], start - 500, "{series}");
    assert_eq!(series["completed"], json!([2, 0, 0, 1]), "{series}");
    assert_eq!(series["failed"], json!([1, 0, 0, 0]), "{series}");
    assert_eq!(series["complete"], true, "{series}");
    // a minute before the oldest point kept reads as 0 and says the series is partial
    let longer = charted
        .get("/api/queues/mail/throughput?minutes=5")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(longer["completed"], json!([0, 2, 0, 0, 1]), "{longer}");
    assert_eq!(longer["complete"], false, "{longer}");

    dashboard
        .get("/api/queues/mail/metrics?type=waiting")
        .await
        .expect(StatusCode::BAD_REQUEST);
    dashboard
        .get("/api/queues/nope/metrics?type=failed")
        .await
        .expect(StatusCode::NOT_FOUND);
}
