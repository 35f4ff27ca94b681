//! Several processes adding to and working on one SQLite file at once lose nothing and run
//! nothing twice.

mod support;

use std::time::Duration;

use oxq::prelude::*;
use support::{signal, spawn, summary, wait_until};

const PRODUCERS: u64 = 3;
const PER_PRODUCER: u64 = 3_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_and_workers_in_separate_processes_share_one_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let queue: Queue = Queue::connect(&url, "shared").await.expect("connect");
    let total = PRODUCERS * PER_PRODUCER;

    let worker_args = ["--url", &url, "--queue", "shared", "--concurrency", "8"];
    let workers: Vec<_> = (0..2).map(|_| spawn("echo_worker", &worker_args)).collect();
    let per = PER_PRODUCER.to_string();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| {
            spawn(
                "produce",
                &["--url", &url, "--queue", "shared", "--count", &per],
            )
        })
        .collect();
    for producer in producers {
        let added = tokio::task::spawn_blocking(move || summary(producer))
            .await
            .expect("join");
        assert_eq!(added["added"], PER_PRODUCER);
    }
    wait_until(
        Duration::from_secs(120),
        "every job to complete",
        || async {
            queue
                .counts()
                .await
                .map(|c| c.completed == total)
                .unwrap_or(false)
        },
    )
    .await;

    let mut completed_by_workers = 0;
    for worker in workers {
        signal(&worker, "TERM");
        let done = tokio::task::spawn_blocking(move || summary(worker))
            .await
            .expect("join");
        assert_eq!(done["failed"], 0);
        completed_by_workers += done["completed"].as_u64().expect("completed count");
    }
    assert_eq!(
        completed_by_workers, total,
        "the workers' own counts add up"
    );
    let counts = queue.counts().await.expect("counts");
    assert_eq!(
        counts.total(),
        total,
        "no job lost or added twice: {counts:?}"
    );
    // Run once: every job was started exactly once (a second run would count a second start).
    let jobs = queue
        .get_jobs(&[JobState::Completed], 0, total, true)
        .await
        .expect("list");
    assert_eq!(jobs.len() as u64, total);
    let twice: Vec<_> = jobs
        .iter()
        .filter(|j| j.attempts_started() != 1)
        .map(|j| j.id().clone())
        .collect();
    assert!(twice.is_empty(), "jobs started more than once: {twice:?}");
}
