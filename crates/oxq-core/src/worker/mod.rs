//! [`Worker`]: runs the jobs of one queue with a processor function.
//!
//! ```no_run
//! # async fn demo(queue: oxq_core::Queue<String>) -> oxq_core::Result<()> {
//! use oxq_core::{Worker, WorkerOptions};
//! let worker = Worker::start(&queue, WorkerOptions::new().concurrency(10), |job| async move {
//!     Ok::<_, std::io::Error>(format!("hello {}", job.data()))
//! });
//! // SIGINT / SIGTERM: finish running jobs (for up to `close_timeout`), then return
//! let closed = worker.run_until_signal().await?;
//! println!("{} jobs abandoned", closed.abandoned);
//! # Ok(()) }
//! ```
//!
//! A processor returns an [`Outcome`] (complete, fail, fail for good, delay without using an
//! attempt) or a plain `Result`: `Ok` completes; an error fails the attempt (retried while
//! attempts remain, unless the error is [`Unrecoverable`]). One that panics or runs past the
//! job's `timeout` fails the attempt the same way, and the worker keeps running.
//!
//! Delivery is at least once: a job whose worker dies is run again once its lock expires
//! (see `lock_duration`, `stalled_interval`, `max_stalled_count`), so processors should be
//! idempotent.
//!
//! The worker reads the time from its queue's [`Clock`](crate::clock::Clock); when a test moves
//! a [`ManualClock`](crate::ManualClock), an idle worker fetches again at once and runs its
//! stalled check. A job whose stored
//! payload is larger than the queue handle's `max_payload_bytes` (written by another producer)
//! fails without running, as does one the store cannot run as written (a malformed record).
//!
//! Closing stops fetching at once, lets running jobs finish for up to `close_timeout` (30 s by
//! default), then abandons the rest: their locks are released so that another worker runs them
//! at once (see [`Closed`]). A second SIGINT/SIGTERM during [`Worker::run_until_signal`]'s
//! graceful phase abandons at once.
//!
//! Spans and logs: `tracing` warnings for store errors, lost locks, stalled recoveries and
//! abandoned jobs.

mod attempt;
mod attempt_span;
mod dispatcher;
mod events;
mod maintenance;
mod options;
mod outcome;
mod presence;
mod processor;
mod refused;
mod shutdown;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::job::Job;
use crate::queue::Queue;

pub use events::{AttemptTiming, WorkerEvent};
pub use options::{BackoffStrategy, WorkerListener, WorkerOptions};
pub use outcome::{IntoOutcome, Outcome};
pub use processor::{BoxError, Unrecoverable};
pub use shutdown::{Closed, RELEASE_BUDGET};

use shutdown::{Closing, Signals};

/// A running worker. Dropping it stops fetching; [`Worker::close`] also waits for running jobs.
#[derive(Debug)]
pub struct Worker {
    id: String,
    close_tx: watch::Sender<Closing>,
    close_timeout: Option<Duration>,
    /// Turns true when the dispatcher ended (closed, or stopped by itself).
    stopped: watch::Receiver<bool>,
    tasks: Mutex<Option<Tasks>>,
}

#[derive(Debug)]
struct Tasks {
    dispatcher: JoinHandle<Result<Closed>>,
    renewer: JoinHandle<()>,
    stalled: JoinHandle<()>,
    presence: JoinHandle<()>,
}

impl Worker {
    /// Starts processing `queue` on the current Tokio runtime, once `options` pass
    /// [`WorkerOptions::validate`]: otherwise an
    /// [`Error::InvalidOptions`](crate::Error::InvalidOptions) naming the option and its valid
    /// range (see [`settings`](crate::settings)), and nothing starts.
    ///
    /// The processor's future resolves to an [`Outcome`] or a `Result` (see [`IntoOutcome`]).
    pub fn try_start<T, F, Fut>(
        queue: &Queue<T>,
        options: WorkerOptions,
        processor: F,
    ) -> Result<Self>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(Job<T>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        options.validate()?;
        limiter_supported(queue.backend().as_ref(), &options)?;
        metrics_supported(queue.backend().as_ref(), &options)?;
        Ok(Self::spawn(queue, options, processor))
    }

    /// [`Worker::try_start`] for options fixed in the code (tests, options built from
    /// constants): a mistake there is a bug, reported at once.
    ///
    /// # Panics
    ///
    /// When `options` fail [`WorkerOptions::validate`], with its message. Options that come
    /// from outside (flags, configuration) go through [`Worker::try_start`].
    pub fn start<T, F, Fut>(queue: &Queue<T>, options: WorkerOptions, processor: F) -> Self
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(Job<T>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        if let Err(e) = options
            .validate()
            .and_then(|()| limiter_supported(queue.backend().as_ref(), &options))
            .and_then(|()| metrics_supported(queue.backend().as_ref(), &options))
        {
            panic!("Worker::start: {e}");
        }
        Self::spawn(queue, options, processor)
    }

