//! The dashboard's JSON API, `/metrics`, auth and read-only mode through real HTTP requests,
//! on a temp SQLite file and on a redis-server started per test.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::http::{Method, StatusCode, header};
use base64::Engine;
use oxq_dashboard::{BoundDashboard, DashboardError, DashboardOptions};
use serde_json::Value;
use support::{
    CHILD, COMPLETED, DELAYED, FAILED, FAILED_ATTEMPTS, FAILURE, PARENT, Served, TestStore,
    WAITING, seed,
};

on_both_stores!(
    queues_jobs_and_a_jobs_detail,
    each_action_changes_the_store,
    credentials_are_required_when_set,
    read_only_refuses_actions_and_hidden_data_is_left_out,
    metrics_match_the_counts,
    a_non_loopback_address_is_refused_without_auth,
);

fn count(queue: &Value, state: &str) -> u64 {
    queue["counts"][state]
        .as_u64()
        .unwrap_or_else(|| panic!("no count of {state} in {queue}"))
}

fn ids(page: &Value) -> Vec<String> {
    page["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no jobs in {page}"))
        .iter()
        .map(|job| job["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn queues_jobs_and_a_jobs_detail(store: TestStore) {
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;

    let queues = dashboard
        .get("/api/queues")
        .await
        .expect(StatusCode::OK)
        .json;
    let by_name: HashMap<&str, &Value> = queues
        .as_array()
        .expect("a list of queues")
        .iter()
        .map(|q| (q["name"].as_str().unwrap_or_default(), q))
        .collect();
    let emails = by_name["emails"];
    assert_eq!(count(emails, "completed"), 3);
    assert_eq!(count(emails, "failed"), 1);
    assert_eq!(count(emails, "delayed"), 1);
    assert_eq!(count(emails, "waiting"), 2);
    assert_eq!(count(emails, "active"), 0);
    assert_eq!(emails["paused"], false);
    assert_eq!(count(by_name["reports"], "waiting"), 2);

    // paging through the completed jobs, oldest first, two at a time
    let first = dashboard
        .get("/api/queues/emails/jobs?state=completed&limit=2&ascending=true")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(first["total"], 3);
    let second = dashboard
        .get("/api/queues/emails/jobs?state=completed&offset=2&limit=2&ascending=true")
        .await
        .expect(StatusCode::OK)
        .json;
    let mut seen = ids(&first);
    assert_eq!(seen.len(), 2);
    seen.extend(ids(&second));
    seen.sort();
    assert_eq!(seen, COMPLETED);
    assert_eq!(
        first["jobs"][0]["data"]["to"]
            .as_str()
            .map(|s| s.ends_with("@example.com")),
        Some(true)
    );
    dashboard
        .get("/api/queues/emails/jobs?state=sleeping")
        .await
        .expect(StatusCode::BAD_REQUEST);
    dashboard
        .get("/api/queues/nowhere/jobs?state=failed")
        .await
        .expect(StatusCode::NOT_FOUND);

    // the failed job's detail: every attempt's error, logs, attempts, timestamps
    let bad = dashboard
        .get(&format!("/api/queues/emails/jobs/{FAILED}"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(bad["state"], "failed");
    assert_eq!(bad["failed_reason"], FAILURE);
    let stacktrace = bad["stacktrace"].as_array().expect("a stacktrace");
    assert_eq!(stacktrace.len(), FAILED_ATTEMPTS as usize, "{bad}");
    assert!(
        stacktrace
            .iter()
            .all(|e| e.as_str().is_some_and(|e| e.contains(FAILURE))),
        "{bad}"
    );
    assert_eq!(bad["attempts_made"], FAILED_ATTEMPTS);
    assert_eq!(bad["attempts_started"], FAILED_ATTEMPTS);
    assert_eq!(bad["stalled_count"], 0);
    assert_eq!(bad["logs"]["total"], FAILED_ATTEMPTS);
    assert_eq!(bad["logs"]["lines"][0], "sending to \"nobody@example.com\"");
    assert_eq!(bad["data"]["to"], "nobody@example.com");
    assert_eq!(bad["options"]["attempts"], FAILED_ATTEMPTS);
    assert!(bad["timestamp"].as_u64().is_some_and(|t| t > 0), "{bad}");
    assert!(bad["finished_on"].as_u64().is_some(), "{bad}");

    let ok = dashboard
        .get(&format!("/api/queues/emails/jobs/{}", COMPLETED[0]))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(ok["return_value"]["sent"], true);

    // parent and children
    let parent = dashboard
        .get(&format!("/api/queues/reports/jobs/{PARENT}"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(parent["parent"], Value::Null);
    assert_eq!(parent["children"]["counts"]["pending"], 1, "{parent}");
    assert_eq!(parent["children"]["pending"][0]["id"], CHILD);
    assert_eq!(parent["children"]["pending"][0]["queue"], "reports");
    let child = dashboard
        .get(&format!("/api/queues/reports/jobs/{CHILD}"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(child["parent"]["id"], PARENT, "{child}");
    assert_eq!(child["parent"]["queue"], "reports");

    dashboard
        .get("/api/queues/emails/jobs/no-such-job")
        .await
        .expect(StatusCode::NOT_FOUND);

    // search by id across queues
    let found = dashboard
        .get(&format!("/api/search?id={PARENT}"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["queue"], "reports");
    assert_eq!(found[0]["job"]["id"], PARENT);
    let nothing = dashboard
        .get("/api/search?id=nope")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(nothing, Value::Array(vec![]));

    // schedulers with their next run
    let reports: oxq::Queue = oxq::Queue::new(store.backend.clone(), "reports").expect("a name");
    reports
        .upsert_job_scheduler(
            "hourly",
            oxq::Repeat::every(std::time::Duration::from_secs(3600)),
            oxq::JobTemplate::new("tick", Value::Null),
        )
        .await
        .expect("a scheduler");
    let schedulers = dashboard
        .get("/api/queues/reports/schedulers")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(schedulers["total"], 1, "{schedulers}");
    assert_eq!(schedulers["schedulers"][0]["id"], "hourly");
    assert_eq!(schedulers["schedulers"][0]["name"], "tick");
    assert!(
        schedulers["schedulers"][0]["next_run"].as_u64().is_some(),
        "{schedulers}"
    );
}

async fn state_of(dashboard: &Served, id: &str) -> String {
    let job = dashboard
        .get(&format!("/api/queues/emails/jobs/{id}"))
        .await
        .expect(StatusCode::OK)
        .json;
    job["state"].as_str().unwrap_or_default().to_owned()
}

async fn each_action_changes_the_store(store: TestStore) {
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new()).await;

    let retried = dashboard
        .post(&format!("/api/queues/emails/jobs/{FAILED}/retry"))
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(retried["retried"], FAILED);
    assert_eq!(state_of(&dashboard, FAILED).await, "waiting");

    dashboard
        .post(&format!("/api/queues/emails/jobs/{DELAYED}/promote"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(state_of(&dashboard, DELAYED).await, "waiting");

    dashboard
        .post(&format!("/api/queues/emails/jobs/{}/remove", WAITING[0]))
        .await
        .expect(StatusCode::OK);
    dashboard
        .get(&format!("/api/queues/emails/jobs/{}", WAITING[0]))
        .await
        .expect(StatusCode::NOT_FOUND);
    dashboard
        .post("/api/queues/emails/jobs/no-such-job/retry")
        .await
        .expect(StatusCode::NOT_FOUND);

    dashboard
        .post("/api/queues/emails/pause")
        .await
        .expect(StatusCode::OK);
    let emails = dashboard
        .get("/api/queues/emails")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(emails["paused"], true);
    dashboard
        .post("/api/queues/emails/resume")
        .await
        .expect(StatusCode::OK);
    let emails = dashboard
        .get("/api/queues/emails")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(emails["paused"], false);

    let cleaned = dashboard
        .post("/api/queues/emails/clean?state=completed&grace_ms=0")
        .await
        .expect(StatusCode::OK)
        .json;
    let mut removed: Vec<&str> = cleaned["removed"]
        .as_array()
        .expect("the removed ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    removed.sort();
    assert_eq!(removed, COMPLETED);
    let emails = dashboard
        .get("/api/queues/emails")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(count(&emails, "completed"), 0);
    // retried bad, promoted later, and w-2
    assert_eq!(count(&emails, "waiting"), 3, "{emails}");
}

async fn credentials_are_required_when_set(store: TestStore) {
    seed(&store.backend).await;
    let dashboard = Served::start(&store.backend, DashboardOptions::new().token("t0ken")).await;
    for path in [
        "/api/queues",
        "/api/queues/emails/jobs?state=failed",
        "/metrics",
    ] {
        let refused = dashboard.get(path).await.expect(StatusCode::UNAUTHORIZED);
        assert_eq!(
            refused
                .headers
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        dashboard
            .call(Method::GET, path, Some("Bearer wrong"))
            .await
            .expect(StatusCode::UNAUTHORIZED);
        dashboard
            .call(Method::GET, path, Some("Bearer t0ken"))
            .await
            .expect(StatusCode::OK);
    }
    dashboard
        .post(&format!("/api/queues/emails/jobs/{FAILED}/retry"))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(state_of_with(&dashboard, "Bearer t0ken").await, "failed");

    let basic = Served::start(
        &store.backend,
        DashboardOptions::new().user_password("ada", "pw"),
    )
    .await;
    basic
        .get("/api/queues")
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    basic
        .call(
            Method::GET,
            "/api/queues",
            Some(&format!("Basic {}", encode("ada:pw"))),
        )
        .await
        .expect(StatusCode::OK);
    basic
        .call(
            Method::GET,
            "/api/queues",
            Some(&format!("Basic {}", encode("ada:px"))),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

async fn state_of_with(dashboard: &Served, authorization: &str) -> String {
    let job = dashboard
        .call(
            Method::GET,
            &format!("/api/queues/emails/jobs/{FAILED}"),
            Some(authorization),
        )
        .await
        .expect(StatusCode::OK)
        .json;
    job["state"].as_str().unwrap_or_default().to_owned()
}

async fn read_only_refuses_actions_and_hidden_data_is_left_out(store: TestStore) {
    seed(&store.backend).await;
    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().read_only(true).hide_data(true),
    )
    .await;
    for path in [
        format!("/api/queues/emails/jobs/{FAILED}/retry"),
        format!("/api/queues/emails/jobs/{FAILED}/remove"),
        format!("/api/queues/emails/jobs/{DELAYED}/promote"),
        "/api/queues/emails/pause".to_owned(),
        "/api/queues/emails/resume".to_owned(),
        "/api/queues/emails/clean?state=completed".to_owned(),
    ] {
        let refused = dashboard.post(&path).await.expect(StatusCode::FORBIDDEN);
        assert_eq!(
            refused.json["error"], "the dashboard is read-only",
            "{path}"
        );
    }
    let emails = dashboard
        .get("/api/queues/emails")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(count(&emails, "failed"), 1);
    assert_eq!(count(&emails, "delayed"), 1);
    assert_eq!(count(&emails, "completed"), 3);
    assert_eq!(emails["paused"], false);

    let bad = dashboard
        .get(&format!("/api/queues/emails/jobs/{FAILED}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(bad.json["data_hidden"], true);
    assert!(bad.json.get("data").is_none(), "{}", bad.text);
    assert_eq!(bad.json["failed_reason"], FAILURE);
    let ok = dashboard
        .get(&format!("/api/queues/emails/jobs/{}", COMPLETED[0]))
        .await
        .expect(StatusCode::OK);
    assert!(ok.json.get("return_value").is_none(), "{}", ok.text);
    let page = dashboard
        .get("/api/queues/emails/jobs?state=completed")
        .await
        .expect(StatusCode::OK);
    assert!(!page.text.contains("@example.com"), "{}", page.text);
}

/// The value of `name` with exactly `labels` in a parsed scrape.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = scrape.samples.iter().find(|s| {
        s.metric == name
            && s.labels.len() == labels.len()
            && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
    });
    match found.map(|s| &s.value) {
        Some(
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v),
        ) => *v,
        other => panic!("no sample {name}{labels:?}: {other:?}"),
    }
}

async fn metrics_match_the_counts(store: TestStore) {
    let worker_metrics = seed(&store.backend).await;
    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().worker_metrics(worker_metrics),
    )
    .await;
    dashboard
        .post("/api/queues/reports/pause")
        .await
        .expect(StatusCode::OK);
    let scraped = dashboard.get("/metrics").await.expect(StatusCode::OK);
    let content_type = scraped
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert!(
        content_type.is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{content_type:?}"
    );
    let lines = scraped.text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");

    let queues = dashboard
        .get("/api/queues")
        .await
        .expect(StatusCode::OK)
        .json;
    for queue in queues.as_array().expect("queues") {
        let name = queue["name"].as_str().expect("a name");
        for (state, expected) in queue["counts"].as_object().expect("counts") {
            let value = sample(&scrape, "oxq_jobs", &[("queue", name), ("state", state)]);
            assert_eq!(Some(value as u64), expected.as_u64(), "{name} {state}");
        }
        let paused = sample(&scrape, "oxq_queue_paused", &[("queue", name)]);
        assert_eq!(paused == 1.0, queue["paused"] == true, "{name}");
    }
    assert_eq!(
        sample(
            &scrape,
            "oxq_jobs",
            &[("queue", "emails"), ("state", "completed")]
        ),
        3.0
    );
    assert_eq!(
        sample(&scrape, "oxq_queue_paused", &[("queue", "reports")]),
        1.0
    );
    assert_eq!(
        sample(&scrape, "oxq_jobs_completed_total", &[("queue", "emails")]),
        3.0
    );
    assert_eq!(
        sample(&scrape, "oxq_jobs_failed_total", &[("queue", "emails")]),
        1.0
    );
    assert_eq!(
        sample(&scrape, "oxq_attempts_failed_total", &[("queue", "emails")]),
        f64::from(FAILED_ATTEMPTS)
    );
}

async fn a_non_loopback_address_is_refused_without_auth(store: TestStore) {
    let everywhere: SocketAddr = "0.0.0.0:0".parse().expect("an address");
    let refused = BoundDashboard::bind(everywhere, store.backend.clone(), DashboardOptions::new())
        .await
        .expect_err("no auth on 0.0.0.0");
    assert!(
        matches!(refused, DashboardError::NonLoopbackWithoutAuth { .. }),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("refusing to listen on 0.0.0.0:0 without auth"),
        "{refused}"
    );
    let guarded = BoundDashboard::bind(
        everywhere,
        store.backend.clone(),
        DashboardOptions::new().token("t0ken"),
    )
    .await;
    assert!(guarded.is_ok(), "{guarded:?}");
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    assert!(
        BoundDashboard::bind(loopback, store.backend.clone(), DashboardOptions::new())
            .await
            .is_ok()
    );
}
