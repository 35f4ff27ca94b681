//! Run with: `cargo run --example rate_limited_worker -- [--url sqlite://oxq.db] [--queue calls]
//! [--limit 5/1000] [--concurrency 4]`
//!
//! A worker for jobs that call a rate-limited API: with `--limit MAX/MS` it starts at most MAX
//! jobs per MS milliseconds, counted across every worker of the queue (in any process, Node
//! BullMQ's included on Redis); without it, it honours whatever global rate limit the queue has
//! (`Queue::set_global_rate_limit`). Runs until SIGTERM/SIGINT, then prints
//! `{"starts": [ms, ...]}`: when each job started, for checking the limit. A start is the time
//! the store handed the job out (`processed_on`, which the limiter counts), not when the
//! processor got to run: on a loaded machine that can be much later.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use oxq::clock::now_ms;
use oxq::prelude::*;

/// Runs jobs under a rate limit and reports when each one started.
#[derive(Debug, Parser)]
#[command(name = "rate_limited_worker")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    #[arg(long, default_value = "calls")]
    queue: String,
    /// The worker limiter, `MAX/MS`: at most MAX starts per MS milliseconds, all workers of the
    /// queue together.
    #[arg(long, value_parser = parse_limit)]
    limit: Option<(u32, u64)>,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

fn parse_limit(text: &str) -> Result<(u32, u64), String> {
    let (max, ms) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not MAX/MS (e.g. 5/1000)"))?;
    let max = max.parse().map_err(|_| format!("{max:?} is not a count"))?;
    let ms = ms
        .parse()
        .map_err(|_| format!("{ms:?} is not milliseconds"))?;
    Ok((max, ms))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rate_limited_worker: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let queue: Queue = Queue::connect(&args.url, &args.queue).await?;
    let mut options = WorkerOptions::new().concurrency(args.concurrency);
    if let Some((max, ms)) = args.limit {
        options = options.limiter(max, Duration::from_millis(ms));
    }
    let starts = Arc::new(Mutex::new(Vec::new()));
    let worker = Worker::try_start(&queue, options, {
        let starts = starts.clone();
        move |job: Job| {
            if let Ok(mut starts) = starts.lock() {
                starts.push(job.processed_on().unwrap_or_else(now_ms));
            }
            async { Ok::<_, BoxError>(serde_json::Value::Null) }
        }
    })?;
    worker.run_until_signal().await?;
    let starts = starts.lock().map(|s| s.clone()).unwrap_or_default();
    println!("{}", serde_json::json!({ "starts": starts }));
    Ok(())
}
