//! Run with: `cargo run --example daily_digest [-- --every-ms 2000 --runs 3] [--url redis://...]`
//!
//! A job scheduler that sends a digest every day at 09:00 in Seoul (`0 9 * * *`,
//! `Asia/Seoul`), and a worker that "sends" each one. `--every-ms` swaps the cron rule for a
//! fixed interval so the runs can be seen now. The scheduler is upserted under a fixed id, so
//! running the example again (or in several processes at once) replaces the schedule instead
//! of doubling it, and each tick makes exactly one job whichever worker takes it.
//!
//! Prints one line per digest sent, `{"digest": N, "job": "repeat:daily-digest:<ms>", "at": ...}`,
//! and exits after `--runs` digests (0: run until SIGTERM/SIGINT). `--remove` deletes the
//! scheduler and its pending run, then exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use oxq::prelude::*;
use oxq::{JobTemplate, Repeat};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

const SCHEDULER_ID: &str = "daily-digest";

/// Sends a digest every day at 09:00 Asia/Seoul (or every --every-ms) through a job scheduler.
#[derive(Debug, Parser)]
#[command(name = "daily_digest")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    #[arg(long, default_value = "digests")]
    queue: String,
    /// Cron pattern (5 fields, or 6 with seconds first).
    #[arg(long, default_value = "0 9 * * *")]
    cron: String,
    /// IANA time zone of the cron pattern.
    #[arg(long, default_value = "Asia/Seoul")]
    tz: String,
    /// Run every this many ms instead of the cron pattern (to see it fire now).
    #[arg(long)]
    every_ms: Option<u64>,
    /// Exit after this many digests were sent (0: run until a signal).
    #[arg(long, default_value_t = 0)]
    runs: u64,
    /// Remove the scheduler (and its pending run) and exit.
    #[arg(long)]
    remove: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct Digest {
    audience: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("daily_digest: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let queue: Queue<Digest> = Queue::connect(&args.url, &args.queue).await?;

    if args.remove {
        let removed = queue.remove_job_scheduler(SCHEDULER_ID).await?;
        println!("{}", serde_json::json!({ "removed": removed }));
        return Ok(());
    }

    // Bad input (an invalid pattern or time zone, every 0) is refused here, before anything
    // is written: no worker ever meets an unusable schedule.
    let repeat = match args.every_ms {
        Some(ms) => Repeat::every(Duration::from_millis(ms)),
        None => Repeat::cron(&args.cron).tz(&args.tz),
    };
    let template = JobTemplate::new(
        "send-digest",
        Digest {
            audience: "all-subscribers".to_owned(),
        },
    )
    .options(
        JobOptions::new()
            .attempts(3)
            .backoff(Backoff::exponential(Duration::from_secs(10))),
    );
    let scheduler = queue
        .upsert_job_scheduler(SCHEDULER_ID, repeat, template)
        .await?;
    tracing::info!(
        scheduler = SCHEDULER_ID,
        next_run_ms = scheduler.next_run,
        "scheduler upserted"
    );

    let sent = Arc::new(AtomicU64::new(0));
    let reached = Arc::new(Notify::new());
    let worker = {
        let (sent, reached, target) = (sent.clone(), reached.clone(), args.runs);
        Worker::try_start(&queue, WorkerOptions::new(), move |job: Job<Digest>| {
            let (sent, reached) = (sent.clone(), reached.clone());
            async move {
                let n = sent.fetch_add(1, Ordering::SeqCst) + 1;
                println!(
                    "{}",
                    serde_json::json!({
                        "digest": n,
                        "job": job.id().as_str(),
                        "audience": job.data().audience,
                        "at": job.processed_on(),
                    })
                );
                if target > 0 && n >= target {
                    reached.notify_one();
                }
                Ok::<_, std::io::Error>(serde_json::json!({ "sent": n }))
            }
        })?
    };
    tokio::select! {
        _ = reached.notified() => { worker.close().await?; }
        signalled = worker.run_until_signal() => { signalled?; }
    };
    Ok(())
}
