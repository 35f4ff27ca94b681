//! Run with: `cargo run --example echo_worker -- --count 100 [--url sqlite://oxq.db] [--queue echo]`
//!
//! Processes jobs, returning `{"echo": <job data>}` and failing jobs whose data has
//! `"fail": true`. Exits after `--count` jobs have finished (completed, or failed after their
//! last attempt), or gracefully on SIGTERM/SIGINT (a second signal, or `--close-timeout-ms`
//! passing, abandons the jobs still running to another worker), and prints
//! `{"completed": C, "failed": F, "abandoned": A, "elapsed_s": S}`. Logs the store and its
//! file or `host:port` at start-up (`RUST_LOG` overrides the default `info`, on stderr).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use oxq::prelude::*;
use tokio::sync::Notify;

/// Runs jobs of a queue, answering {"echo": <job data>}.
#[derive(Debug, Parser)]
#[command(name = "echo_worker")]
struct Args {
    /// Store URL (default: the embedded store).
    #[arg(long, default_value = oxq::DEFAULT_URL)]
    url: String,
    #[arg(long, default_value = "echo")]
    queue: String,
    #[arg(long, default_value = oxq::DEFAULT_PREFIX)]
    prefix: String,
    /// Exit after this many jobs finished (0: run until a signal).
    #[arg(long, default_value_t = 0)]
    count: u64,
    #[arg(long, default_value_t = 0)]
    sleep_ms: u64,
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Lock duration in ms (the library's default unless given): a crashed worker's jobs run
    /// again once it expires.
    #[arg(long, default_value_t = library_default_ms(|o| o.lock_duration))]
    lock_ms: u64,
    /// How often to look for jobs whose lock expired, in ms (the library's default unless given).
    #[arg(long, default_value_t = library_default_ms(|o| o.stalled_interval))]
    stalled_interval_ms: u64,
    /// On close, how long running jobs may finish before they are abandoned to another worker.
    #[arg(long)]
    close_timeout_ms: Option<u64>,
    /// Exit with the cause after this many store calls in a row were refused for good (a
    /// read-only file, a full disk, a Redis that refuses writes); 0 keeps retrying forever.
    #[arg(long, default_value_t = 10)]
    stop_after_store_errors: u32,
}

/// A duration of the library's default [`WorkerOptions`], in ms, as a flag's default.
fn library_default_ms(option: fn(&WorkerOptions) -> Duration) -> u64 {
    u64::try_from(option(&WorkerOptions::new()).as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug)]
struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // a sentence naming what failed, never `{:?}` of an error
            eprintln!("echo_worker: {e}");
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
    let backend = oxq::connect(&args.url).await?;
    let queue: Queue = Queue::from_ref(backend, QueueRef::with_prefix(&args.prefix, &args.queue)?);

    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let reached = Arc::new(Notify::new());
    let options = {
        let (completed, failed, reached, target) = (
            completed.clone(),
            failed.clone(),
            reached.clone(),
            args.count,
        );
        let mut options = WorkerOptions::new();
        if let Some(ms) = args.close_timeout_ms {
            options = options.close_timeout(Duration::from_millis(ms));
        }
        if args.stop_after_store_errors > 0 {
            options = options.stop_after_permanent_errors(args.stop_after_store_errors);
        }
        options
            .concurrency(args.concurrency)
            .lock_duration(Duration::from_millis(args.lock_ms))
            .stalled_interval(Duration::from_millis(args.stalled_interval_ms))
            .on_event(move |event| {
                let counter = match event {
                    WorkerEvent::Completed { .. } => &completed,
                    WorkerEvent::Failed {
                        retrying: false, ..
                    } => &failed,
                    _ => return,
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let done = completed.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst);
                if target > 0 && done >= target {
                    reached.notify_one();
                }
            })
    };
    let sleep = Duration::from_millis(args.sleep_ms);
    let started = Instant::now();
    let worker = Worker::try_start(&queue, options, move |job: Job| async move {
        if !sleep.is_zero() {
            // (a test that signals this process waits for this line: the job is in hand)
            eprintln!("echo_worker: job {} started, sleeping {sleep:?}", job.id());
            tokio::time::sleep(sleep).await;
        }
        let data = job.into_data();
        if data.get("fail").and_then(|v| v.as_bool()) == Some(true) {
            return Err(Failure("the job asked to fail".to_owned()));
        }
        Ok(serde_json::json!({ "echo": data }))
    })?;
    let closed = tokio::select! {
        _ = reached.notified() => worker.close().await?,
        signalled = worker.run_until_signal() => signalled?,
    };
    println!(
        "{}",
        serde_json::json!({
            "completed": completed.load(Ordering::SeqCst),
            "failed": failed.load(Ordering::SeqCst),
            "abandoned": closed.abandoned,
            "elapsed_s": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
