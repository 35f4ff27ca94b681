//! `/metrics`' histograms and re-run counts, and a job's runs in its detail, through real HTTP
//! requests on both stores, the scrape parsed by `prometheus-parse`.
//!
//! Times are set by a `ManualClock` the queue, the worker and the processors share: a job's
//! wait and an attempt's processing time are exact. A stall is made through the store: a
//! "dead worker" takes the job under a short lock and never comes back; moving the clock past
//! it expires it on SQLite, and Redis expires it on its own clock (`PX`) within 200 ms, after
//! which the worker's stalled check (every 100 ms) recovers it. The test waits on the worker's
//! events, never sleeps.

#[macro_use]
mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use oxq::backend::{Fetch, FetchJobs};
use oxq::{
    Clock, Job, JobId, JobOptions, LockToken, ManualClock, Queue, QueueOptions, Worker,
    WorkerEvent, WorkerOptions,
};
use oxq_dashboard::{DashboardOptions, WorkerMetrics};
use prometheus_parse::{HistogramCount, Scrape, Value as Sampled};
use serde_json::{Value, json};
use support::{Served, TestStore};
use tokio::sync::mpsc;

on_both_stores!(
    histograms_count_every_attempt_and_first_start,
    a_stalled_job_is_counted_as_a_rerun_and_shown_in_its_detail,
);

/// How long a test waits for an event before it fails.
const WAIT: Duration = Duration::from_secs(30);

/// A queue named `name` on `store`, reading `clock`.
fn queue(store: &TestStore, name: &str, clock: &Arc<ManualClock>) -> Queue<Value> {
    Queue::new(store.backend.clone(), name)
        .and_then(|q| q.with_options(QueueOptions::new().clock(clock.clone())))
        .expect("a queue")
}

/// Worker options that feed `metrics` for `queue` and send every event to the receiver.
fn listening(
    metrics: &WorkerMetrics,
    queue: &str,
) -> (WorkerOptions, mpsc::UnboundedReceiver<WorkerEvent>) {
    let feed = metrics.listener(queue);
    let (tx, rx) = mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        feed(event);
        let _ = tx.send(event.clone());
    });
    (options, rx)
}

/// Waits for the event `wanted` picks out.
async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    what: &str,
    wanted: impl Fn(&WorkerEvent) -> bool,
) {
    loop {
        let event = tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
            .expect("the worker is running");
        if wanted(&event) {
            return;
        }
    }
}

fn completed(id: &str) -> impl Fn(&WorkerEvent) -> bool + '_ {
    move |e| matches!(e, WorkerEvent::Completed { job_id, .. } if job_id.as_str() == id)
}

async fn scrape(dashboard: &Served) -> Scrape {
    let text = dashboard.get("/metrics").await.expect(StatusCode::OK).text;
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

/// The value of the sample `name{labels}` (every label given, no other).
fn sample<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> &'a Sampled {
    scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == name
                && s.labels.len() == labels.len()
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .map(|s| &s.value)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

fn number(value: &Sampled) -> f64 {
    match value {
        Sampled::Counter(v) | Sampled::Gauge(v) | Sampled::Untyped(v) => *v,
        other => panic!("not a number: {other:?}"),
    }
}

/// A histogram's cumulative count at bucket bound `le`.
fn bucket(value: &Sampled, le: f64) -> f64 {
    let Sampled::Histogram(counts) = value else {
        panic!("not a histogram: {value:?}");
    };
    counts
        .iter()
        .find(|HistogramCount { less_than, .. }| *less_than == le)
        .map(|c| c.count)
        .unwrap_or_else(|| panic!("no bucket le={le} in {counts:?}"))
}

/// Four jobs added at t0 and started from t0 + 2 s by one worker (one at a time): `quick`
/// (no time), `slow` (its processor moves the clock 1.5 s), `flaky` (fails twice, its second
/// attempt retried at once) and `later` (delayed 10 s, started when the clock shows t0 + 11.5 s).
/// Processing: five attempts, 1.5 s in all. Waiting, first starts only: 2 s, 2 s, 3.5 s (after
/// `slow`) and 1.5 s (after its delay's end).
async fn histograms_count_every_attempt_and_first_start(store: TestStore) {
    let clock = Arc::new(ManualClock::starting_now());
    let q = queue(&store, "timed", &clock);
    for id in ["quick", "slow"] {
        q.add(id, json!({}), JobOptions::new().job_id(id))
            .await
            .expect("add");
    }
    q.add(
        "flaky",
        json!({}),
        JobOptions::new().job_id("flaky").attempts(2),
    )
    .await
    .expect("add");
    q.add(
        "later",
        json!({}),
        JobOptions::new()
            .job_id("later")
            .delay(Duration::from_secs(10)),
    )
    .await
    .expect("add");
    clock.advance(Duration::from_secs(2));

    let metrics = WorkerMetrics::new();
    let (options, mut events) = listening(&metrics, "timed");
    let ticking = clock.clone();
    let worker = Worker::start(&q, options.concurrency(1), move |job: Job<Value>| {
        let clock = ticking.clone();
        async move {
            match job.id().as_str() {
                "slow" => clock.advance(Duration::from_millis(1_500)),
                "flaky" => return Err(std::io::Error::other("flaky")),
                _ => {}
            }
            Ok(json!(null))
        }
    });
    for id in ["quick", "slow"] {
        wait_for(&mut events, &format!("completion of {id}"), completed(id)).await;
    }
    wait_for(&mut events, "the final failure of flaky", |e| {
        matches!(e, WorkerEvent::Failed { job_id, retrying: false, .. } if job_id.as_str() == "flaky")
    })
    .await;
    // t0 + 3.5 s now: `later` is due at t0 + 10 s
    clock.advance(Duration::from_secs(8));
    wait_for(&mut events, "completion of later", completed("later")).await;
    worker.close().await.expect("the worker closes");

    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().worker_metrics(metrics),
    )
    .await;
    let scraped = scrape(&dashboard).await;
    let timed = [("queue", "timed")];
    let processing = sample(&scraped, "oxq_job_processing_seconds", &timed);
    assert_eq!(
        number(sample(&scraped, "oxq_job_processing_seconds_count", &timed)),
        5.0
    );
    assert_eq!(
        number(sample(&scraped, "oxq_job_processing_seconds_sum", &timed)),
        1.5
    );
    assert_eq!(
        bucket(processing, 0.005),
        4.0,
        "the attempts that took no time"
    );
    assert_eq!(bucket(processing, 1.0), 4.0);
    assert_eq!(bucket(processing, 2.5), 5.0, "slow's 1.5 s");
    assert_eq!(bucket(processing, f64::INFINITY), 5.0);

    let waiting = sample(&scraped, "oxq_job_waiting_seconds", &timed);
    assert_eq!(
        number(sample(&scraped, "oxq_job_waiting_seconds_count", &timed)),
        4.0,
        "first starts only (flaky's retry is not one)"
    );
    assert_eq!(
        number(sample(&scraped, "oxq_job_waiting_seconds_sum", &timed)),
        2.0 + 2.0 + 3.5 + 1.5
    );
    assert_eq!(bucket(waiting, 1.0), 0.0);
    assert_eq!(bucket(waiting, 2.5), 3.0, "quick, slow and later");
    assert_eq!(bucket(waiting, 5.0), 4.0, "flaky, started after slow");

    assert_eq!(
        number(sample(&scraped, "oxq_jobs_completed_total", &timed)),
        3.0
    );
    assert_eq!(
        number(sample(&scraped, "oxq_attempts_failed_total", &timed)),
        2.0
    );
}

