//! `kill -9` a worker process that holds active jobs: another worker recovers them after the
//! lock expires and completes each exactly once more; none is lost.

mod support;

use std::time::Duration;

use oxq::QueueRef;
use oxq::prelude::*;
use support::{completions, spawn, summary, wait_until};

const JOBS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_jobs_are_recovered_and_completed_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let queue_ref = QueueRef::new("crash").expect("queue");
    let queue: Queue = Queue::connect(&url, "crash").await.expect("connect");
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

    let common = [
        "--url",
        &url,
        "--queue",
        "crash",
        "--lock-ms",
        "1500",
        "--stalled-interval-ms",
        "300",
    ];
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
    victim.wait().expect("reap the victim");

    let rescuer = spawn(
        "echo_worker",
        &[
            &common[..],
            &["--concurrency", "5", "--count", &JOBS.to_string()],
        ]
        .concat(),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || summary(rescuer)),
    )
    .await
    .expect("rescuer finished in time")
    .expect("rescuer joined");
    assert_eq!(result["completed"], JOBS, "rescuer summary: {result}");
    assert_eq!(result["failed"], 0, "rescuer summary: {result}");

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
    let completed = completions(&url, &queue_ref).await;
    assert_eq!(completed.len() as u64, JOBS);
    assert!(
        completed.values().all(|&n| n == 1),
        "a job completed twice: {completed:?}"
    );
}
