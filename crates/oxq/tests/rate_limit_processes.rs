//! A rate limit holds across processes: three worker processes
//! (`examples/rate_limited_worker.rs`, concurrency 4 each) run 30 jobs on one queue, each
//! recording when every job started; at most `MAX` starts fall in any window of the limit's
//! length, on each store, for a global rate limit set on the queue and for a worker limiter
//! that each process passes.
//!
//! BullMQ's limiter (the one both stores follow) counts starts in fixed windows, each opened by
//! the first start it counts, so the check splits the starts into such windows and counts
//! each. A start time is the job's `processed_on`, written by the fetch that counted it; on
//! Redis the window runs on the server's clock while `processed_on` is the worker's, so each
//! window checked is shortened by [`JITTER_MS`]. (Times read in the processor came up to 130 ms
//! late on a loaded CI machine and broke the check.) A broken limit starts 12 at once, far past
//! `MAX`.
//!
//! Run with: `cargo build -p oxq --examples && cargo test -p oxq --test rate_limit_processes`

mod support;

use std::time::Duration;

use oxq::{JobOptions, Queue, QueueConnect};
use oxq_testkit::redis_server::RedisServer;
use support::{signal, spawn, wait_until};

const MAX: usize = 5;
const WINDOW_MS: u64 = 500;
const JOBS: usize = 30;
/// How far a start's `processed_on` and the window that counted it may disagree: on Redis the
/// window runs on the server's clock, and a worker process can read its clock for a fetch and
/// then wait (for SQLite's write lock, or for a CPU) while another process's fetch opens the
/// next window. The exact limit is the conformance suite's (on a manual clock); here a broken
/// limit would start 12 at once.
const JITTER_MS: u64 = 150;

/// Where the limit comes from.
#[derive(Clone, Copy)]
enum Limit {
    /// `Queue::set_global_rate_limit`, before the workers start.
    Global,
    /// Each worker process's `--limit`.
    WorkerLimiter,
}

async fn three_workers_keep_the_limit(url: &str, queue_name: &str, limit: Limit) {
    let queue: Queue = Queue::connect(url, queue_name).await.expect("queue");
    let limit_arg = format!("{MAX}/{WINDOW_MS}");
    let mut args = vec!["--url", url, "--queue", queue_name, "--concurrency", "4"];
    match limit {
        Limit::Global => queue
            .set_global_rate_limit(MAX as u32, Duration::from_millis(WINDOW_MS))
            .await
            .expect("set the global rate limit"),
        Limit::WorkerLimiter => args.extend(["--limit", limit_arg.as_str()]),
    }
    let jobs = (0..JOBS)
        .map(|i| {
            (
                format!("call-{i}"),
                serde_json::json!({ "i": i }),
                JobOptions::new(),
            )
        })
        .collect();
    queue.add_bulk(jobs).await.expect("add jobs");
    let workers: Vec<_> = (0..3)
        .map(|_| spawn("rate_limited_worker", &args))
        .collect();
    wait_until(Duration::from_secs(30), "every job to complete", || {
        let queue = queue.clone();
        async move { queue.counts().await.expect("counts").completed >= JOBS as u64 }
    })
    .await;
    for worker in &workers {
        signal(worker, "TERM");
    }
    let mut starts = Vec::new();
    for worker in workers {
        let output = worker.wait_with_output().expect("worker exit");
        assert!(output.status.success(), "worker exit {:?}", output.status);
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the worker's JSON report");
        let mine = report["starts"].as_array().expect("starts").clone();
        starts.extend(mine.iter().map(|t| t.as_u64().expect("a start time")));
    }
    starts.sort_unstable();
    assert_eq!(starts.len(), JOBS, "every job started once");
    // BullMQ's limiter is a fixed window opened by the first start it counts: partition the
    // starts into such windows (each from the first start not yet in one) and count each.
    let span = WINDOW_MS - JITTER_MS;
    let mut first = 0;
    while first < starts.len() {
        let end = starts[first] + span;
        let next = starts.partition_point(|t| *t < end);
        assert!(
            next - first <= MAX,
            "{} starts within {span} ms of {} (limit {MAX} per {WINDOW_MS} ms): {starts:?}",
            next - first,
            starts[first]
        );
        first = next;
    }
    // 30 jobs at 5 per window need at least 6 windows
    let took = starts[JOBS - 1] - starts[0];
    assert!(
        took >= (JOBS / MAX - 1) as u64 * span,
        "30 jobs started within {took} ms: {starts:?}"
    );
}

#[tokio::test]
async fn a_global_rate_limit_holds_across_three_processes_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("limits.db").display());
    three_workers_keep_the_limit(&url, "calls", Limit::Global).await;
}

#[tokio::test]
async fn a_global_rate_limit_holds_across_three_processes_on_redis() {
    let server = RedisServer::start();
    three_workers_keep_the_limit(&server.url(), "calls", Limit::Global).await;
}

#[tokio::test]
async fn a_worker_limiter_holds_across_three_processes_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("limits.db").display());
    three_workers_keep_the_limit(&url, "calls", Limit::WorkerLimiter).await;
}

#[tokio::test]
async fn a_worker_limiter_holds_across_three_processes_on_redis() {
    let server = RedisServer::start();
    three_workers_keep_the_limit(&server.url(), "calls", Limit::WorkerLimiter).await;
}
