//! `kill -9` a worker process that holds active jobs, on each store, with the library's default
//! lock and stalled-check interval (the example's flags are left out): another worker process
//! recovers them and completes each exactly once more, none is lost, and they run again within
//! 10 s of the kill (the defaults bound it by `lock_duration + stalled_interval`). Each test
//! prints the time it measured (`--nocapture` shows it).

mod support;

use std::time::{Duration, Instant};

use oxq::QueueRef;
use oxq::prelude::*;
use oxq_testkit::redis_server::RedisServer;
use support::{completions, spawn, summary, wait_until};

const JOBS: u64 = 20;

/// What the README promises for a worker killed outright, with the default options.
const RECOVERED_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_jobs_are_recovered_and_completed_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    kill_and_recover("sqlite", &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_jobs_are_recovered_and_completed_once_on_redis() {
    let server = RedisServer::start();
    kill_and_recover("redis", &server.url()).await;
}

/// Adds [`JOBS`] jobs, lets a worker process take them all, kills it with SIGKILL and starts
/// another; checks that each job completed exactly once more, within [`RECOVERED_WITHIN`].
async fn kill_and_recover(store: &str, url: &str) {
    let queue_ref = QueueRef::new("crash").expect("queue");
    let queue: Queue = Queue::connect(url, "crash").await.expect("connect");
    let jobs = (0..JOBS)
        .map(|n| {
            (
                "echo".to_owned(),
                serde_json::json!({ "n": n }),
                JobOptions::new(),
            )
        })
        .collect();
    queue.add_bulk(jobs).await.expect("add");

    let common = ["--url", url, "--queue", "crash"];
    let mut victim = spawn(
        "echo_worker",
        &[
            &common[..],
            &["--concurrency", "20", "--sleep-ms", "600000"],
        ]
        .concat(),
    );
    wait_until(
        Duration::from_secs(30),
        "the victim to hold every job",
        || async {
            queue
                .counts()
                .await
                .map(|c| c.active == JOBS)
                .unwrap_or(false)
        },
    )
    .await;
    victim.kill().expect("kill -9 the worker"); // SIGKILL: no graceful close, locks left behind
    let killed_at = Instant::now();
    victim.wait().expect("reap the victim");

    let rescuer = spawn(
        "echo_worker",
        &[
            &common[..],
            &["--concurrency", "5", "--count", &JOBS.to_string()],
        ]
        .concat(),
    );
    // generous, so that a slow recovery is measured and reported rather than cut short
    wait_until(
        Duration::from_secs(120),
        "the killed worker's jobs to complete",
        || async {
            queue
                .counts()
                .await
                .map(|c| c.completed == JOBS)
                .unwrap_or(false)
        },
    )
    .await;
    let recovered_in = killed_at.elapsed();
    eprintln!(
        "{store}: {JOBS} jobs of a worker killed with SIGKILL completed again {:.2} s after the kill",
        recovered_in.as_secs_f64()
    );
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || summary(rescuer)),
    )
    .await
    .expect("rescuer finished in time")
    .expect("rescuer joined");
    assert_eq!(result["completed"], JOBS, "rescuer summary: {result}");
    assert_eq!(result["failed"], 0, "rescuer summary: {result}");
    assert!(
        recovered_in <= RECOVERED_WITHIN,
        "{store}: the jobs ran again {recovered_in:?} after the kill, more than {RECOVERED_WITHIN:?}"
    );

    let counts = queue.counts().await.expect("counts");
    assert_eq!(
        (counts.completed, counts.active, counts.waiting),
        (JOBS, 0, 0)
    );
    for job in queue
        .get_jobs(&[JobState::Completed], 0, JOBS, true)
        .await
        .expect("list")
    {
        assert_eq!(
            job.stalled_count(),
            1,
            "job {} should show one recorded stall",
            job.id()
        );
        assert_eq!(job.attempts_made(), 1, "job {} completed once", job.id());
        assert_eq!(
            job.attempts_started(),
            2,
            "job {} started by both workers",
            job.id()
        );
    }
    let completed = completions(url, &queue_ref).await;
    assert_eq!(completed.len() as u64, JOBS);
    assert!(
        completed.values().all(|&n| n == 1),
        "a job completed twice: {completed:?}"
    );
}
