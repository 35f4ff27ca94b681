//! Throughput of the SQLite store, straight against the `Backend` trait.
//!
//! Run with: `cargo run -p oxq-sqlite --release --example store_bench -- [jobs] [batch] [workers] [per_call]`
//!
//! Prints jobs/s and process CPU time per job for:
//! 1. `job_add_bulk` in batches of `batch` (default 200 000 jobs, batches of 5 000);
//! 2. a raw processing loop: `workers` tasks (default 1) each fetching `per_call` jobs
//!    (default 100), then finishing them as completed with `fetch_next` for the next ones in
//!    the same call, until the queue is empty (0 workers: skip this part).
//!
//! The file lives in a temporary directory, in WAL mode with `synchronous=NORMAL` (durable
//! against a crash of the process).

use std::sync::Arc;
use std::time::{Duration, Instant};

use oxq_core::backend::{
    AddJobs, AttemptEnd, Fetch, FetchJobs, Finish, FinishJobs, NewJob, OfQueue,
};
use oxq_core::clock::now_ms;
use oxq_core::{Backend, JobOptions, KeepJobs, LockToken, QueueRef};
use oxq_sqlite::{SqliteBackend, SqliteOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let jobs = args.next().transpose()?.unwrap_or(200_000);
    let batch = args.next().transpose()?.unwrap_or(5_000).max(1);
    let workers = args.next().transpose()?.unwrap_or(1);
    let per_call = args.next().transpose()?.unwrap_or(100).max(1);
    let per_call = u32::try_from(per_call)?;

    let dir = tempfile::tempdir()?;
    let store = SqliteBackend::open(dir.path().join("bench.db"), SqliteOptions::default()).await?;
    let queue = QueueRef::new("bench")?;

    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut added = 0;
    while added < jobs {
        let n = batch.min(jobs - added);
        let new_jobs = (added..added + n)
            .map(|i| NewJob {
                name: "job".to_owned(),
                data: format!("{{\"n\":{i}}}"),
                options: JobOptions::default(),
            })
            .collect();
        store
            .job_add_bulk(AddJobs {
                queue: queue.clone(),
                jobs: new_jobs,
                now: now_ms(),
            })
            .await?;
        added += n;
    }
    report(
        "job_add_bulk",
        jobs,
        started.elapsed(),
        cpu,
        &format!("batches of {batch}"),
    );

    if workers == 0 {
        return Ok(());
    }
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store: Arc<dyn Backend> = store.clone();
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            process(store, queue, w, per_call).await
        }));
    }
    let mut processed = 0;
    for task in tasks {
        processed += task.await??;
    }
    report(
        "fetch+finish",
        processed,
        started.elapsed(),
        cpu,
        &format!("{workers} worker(s), {per_call} per fetch, finish with fetch_next"),
    );
    let counts = store.jobs_count(OfQueue { queue }).await?;
    println!("counts after: {counts:?}");
    Ok(())
}

async fn process(
    store: Arc<dyn Backend>,
    queue: QueueRef,
    worker: usize,
    per_call: u32,
) -> oxq_core::Result<usize> {
    let mut round = 0u64;
    let token = |round: &mut u64| {
        *round += 1;
        LockToken(format!("w{worker}:{round}"))
    };
    let fetch = |token: LockToken| Fetch {
        token,
        lock_duration: Duration::from_secs(30),
        max_jobs: per_call,
        worker_name: Some(format!("bench-{worker}")),
        limiter: None,
    };
    let mut current_token = token(&mut round);
    let mut held = store
        .job_move_to_active(FetchJobs {
            queue: queue.clone(),
            fetch: fetch(current_token.clone()),
            now: now_ms(),
        })
        .await?
        .jobs;
    let mut processed = 0;
    while !held.is_empty() {
        let items = held
            .iter()
            .map(|job| Finish {
                job_id: job.record.id.clone(),
                token: current_token.clone(),
                end: AttemptEnd::Completed {
                    return_value: "null".to_owned(),
                    keep: KeepJobs::All,
                },
                memo: job.memo.clone(),
            })
            .collect::<Vec<_>>();
        processed += items.len();
        let next_token = token(&mut round);
        let result = store
            .job_finish(FinishJobs {
                queue: queue.clone(),
                now: now_ms(),
                items,
                fetch_next: Some(fetch(next_token.clone())),
                metrics: None,
            })
            .await?;
        if let Some(Err(e)) = result.items.into_iter().find(|r| r.is_err()) {
            return Err(e);
        }
        current_token = next_token;
        held = result.fetched.jobs;
    }
    Ok(processed)
}

fn report(what: &str, jobs: usize, elapsed: Duration, cpu_before: Option<f64>, detail: &str) {
    let rate = jobs as f64 / elapsed.as_secs_f64();
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(before), Some(after)) => {
            format!(
                "{:>5.2} us CPU/job",
                (after - before) * 1e6 / jobs.max(1) as f64
            )
        }
        _ => String::new(),
    };
    println!(
        "{what:<14} {jobs:>9} jobs in {:>7.3} s = {rate:>10.0} jobs/s {cpu}  ({detail})",
        elapsed.as_secs_f64()
    );
}

/// CPU time (user + system) of the whole process so far, from `/proc/self/stat` (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks; 100 per second on every Linux this runs on.
    Some((utime + stime) / 100.0)
}
