//! The dead letter view's API (list, replay one and many, purge one, many and all), cancel as a
//! job action (waiting, delayed, active; a finished job is refused), a job's durable steps in
//! its detail, and read-only mode refusing the new actions: real HTTP requests on a temp SQLite
//! file and on a redis-server started per test.

#[macro_use]
mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use oxq::prelude::*;
use oxq_dashboard::DashboardOptions;
use serde_json::{Value, json};
use support::{COMPLETED, DELAYED, FAILED, Served, TestStore, WAITING, seed};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const WAIT: Duration = Duration::from_secs(30);

on_both_stores!(
    dead_letters_are_listed_replayed_and_purged,
    cancel_fails_a_job_not_finished,
    a_jobs_detail_shows_its_steps,
    read_only_refuses_cancel_and_dead_letter_actions,
);

/// Queue `orders` sends its dead jobs to `orders-dead`; a worker fails `n` jobs of it for good
/// (one attempt each, the reason `boom`). Answers their ids.
async fn dead_jobs(backend: &Arc<dyn oxq::Backend>, n: usize) -> Vec<String> {
    let orders: Queue<Value> = Queue::new(backend.clone(), "orders").expect("a queue name");
    orders
        .set_dead_letter_queue(Some("orders-dead"))
        .await
        .expect("a dead letter queue");
    let mut ids = Vec::new();
    for i in 0..n {
        let job = orders
            .add("ship", json!({ "order": i }), JobOptions::new().attempts(1))
            .await
            .expect("add");
        ids.push(job.id().to_string());
    }
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(&orders, options, |_job: Job<Value>| async move {
        Err::<Value, _>(std::io::Error::other("boom"))
    });
    let mut failed = 0;
    while failed < n {
        let event = tokio::time::timeout(WAIT, received.recv())
            .await
            .expect("the worker fails the jobs within 30 s")
            .expect("the worker is running");
        if matches!(
            event,
            WorkerEvent::Failed {
                retrying: false,
                ..
            }
        ) {
            failed += 1;
        }
    }
    worker.close().await.expect("the worker closes");
    ids
}

async fn post_json(dashboard: &Served, path: &str, body: &Value) -> support::Response {
    dashboard
        .send(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            &body.to_string(),
        )
        .await
}

