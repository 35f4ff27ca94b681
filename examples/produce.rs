//! Run with: `cargo run --example produce -- --count 100 [--url sqlite://oxq.db] [--queue echo]`
//!
//! Adds `--count` jobs to a queue and prints `{"added": N, "elapsed_s": S}`. Without `--data`
//! each job's data is `{"n": <index>}`. Logs the store and its file or `host:port` at start-up
//! (`RUST_LOG` overrides the default `info`). When the store fails part way, it says how many
//! jobs it had added (a rerun adds them again) and exits with status 1.

use std::time::Instant;

use clap::Parser;
use oxq::prelude::*;

/// Adds `--count` jobs to a queue.
#[derive(Debug, Parser)]
#[command(name = "produce")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    #[arg(long, default_value = "echo")]
    queue: String,
    #[arg(long, default_value = oxq::DEFAULT_PREFIX)]
    prefix: String,
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Job name.
    #[arg(long, default_value = "echo")]
    name: String,
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    #[arg(long, default_value_t = 0)]
    priority: u32,
    #[arg(long, default_value_t = 1)]
    attempts: u32,
    /// JSON payload for every job.
    #[arg(long)]
    data: Option<String>,
}

const BATCH: u64 = 1_000;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("produce: {e}");
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
    let data: Option<serde_json::Value> = match &args.data {
        Some(text) => {
            Some(serde_json::from_str(text).map_err(|e| format!("--data is not valid JSON: {e}"))?)
        }
        None => None,
    };
    let backend = oxq::connect(&args.url).await?;
    let queue: Queue = Queue::from_ref(backend, QueueRef::with_prefix(&args.prefix, &args.queue)?);
    let options = JobOptions::new()
        .delay(std::time::Duration::from_millis(args.delay_ms))
        .priority(args.priority)
        .attempts(args.attempts);

    let started = Instant::now();
    let mut added = 0;
    while added < args.count {
        let batch = (added..(added + BATCH).min(args.count))
            .map(|n| {
                let payload = data
                    .clone()
                    .unwrap_or_else(|| serde_json::json!({ "n": n }));
                (args.name.clone(), payload, options.clone())
            })
            .collect::<Vec<_>>();
        let size = batch.len() as u64;
        if let Err(e) = queue.add_bulk(batch).await {
            return Err(format!(
                "stopped after adding {added} of {} jobs (a rerun adds those {added} again): {e}",
                args.count
            )
            .into());
        }
        added += size;
    }
    println!(
        "{}",
        serde_json::json!({ "added": added, "elapsed_s": started.elapsed().as_secs_f64() })
    );
    Ok(())
}