/// A job taken by a worker that died is recovered by a live worker's stalled check, then run
/// and completed: `/metrics` counts one re-run for `stalled` and none for `lock_lost`, and the
/// job's detail says it ran twice, one attempt ended, one run lost to a stall.
async fn a_stalled_job_is_counted_as_a_rerun_and_shown_in_its_detail(store: TestStore) {
    let clock = Arc::new(ManualClock::starting_now());
    let q = queue(&store, "stalls", &clock);
    q.add("orphan", json!({}), JobOptions::new().job_id("orphan"))
        .await
        .expect("add");
    let taken = store
        .backend
        .job_move_to_active(FetchJobs {
            queue: q.queue_ref().clone(),
            fetch: Fetch {
                token: LockToken("dead-worker:1".to_owned()),
                lock_duration: Duration::from_millis(200),
                max_jobs: 1,
                worker_name: Some("dead-worker".to_owned()),
                limiter: None,
            },
            now: clock.now_ms(),
        })
        .await
        .expect("the dead worker's fetch");
    let ids: Vec<&JobId> = taken.jobs.iter().map(|j| &j.record.id).collect();
    assert_eq!(ids, [&JobId::from("orphan")], "taken by the dead worker");
    // past the dead worker's lock by the store's clock on SQLite (Redis expires it in real time)
    clock.advance(Duration::from_secs(1));

    let metrics = WorkerMetrics::new();
    let (options, mut events) = listening(&metrics, "stalls");
    let worker = Worker::start(
        &q,
        options.stalled_interval(Duration::from_millis(100)),
        |_job: Job<Value>| async { Ok::<_, std::io::Error>(json!("done")) },
    );
    wait_for(&mut events, "the stalled event", |e| {
        matches!(e, WorkerEvent::Stalled { job_ids } if job_ids.contains(&JobId::from("orphan")))
    })
    .await;
    wait_for(&mut events, "completion of orphan", completed("orphan")).await;
    worker.close().await.expect("the worker closes");

    let dashboard = Served::start(
        &store.backend,
        DashboardOptions::new().worker_metrics(metrics),
    )
    .await;
    let scraped = scrape(&dashboard).await;
    assert_eq!(
        number(sample(
            &scraped,
            "oxq_job_reruns_total",
            &[("queue", "stalls"), ("reason", "stalled")]
        )),
        1.0
    );
    assert!(
        !scraped
            .samples
            .iter()
            .any(|s| s.metric == "oxq_job_reruns_total"
                && s.labels.get("reason") == Some("lock_lost")),
        "no lock was lost by a live worker"
    );
    assert_eq!(
        number(sample(
            &scraped,
            "oxq_jobs_completed_total",
            &[("queue", "stalls")]
        )),
        1.0
    );

    let job = dashboard
        .get("/api/queues/stalls/jobs/orphan")
        .await
        .expect(StatusCode::OK)
        .json;
    assert_eq!(job["stalled_count"], 1, "{job}");
    assert_eq!(
        job["runs"],
        json!({
            "started": 2,
            "ended": 1,
            "running": false,
            "after_stall": 1,
            "handed_back": 0,
        })
    );
}