    /// Spawns the dispatcher and the maintenance tasks for valid `options`.
    fn spawn<T, F, Fut>(queue: &Queue<T>, options: WorkerOptions, processor: F) -> Self
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(Job<T>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoOutcome,
    {
        let id = uuid::Uuid::new_v4().to_string();
        let close_timeout = options.close_timeout;
        let options = Arc::new(options);
        let (close_tx, close_rx) = watch::channel(Closing::No);
        let locks = Arc::new(Mutex::new(HashMap::new()));
        let backend = queue.backend().clone();
        let queue_ref = queue.queue_ref().clone();
        let clock = queue.clock().clone();
        let dispatcher = dispatcher::Dispatcher {
            attempts: attempt::AttemptContext {
                backend: backend.clone(),
                queue: queue_ref.clone(),
                processor: processor::erase(processor),
                options: options.clone(),
                max_payload_bytes: queue.max_payload_bytes(),
                clock: clock.clone(),
            },
            locks: locks.clone(),
            worker_id: id.clone(),
            close: close_rx.clone(),
        };
        // Lock renewal must outlive the dispatcher (a closing worker still runs its jobs), so
        // the maintenance tasks stop when the dispatcher ends, not when close is asked.
        let (stop_tx, stop_rx) = watch::channel(false);
        let duties = maintenance::Duties {
            backend,
            queue: queue_ref,
            options,
            clock,
        };
        let presence = presence::Presence {
            backend: duties.backend.clone(),
            queue: duties.queue.clone(),
            worker_id: id.clone(),
            name: duties.options.name.clone(),
            clock: duties.clock.clone(),
            period: duties.options.stalled_interval,
        }
        .run(stop_rx.clone());
        let stopped = stop_rx.clone();
        let renewer = maintenance::renew_locks(duties.clone(), locks, stop_rx.clone());
        let stalled = maintenance::check_stalled(duties, stop_rx);
        let tasks = Tasks {
            dispatcher: tokio::spawn(async move {
                let closed = dispatcher.run().await;
                let _ = stop_tx.send(true);
                closed
            }),
            renewer: tokio::spawn(renewer),
            stalled: tokio::spawn(stalled),
            presence: tokio::spawn(presence),
        };
        Self {
            id,
            close_tx,
            close_timeout,
            stopped,
            tasks: Mutex::new(Some(tasks)),
        }
    }

    /// This worker's unique id; its lock tokens start with it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops fetching, waits for the running jobs to finish and their outcomes to be recorded,
    /// then stops renewing locks. Past `close_timeout` the jobs still running are abandoned
    /// (see [`Closed`]); the call then returns within [`RELEASE_BUDGET`] more, whether the store
    /// answers or not. Calling it again returns at once.
    pub async fn close(&self) -> Result<Closed> {
        self.close_or_abandon(std::future::pending()).await
    }

    /// Runs until SIGINT or SIGTERM, then closes gracefully; a second signal while running jobs
    /// finish abandons them at once. Returns an error at once when the worker stopped by itself
    /// (see [`WorkerOptions::stop_after_permanent_errors`]).
    pub async fn run_until_signal(&self) -> Result<Closed> {
        let mut signals = Signals::listen()?;
        let mut stopped = self.stopped.clone();
        tokio::select! {
            () = signals.recv() => {}
            _ = stopped.wait_for(|stopped| *stopped) => return self.close().await,
        }
        tracing::info!(worker = %self.id, close_timeout_ms = self.close_timeout.map(|d| d.as_millis() as u64), "signal received; finishing running jobs (a second signal abandons them)");
        self.close_or_abandon(async move {
            signals.recv().await;
            tracing::warn!("second signal received; abandoning running jobs");
        })
        .await
    }

    /// Closes gracefully until `close_timeout` passes or `abandon_now` resolves, then abandons.
    async fn close_or_abandon(&self, abandon_now: impl Future<Output = ()>) -> Result<Closed> {
        self.close_tx.send_if_modified(|closing| {
            let start = *closing == Closing::No;
            if start {
                *closing = Closing::Graceful;
            }
            start
        });
        let tasks = match self.tasks.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let Some(mut tasks) = tasks else {
            return Ok(Closed::default());
        };
        let deadline = async {
            match self.close_timeout {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        // The dispatcher ends only after every held job is recorded or abandoned.
        let dispatched = tokio::select! {
            dispatched = &mut tasks.dispatcher => dispatched,
            () = deadline => self.abandon(&mut tasks.dispatcher).await,
            () = abandon_now => self.abandon(&mut tasks.dispatcher).await,
        };
        // A renewal or stalled check stuck on an unreachable store must not hold the close.
        tasks.renewer.abort();
        tasks.stalled.abort();
        let _ = tasks.renewer.await;
        let _ = tasks.stalled.await;
        // The presence task leaves once the dispatcher ended; an unresponsive store must not
        // hold the close.
        if tokio::time::timeout(RELEASE_BUDGET, &mut tasks.presence)
            .await
            .is_err()
        {
            tasks.presence.abort();
        }
        dispatched.map_err(|e| Error::store_caused("worker loop ended abnormally", e))?
    }

    async fn abandon(
        &self,
        dispatcher: &mut JoinHandle<Result<Closed>>,
    ) -> std::result::Result<Result<Closed>, tokio::task::JoinError> {
        let _ = self.close_tx.send(Closing::Abandon);
        dispatcher.await
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.close_tx.send_if_modified(|closing| {
            let start = *closing == Closing::No;
            if start {
                *closing = Closing::Graceful;
            }
            start
        });
    }
}

/// A `limiter` needs a store with the [`Limits`](crate::backend::Limits) facet.
fn limiter_supported(backend: &dyn crate::Backend, options: &WorkerOptions) -> Result<()> {
    if options.limiter.is_some() && backend.limits().is_none() {
        return Err(crate::Error::Unsupported {
            store: backend.kind(),
            operation: "a worker limiter (rate limits)",
        });
    }
    Ok(())
}

/// `metrics` needs a store with the [`Metrics`](crate::backend::Metrics) facet.
fn metrics_supported(backend: &dyn crate::Backend, options: &WorkerOptions) -> Result<()> {
    if options.metrics.is_some() && backend.metrics().is_none() {
        return Err(crate::Error::Unsupported {
            store: backend.kind(),
            operation: "worker metrics",
        });
    }
    Ok(())
}
