//! However many processes race, each tick of a job scheduler makes exactly one job: three
//! worker processes (`examples/daily_digest.rs`, each of which upserts the scheduler as it
//! starts) and two producers that keep upserting the same schedule run on one queue, on each
//! store. Every `repeat:daily-digest:<ms>` job completes exactly once, all runs sit on one grid
//! of the interval (no run between two ticks), and at the end the scheduler has one pending
//! run, not two.
//!
//! Run with: `cargo test -p oxq --test scheduler_race`

mod support;

use std::time::Duration;

use oxq::{JobState, JobTemplate, Queue, QueueConnect, QueueRef, Repeat};
use oxq_testkit::redis_server::RedisServer;
use support::{completions, signal, spawn, wait_until};

const EVERY_MS: u64 = 100;
const TICKS: usize = 12;

async fn race(url: &str) {
    let workers: Vec<_> = (0..3)
        .map(|_| {
            spawn(
                "daily_digest",
                &["--url", url, "--every-ms", &EVERY_MS.to_string()],
            )
        })
        .collect();
    let queue: Queue = Queue::connect(url, "digests").await.expect("queue");
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let queue = queue.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    let template =
                        JobTemplate::new("send-digest", serde_json::json!({"audience": "all"}));
                    queue
                        .upsert_job_scheduler(
                            "daily-digest",
                            Repeat::every(Duration::from_millis(EVERY_MS)),
                            template,
                        )
                        .await
                        .expect("upsert");
                    // paces the upserts across several ticks (a rate, not a wait for state)
                    tokio::time::sleep(Duration::from_millis(EVERY_MS / 2)).await;
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.expect("producer task");
    }
    wait_until(Duration::from_secs(30), "ticks to complete", || {
        let queue = queue.clone();
        async move { queue.counts().await.expect("counts").completed >= TICKS as u64 }
    })
    .await;
    for worker in &workers {
        signal(worker, "TERM");
    }
    for worker in workers {
        let output = worker.wait_with_output().expect("worker exit");
        assert!(output.status.success(), "worker exit {:?}", output.status);
    }

    let runs = completions(url, &QueueRef::new("digests").expect("queue ref")).await;
    assert!(runs.len() >= TICKS, "{runs:?}");
    let mut phases = std::collections::BTreeSet::new();
    for (job, times) in &runs {
        assert_eq!(*times, 1, "{job} completed {times} times");
        let millis: u64 = job
            .strip_prefix("repeat:daily-digest:")
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("not a scheduler run: {job}"));
        phases.insert(millis % EVERY_MS);
    }
    // Re-upserting an unchanged rule keeps the pending run's time, so every run is on the
    // first run's grid: none was added between two ticks.
    assert_eq!(phases.len(), 1, "runs off one grid: {runs:?}");
    let pending = queue
        .get_jobs(
            &[JobState::Waiting, JobState::Delayed, JobState::Prioritized],
            0,
            100,
            true,
        )
        .await
        .expect("pending jobs");
    assert_eq!(pending.len(), 1, "one pending run: {pending:?}");
}

#[tokio::test]
async fn each_tick_makes_one_job_with_three_workers_and_two_producers_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    race(&format!(
        "sqlite://{}",
        dir.path().join("race.db").display()
    ))
    .await;
}

#[tokio::test]
async fn each_tick_makes_one_job_with_three_workers_and_two_producers_on_redis() {
    let server = RedisServer::start();
    race(&server.url()).await;
}
