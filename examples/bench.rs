//! Run with: `cargo run --release --example bench [-- --jobs 50000 --runs 3]`
//!
//! Measures the embedded store: `add_bulk` jobs/s, then processing jobs/s with a no-op
//! processor at concurrency 1, 10 and 100. Each figure is the median of `--runs` runs, each on
//! a fresh SQLite file (WAL, `synchronous=NORMAL`: an acknowledged add or finish survives a
//! crash of the process).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Parser;
use oxq::prelude::*;
use tokio::sync::Notify;

/// Measures the embedded store: add_bulk and processing jobs/s.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    #[arg(long, default_value_t = 50_000)]
    jobs: u64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[arg(long, default_value_t = 5_000)]
    batch: u64,
    /// Concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    concurrency: Vec<usize>,
}

async fn fresh_queue(dir: &tempfile::TempDir, run: usize) -> oxq::Result<Queue> {
    let url = format!(
        "sqlite://{}",
        dir.path().join(format!("bench-{run}.db")).display()
    );
    Queue::connect(&url, "bench").await
}

async fn add_all(queue: &Queue, jobs: u64, batch: u64) -> oxq::Result<f64> {
    let started = Instant::now();
    let mut added = 0;
    while added < jobs {
        let n = batch.min(jobs - added);
        let chunk = (0..n)
            .map(|i| {
                (
                    "noop".to_owned(),
                    serde_json::json!({ "i": added + i }),
                    JobOptions::new(),
                )
            })
            .collect();
        queue.add_bulk(chunk).await?;
        added += n;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}

async fn process_all(queue: &Queue, jobs: u64, concurrency: usize) -> oxq::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let all_done = Arc::new(Notify::new());
    let options = {
        let (done, all_done) = (done.clone(), all_done.clone());
        WorkerOptions::new()
            .concurrency(concurrency)
            .on_event(move |event| {
                if matches!(event, WorkerEvent::Completed { .. })
                    && done.fetch_add(1, Ordering::Relaxed) + 1 == jobs
                {
                    all_done.notify_one();
                }
            })
    };
    let started = Instant::now();
    let worker = Worker::try_start(queue, options, |_job: Job| async {
        Ok::<_, std::io::Error>(())
    })?;
    all_done.notified().await;
    let elapsed = started.elapsed().as_secs_f64();
    worker.close().await?;
    Ok(jobs as f64 / elapsed)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let mut run = 0;
    let mut adds = Vec::new();
    for _ in 0..args.runs {
        run += 1;
        adds.push(add_all(&fresh_queue(&dir, run).await?, args.jobs, args.batch).await?);
    }
    println!(
        "add_bulk (batches of {}): median {:.0} jobs/s  runs: {:?}",
        args.batch,
        median(adds.clone()),
        adds.iter().map(|v| v.round()).collect::<Vec<_>>()
    );
    for &concurrency in &args.concurrency {
        let mut rates = Vec::new();
        for _ in 0..args.runs {
            run += 1;
            let queue = fresh_queue(&dir, run).await?;
            add_all(&queue, args.jobs, args.batch).await?;
            rates.push(process_all(&queue, args.jobs, concurrency).await?);
        }
        println!(
            "process {} no-op jobs, concurrency {:>3}: median {:.0} jobs/s  runs: {:?}",
            args.jobs,
            concurrency,
            median(rates.clone()),
            rates.iter().map(|v| v.round()).collect::<Vec<_>>()
        );
    }
    Ok(())
}