fn dead_ids(list: &Value) -> Vec<String> {
    list["dead_letters"]
        .as_array()
        .unwrap_or_else(|| panic!("no dead_letters in {list}"))
        .iter()
        .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn dead_letters_are_listed_replayed_and_purged(store: TestStore) {
    let sources = dead_jobs(&store.backend, 3).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;

    let source = dashboard
        .get("/api/queues/orders/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(source["dead_letter_queue"], "orders-dead", "{source}");
    assert_eq!(source["total"], 0, "{source}");

    let list = dashboard
        .get("/api/queues/orders-dead/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(list["total"], 3, "{list}");
    assert_eq!(list["dead_letter_queue"], Value::Null);
    let dead = list["dead_letters"].as_array().expect("dead letters");
    let from: HashSet<&str> = dead
        .iter()
        .filter_map(|d| d["source_id"].as_str())
        .collect();
    assert_eq!(
        from,
        sources.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    for d in dead {
        assert_eq!(d["source_queue"], "orders", "{d}");
        assert_eq!(d["name"], "ship", "{d}");
        assert_eq!(d["failed_reason"], "boom", "{d}");
        assert_eq!(d["attempts_made"], 1, "{d}");
        assert_eq!(d["replays"], 0, "{d}");
        assert!(d["data"]["order"].is_u64(), "{d}");
        assert!(d["dead_at"].as_u64().is_some_and(|t| t > 0), "{d}");
    }
    let ids = dead_ids(&list);
    let paged = dashboard
        .get("/api/queues/orders-dead/dead-letters?offset=1&limit=1")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(dead_ids(&paged), [ids[1].clone()]);

    // replay one: a new waiting job in the source queue, with the dead job's data
    let replayed = dashboard
        .post(&format!(
            "/api/queues/orders-dead/dead-letters/{}/replay",
            ids[0]
        ))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(replayed["replayed"], ids[0].as_str());
    assert_eq!(replayed["source_queue"], "orders");
    let new_id = replayed["job_id"].as_str().expect("the new job's id");
    let new_job = dashboard
        .get(&format!("/api/queues/orders/jobs/{new_id}"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(new_job["state"], "waiting", "{new_job}");
    assert_eq!(new_job["data"], dead[0]["data"], "{new_job}");
    assert_eq!(new_job["attempts_made"], 0, "{new_job}");

    // replay many: one answer per id, in order
    let many = post_json(
        &dashboard,
        "/api/queues/orders-dead/dead-letters/replay",
        &json!({ "ids": [ids[1], "no-such-dead-job"] }),
    )
    .await
    .expect(StatusCode::OK)
    .json;
    assert_eq!(many["replayed"], 1, "{many}");
    assert_eq!(many["results"][0]["id"], ids[1].as_str());
    assert_eq!(many["results"][0]["replayed"], true);
    assert_eq!(many["results"][0]["source_queue"], "orders");
    assert_eq!(many["results"][1]["replayed"], false, "{many}");
    let orders = dashboard
        .get("/api/queues/orders")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(orders["counts"]["waiting"], 2, "{orders}");

    let list = dashboard
        .get("/api/queues/orders-dead/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    let replays: Vec<u64> = list["dead_letters"]
        .as_array()
        .expect("dead letters")
        .iter()
        .map(|d| d["replays"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(replays, [1, 1, 0], "{list}");
    assert_eq!(list["dead_letters"][0]["replayed_as"], new_id, "{list}");

    dashboard
        .post("/api/queues/orders-dead/dead-letters/no-such-dead-job/replay")
        .await
        .expect(StatusCode::NOT_FOUND);
    dashboard
        .post("/api/queues/nowhere/dead-letters/1/replay")
        .await
        .expect(StatusCode::NOT_FOUND);
    for bad in [json!({}), json!({ "ids": [] }), json!({ "idz": ["1"] })] {
        post_json(
            &dashboard,
            "/api/queues/orders-dead/dead-letters/replay",
            &bad,
        )
        .await
        .expect(StatusCode::BAD_REQUEST);
    }
    dashboard
        .send(
            Method::POST,
            "/api/queues/orders-dead/dead-letters/purge",
            &[],
            "{nope",
        )
        .await
        .expect(StatusCode::BAD_REQUEST);

    // purge one, then the others at once
    let purged = dashboard
        .post(&format!(
            "/api/queues/orders-dead/dead-letters/{}/purge",
            ids[0]
        ))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(purged["purged"], 1);
    dashboard
        .post(&format!(
            "/api/queues/orders-dead/dead-letters/{}/purge",
            ids[0]
        ))
        .await
        .expect(StatusCode::NOT_FOUND);
    let purged = post_json(
        &dashboard,
        "/api/queues/orders-dead/dead-letters/purge",
        &json!({ "ids": [ids[1]] }),
    )
    .await
    .expect(StatusCode::OK)
    .json;
    assert_eq!(purged["purged"], 1);
    let purged = post_json(
        &dashboard,
        "/api/queues/orders-dead/dead-letters/purge",
        &json!({ "all": true }),
    )
    .await
    .expect(StatusCode::OK)
    .json;
    assert_eq!(purged["purged"], 1);
    let list = dashboard
        .get("/api/queues/orders/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(list["total"], 0, "{list}");
    let orders = dashboard
        .get("/api/queues/orders")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        orders["counts"]["waiting"], 2,
        "purging dead jobs leaves their replays: {orders}"
    );
}

async fn job_of(dashboard: &Served, queue: &str, id: &str) -> Value {
    dashboard
        .get(&format!("/api/queues/{queue}/jobs/{id}"))
        .await
        .expect(StatusCode::OK)
        .json
}

async fn cancel_fails_a_job_not_finished(store: TestStore) {
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;

    for (id, prev) in [(WAITING[0], "waiting"), (DELAYED, "delayed")] {
        let answer = dashboard
            .post(&format!("/api/queues/emails/jobs/{id}/cancel"))
            .await
            .expect(StatusCode::OK)
            .json;
        assert_eq!(
            answer,
            json!({ "cancelled": id, "outcome": "cancelled", "prev": prev })
        );
        let job = job_of(&dashboard, "emails", id).await;
        assert_eq!(job["state"], "failed", "{job}");
        assert_eq!(job["failed_reason"], oxq::CANCELLED_REASON, "{job}");
    }
    let refused = dashboard
        .post(&format!("/api/queues/emails/jobs/{}/cancel", COMPLETED[0]))
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        refused.text.contains("is completed already"),
        "{}",
        refused.text
    );
    dashboard
        .post("/api/queues/emails/jobs/no-such-job/cancel")
        .await
        .expect(StatusCode::NOT_FOUND);

    // an active job: failed at once; its processor sees its token at the next lock renewal
    let slow: Queue<Value> = Queue::new(store.backend.clone(), "slow").expect("a queue name");
    slow.add("long", json!(1), JobOptions::new().job_id("long"))
        .await
        .expect("add");
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<()>();
    // renewals every 200 ms
    let options = WorkerOptions::new()
        .concurrency(1)
        .lock_duration(Duration::from_millis(800));
    let worker = Worker::start(&slow, options, move |job: Job<Value>| {
        let (started_tx, seen_tx) = (started_tx.clone(), seen_tx.clone());
        async move {
            let _ = started_tx.send(());
            job.cancelled().await;
            let _ = seen_tx.send(());
            Ok::<_, BoxError>(json!("ignored"))
        }
    });
    tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("the job starts")
        .expect("channel");
    let answer = dashboard
        .post("/api/queues/slow/jobs/long/cancel")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(
        answer,
        json!({ "cancelled": "long", "outcome": "requested", "prev": null })
    );
    tokio::time::timeout(WAIT, seen.recv())
        .await
        .expect("the processor sees its token")
        .expect("channel");
    worker.close().await.expect("the worker closes");
    let job = job_of(&dashboard, "slow", "long").await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["failed_reason"], oxq::CANCELLED_REASON, "{job}");
}

async fn a_jobs_detail_shows_its_steps(store: TestStore) {
    let saga: Queue<Value> = Queue::new(store.backend.clone(), "saga").expect("a queue name");
    saga.add(
        "order",
        json!({ "order": 7 }),
        JobOptions::new().job_id("o-1").attempts(2),
    )
    .await
    .expect("add");
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events.send(event.clone());
    });
    let worker = Worker::start(&saga, options, |job: Job<Value>| async move {
        let first_try = job.attempts_made() == 0;
        job.step("fetch", || async { Ok::<_, BoxError>(json!({ "id": 7 })) })
            .await?;
        job.step("charge", || async move {
            if first_try {
                Err(BoxError::from("card declined"))
            } else {
                Ok("receipt-1".to_owned())
            }
        })
        .await?;
        // a durable step sleep, not a wait in the test: the job parks in delayed for an hour
        // (nothing waits it out) so its detail shows a sleeping step
        job.sleep("cool-off", Duration::from_secs(3600)).await?;
        Ok::<_, BoxError>(json!("done"))
    });
    loop {
        let event = tokio::time::timeout(WAIT, received.recv())
            .await
            .expect("the job goes to sleep within 30 s")
            .expect("the worker is running");
        if matches!(event, WorkerEvent::Delayed { .. }) {
            break;
        }
    }
    worker.close().await.expect("the worker closes");
    saga.signal(&JobId("o-1".into()), "approved", json!({ "by": "ada" }))
        .await
        .expect("a signal");

    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;
    let job = job_of(&dashboard, "saga", "o-1").await;
    assert_eq!(job["state"], "delayed", "{job}");
    let steps = job["steps"]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3, "{job}");
    let by_name = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name} in {job}"))
    };
    let charge = by_name("charge");
    assert_eq!(charge["status"], "done");
    assert_eq!(charge["attempts"], 2, "failed once, then returned");
    assert_eq!(charge["result"], "receipt-1");
    assert_eq!(charge["error"], Value::Null);
    let fetch = by_name("fetch");
    assert_eq!(fetch["status"], "done");
    assert_eq!(fetch["attempts"], 1);
    assert_eq!(fetch["result"], json!({ "id": 7 }));
    let nap = by_name("cool-off");
    assert_eq!(nap["status"], "sleeping");
    assert_eq!(nap["attempts"], Value::Null);
    assert_eq!(nap["until"], job["due_at"], "{job}");
    assert_eq!(
        job["steps"]["signals"],
        json!([{ "name": "approved", "payload": { "by": "ada" } }])
    );

    // a job that never used steps has none; hidden data hides results and payloads
    let hidden = Served::start(&store.backend, DashboardOptions::new().hide_data(true)).await;
    let job = job_of(&hidden, "saga", "o-1").await;
    let charge = &job["steps"]["steps"][0];
    assert_eq!(charge["name"], "charge");
    assert_eq!(charge["data_hidden"], true);
    assert!(charge.get("result").is_none(), "{job}");
    assert!(!job.to_string().contains("receipt-1"), "{job}");
    assert!(!job.to_string().contains("ada"), "{job}");
    saga.add("plain", json!(1), JobOptions::new().job_id("plain"))
        .await
        .expect("add");
    let plain = job_of(&dashboard, "saga", "plain").await;
    assert_eq!(plain["steps"], json!({ "steps": [], "signals": [] }));
}

async fn read_only_refuses_cancel_and_dead_letter_actions(store: TestStore) {
    seed(&store.backend).await;
    let ids = dead_jobs(&store.backend, 1).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new().read_only(true)).await;
    let list = dashboard
        .get("/api/queues/orders-dead/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    let dead = dead_ids(&list);
    assert_eq!(dead.len(), 1, "{list}");
    for path in [
        format!("/api/queues/emails/jobs/{}/cancel", WAITING[0]),
        format!("/api/queues/emails/jobs/{DELAYED}/cancel"),
        format!("/api/queues/orders-dead/dead-letters/{}/replay", dead[0]),
        format!("/api/queues/orders-dead/dead-letters/{}/purge", dead[0]),
    ] {
        let refused = dashboard.post(&path).await.expect(StatusCode::FORBIDDEN);
        assert_eq!(
            refused.json["error"], "the dashboard is read-only",
            "{path}"
        );
    }
    for (path, body) in [
        ("replay", json!({ "ids": [dead[0]] })),
        ("purge", json!({ "all": true })),
    ] {
        let path = format!("/api/queues/orders-dead/dead-letters/{path}");
        post_json(&dashboard, &path, &body)
            .await
            .expect(StatusCode::FORBIDDEN);
    }
    assert_eq!(
        job_of(&dashboard, "emails", WAITING[0]).await["state"],
        "waiting"
    );
    assert_eq!(
        job_of(&dashboard, "emails", DELAYED).await["state"],
        "delayed"
    );
    assert_eq!(
        job_of(&dashboard, "emails", FAILED).await["state"],
        "failed"
    );
    let list = dashboard
        .get("/api/queues/orders-dead/dead-letters")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["dead_letters"][0]["replays"], 0, "{list}");
    let orders = dashboard
        .get("/api/queues/orders")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(orders["counts"]["waiting"], 0, "{orders}");
    assert_eq!(ids.len(), 1);
}
