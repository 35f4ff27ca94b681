//! `oxq worker --queue Q --exec CMD`: the library's [`Worker`] with a processor that runs each
//! job as a child process ([`exec`]).
//!
//! Stopping: SIGTERM or SIGINT stops fetching; running commands finish (until
//! `--close-timeout-ms`), then the worker exits 0. A second signal kills the running commands
//! and hands their jobs back to run again at once (the library's
//! [`Worker::run_until_signal`]). With `--count N` the worker closes the same graceful way
//! once N jobs finished (completed, or failed with no attempt left). `--rate-limit` caps the
//! starts per duration across every worker of the queue ([`rate_limit`]).

mod exec;
mod group;
pub mod rate_limit;

pub use rate_limit::RateLimitArg;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use oxq::{Worker, WorkerEvent, WorkerOptions};
use serde_json::json;
use tokio::sync::Notify;

use crate::args::WorkerArgs;
use crate::error::{CliError, CliResult};
use crate::output::print_json;
use crate::store::Store;

use exec::ExecConfig;

/// Jobs this worker finished, and the wake-up once `--count` of them did.
#[derive(Debug, Default)]
struct Finished {
    completed: AtomicU64,
    failed: AtomicU64,
    limit: Option<u64>,
    reached: Notify,
}

impl Finished {
    fn record(&self, event: &WorkerEvent) {
        match event {
            WorkerEvent::Completed { .. } => self.completed.fetch_add(1, Ordering::SeqCst),
            WorkerEvent::Failed {
                retrying: false, ..
            } => self.failed.fetch_add(1, Ordering::SeqCst),
            _ => return,
        };
        if let Some(limit) = self.limit
            && self.total() >= limit
        {
            self.reached.notify_one();
        }
    }

    fn total(&self) -> u64 {
        self.completed.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }
}

pub async fn run(store: &Store, args: &WorkerArgs, json: bool) -> CliResult<()> {
    let queue = store.queue(&args.queue.queue)?;
    let config = Arc::new(ExecConfig {
        command: args.exec.clone(),
        queue: args.queue.queue.clone(),
        timeout: args.timeout_ms.map(Duration::from_millis),
    });
    let finished = Arc::new(Finished {
        limit: args.count,
        ..Finished::default()
    });
    let listener = finished.clone();
    let mut options = WorkerOptions::new()
        .concurrency(usize::try_from(args.concurrency).unwrap_or(usize::MAX))
        .close_timeout(Duration::from_millis(args.close_timeout_ms))
        .name(format!("oxq worker --exec {}", args.exec))
        .on_event(move |event| listener.record(event));
    if let Some(limit) = args.rate_limit {
        options = options.limiter(limit.max, limit.duration);
    }
    let worker = Worker::try_start(&queue, options, move |job| {
        exec::run_job(job, config.clone())
    })?;
    tracing::info!(queue = %args.queue.queue, command = %args.exec, "worker started");

    let closed = if args.count.is_some() {
        let signalled = watch_signals()?;
        tokio::select! {
            closed = worker.run_until_signal() => closed?,
            () = count_reached(&finished, &signalled) => worker.close().await?,
        }
    } else {
        worker.run_until_signal().await?
    };
    let (completed, failed) = (
        finished.completed.load(Ordering::SeqCst),
        finished.failed.load(Ordering::SeqCst),
    );
    if json {
        print_json(&json!({
            "completed": completed,
            "failed": failed,
            "abandoned": closed.abandoned,
        }));
    } else {
        println!(
            "worker stopped: {completed} completed, {failed} failed, {} handed back",
            closed.abandoned
        );
    }
    Ok(())
}

/// Resolves once `--count` jobs finished, unless a signal came first: then the signal's
/// graceful close (already under way in `run_until_signal`) must not be cut short.
async fn count_reached(finished: &Finished, signalled: &AtomicBool) {
    finished.reached.notified().await;
    if signalled.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
}

/// A flag set at the first SIGINT or SIGTERM (the worker listens to them too).
fn watch_signals() -> CliResult<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind| {
        signal(kind).map_err(|e| CliError::Failed(format!("cannot listen for signals: {e}")))
    };
    let (mut interrupt, mut terminate) = (
        listen(SignalKind::interrupt())?,
        listen(SignalKind::terminate())?,
    );
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        set.store(true, Ordering::SeqCst);
    });
    Ok(flag)
}
