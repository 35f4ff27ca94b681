//! How a worker stops: the closing phases, what [`Worker::close`](crate::Worker::close)
//! reports, and the process signals [`Worker::run_until_signal`](crate::Worker::run_until_signal)
//! listens to.
//!
//! Closing is graceful first: no fetch starts once it begins, running jobs finish and their
//! outcomes are recorded. Past `close_timeout` (or at a second SIGINT/SIGTERM) the worker
//! *abandons* the jobs still running: it drops their processors' futures and, in one store call,
//! hands each job back under its lock token as `AttemptEnd::Delayed { until: now }`, which
//! releases the lock, uses no attempt and makes the job runnable at once, so another worker
//! starts it on its next fetch instead of after the lock expires. That release (and recording
//! any outcome still waiting for the store) gets [`RELEASE_BUDGET`]; a store that does not
//! answer in time leaves the jobs to the stalled-job check once their locks expire.
//!
//! Caveat: a processor that blocks its thread (synchronous work without `.await`) cannot be
//! dropped; it keeps running detached while another worker runs the same job.

use std::time::Duration;

use crate::error::{Error, Result};

/// How long an abandoning worker waits for the store to release its jobs (and record
/// outcomes still pending) before it gives up and returns.
pub const RELEASE_BUDGET: Duration = Duration::from_secs(1);

/// Where the worker is in its life; sent from [`Worker`](crate::Worker) to its dispatcher.
/// Ordered: a worker only moves forward through these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Closing {
    /// Fetching and running jobs.
    No,
    /// No new fetch; running jobs finish and are recorded.
    Graceful,
    /// Running jobs are dropped and handed back to the store.
    Abandon,
}

/// What [`Worker::close`](crate::Worker::close) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Closed {
    /// Jobs this worker held whose outcome it did not record: processors still running at the
    /// deadline (or at a second signal), and outcomes the store did not accept in time.
    pub abandoned: usize,
    /// How many of the abandoned jobs the store released to run again at once; the others
    /// run again when their lock expires.
    pub released: usize,
}

/// SIGINT and SIGTERM, each received as many times as it is sent.
#[derive(Debug)]
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening (from now on the signals no longer end the process by themselves).
    #[cfg(unix)]
    pub(crate) fn listen() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Error::store_caused(format!("cannot listen for {name}"), e))
        };
        Ok(Self {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    pub(crate) fn listen() -> Result<Self> {
        Ok(Self {})
    }

    /// Resolves at the next SIGINT or SIGTERM.
    #[cfg(unix)]
    pub(crate) async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    pub(crate) async fn recv(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
