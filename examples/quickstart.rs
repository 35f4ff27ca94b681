//! Run with: `cargo run --release --example quickstart`
//!
//! Adds 1,000 jobs to a queue in the embedded store (`oxq.db` in the working directory, no
//! server needed), processes them with one worker, and prints a one-line summary.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use oxq::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

const JOBS: u64 = 1_000;

#[derive(Debug, Serialize, Deserialize)]
struct Email {
    to: String,
    subject: String,
}

/// Adds 1,000 jobs to a queue in the embedded store (oxq.db in the working directory),
/// processes them with one worker and prints a one-line summary. Takes no options.
#[derive(Debug, clap::Parser)]
#[command(name = "quickstart")]
struct Args {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("quickstart: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> oxq::Result<()> {
    let Args {} = clap::Parser::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();

    let queue: Queue<Email> = Queue::connect(oxq::DEFAULT_URL, "quickstart").await?;
    queue.obliterate(true).await?; // start from an empty queue on every run

    let started = Instant::now();
    let jobs = (0..JOBS)
        .map(|i| {
            let email = Email {
                to: format!("user{i}@example.com"),
                subject: "Welcome".to_owned(),
            };
            (
                "send-email".to_owned(),
                email,
                JobOptions::new().attempts(3),
            )
        })
        .collect();
    queue.add_bulk(jobs).await?;
    let added_in = started.elapsed();

    let finished = Arc::new(AtomicU64::new(0));
    let all_done = Arc::new(Notify::new());
    let options = {
        let (finished, all_done) = (finished.clone(), all_done.clone());
        WorkerOptions::new().concurrency(10).on_event(move |event| {
            if matches!(
                event,
                WorkerEvent::Completed { .. }
                    | WorkerEvent::Failed {
                        retrying: false,
                        ..
                    }
            ) && finished.fetch_add(1, Ordering::SeqCst) + 1 == JOBS
            {
                all_done.notify_one();
            }
        })
    };
    let worker = Worker::try_start(&queue, options, |job: Job<Email>| async move {
        // A real processor would send the email here.
        Ok::<_, std::io::Error>(format!("sent to {}", job.data().to))
    })?;
    all_done.notified().await;
    worker.close().await?;

    let elapsed = started.elapsed().as_secs_f64();
    let counts = queue.counts().await?;
    println!(
        "quickstart: {} jobs added in {:.0} ms, {} completed, {} failed in {:.2} s ({:.0} jobs/s) on {}",
        JOBS,
        added_in.as_secs_f64() * 1000.0,
        counts.completed,
        counts.failed,
        elapsed,
        JOBS as f64 / elapsed,
        oxq::DEFAULT_URL,
    );
    Ok(())
}
