//! [`WorkerOptions`]: how a worker runs jobs, with BullMQ's defaults.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::options::KeepJobs;
use crate::worker::events::WorkerEvent;

/// A custom backoff: given the attempt about to start (2 for the first retry), the last
/// error and the delay configured on the job, the wait before it; `None` means "do not retry".
pub type BackoffStrategy = Arc<dyn Fn(u32, &str, Duration) -> Option<Duration> + Send + Sync>;

/// Called by the worker after each job's attempt is recorded in the store.
pub type WorkerListener = Arc<dyn Fn(&WorkerEvent) + Send + Sync>;

/// Settings of a [`Worker`](crate::Worker).
///
/// | option | default |
/// |---|---|
/// | `concurrency` | 1 |
/// | `lock_duration` | 5 s (renewed every quarter of it while the job runs) |
/// | `stalled_interval` | 3 s |
/// | `max_stalled_count` | 1 |
/// | `drain_delay` | 5 s (longest wait in the store before looking again) |
/// | `close_timeout` | 30 s (then [`close`](crate::Worker::close) abandons the jobs still running; `None`: wait for them) |
/// | `stop_after_permanent_errors` | off (see the field) |
/// | `remove_on_complete` / `remove_on_fail` | keep all (a job's own option wins) |
/// | `cancel_grace` | 5 s (a cancelled job's processor is dropped this long after its token fired) |
/// | `metrics` | off (see the field) |
///
/// Crash recovery: the jobs of a worker killed outright (`kill -9`, a lost machine) run again
/// once their locks expire and a stalled check (any worker's) sees it: within
/// `lock_duration + stalled_interval` of the crash, 8 s by default (measured: about 6 s on
/// both stores, see the README). Locks are renewed for all of a worker's jobs in one store call
/// per quarter of `lock_duration`, so a shorter lock costs calls per worker, not per job; the
/// price of a short lock is that a worker whose renewals are held up for a whole
/// `lock_duration` (a processor that blocks the async runtime's threads, a store unreachable
/// that long) sees its jobs run again elsewhere: raise `lock_duration` for processors that
/// block their thread.
/// Node BullMQ workers on the same queue keep their own lock (30 s by default) and stall
/// protocol; the two do not disturb each other (see the Redis store's `recover_stalled.lua`).
#[derive(Clone)]
pub struct WorkerOptions {
    pub concurrency: usize,
    /// How long a job's lock lasts without renewal: a crashed worker's jobs run again once it
    /// passes (renewed every quarter of it while the job runs).
    pub lock_duration: Duration,
    /// How often the worker looks for active jobs whose lock expired and puts them back in line
    /// (once per interval per queue, whichever worker looks).
    pub stalled_interval: Duration,
    pub max_stalled_count: u32,
    pub drain_delay: Duration,
    /// How long [`close`](crate::Worker::close) lets running jobs finish before it abandons
    /// them (releases their locks so another worker runs them at once); `None` waits forever.
    pub close_timeout: Option<Duration>,
    /// Stop the worker after this many store calls in a row failed with a
    /// [permanent](crate::Error::is_permanent) error (a read-only file, a full disk, a Redis
    /// that refuses writes): [`run_until_signal`](crate::Worker::run_until_signal) and
    /// [`close`](crate::Worker::close) then return an error naming the cause. Off by default:
    /// a library cannot know whether its process has a supervisor that restarts it or an
    /// operator about to fix the store, and a worker that keeps retrying resumes by itself once
    /// the cause is fixed; every such error is logged at `ERROR` and reported as
    /// [`WorkerEvent::StoreFailing`] either way. Programs run under a supervisor set it, so that
    /// the process exits with the cause.
    pub stop_after_permanent_errors: Option<u32>,
    pub remove_on_complete: KeepJobs,
    pub remove_on_fail: KeepJobs,
    /// Shown as the job's `processed_by`.
    pub name: Option<String>,
    /// At most `max` jobs started per `duration`, counted across every worker of the queue
    /// (BullMQ's `limiter`); a global rate limit set on the queue wins for `max`, this one for
    /// `duration`. Needs a store with rate limits.
    pub limiter: Option<crate::backend::RateLimit>,
    /// How long a processor may keep running after its job was cancelled and its
    /// [`cancellation`](crate::Job::cancellation) token fired; then its future is dropped (a
    /// job timeout that comes first drops it first). Zero drops it as soon as the worker learns
    /// of the cancellation.
    pub cancel_grace: Duration,
    /// Record BullMQ's per-minute metrics of the queue (completions and final failures, read by
    /// [`Queue::metrics`](crate::Queue::metrics), Node's `getMetrics` and Bull Board), keeping
    /// at most this many points (minutes) per series: BullMQ's worker option
    /// `metrics: { maxDataPoints }` ([`METRICS_ONE_WEEK`](crate::METRICS_ONE_WEEK) is Node's
    /// `MetricsTime.ONE_WEEK`). Off by default: a worker without it writes nothing for
    /// metrics. Needs a store with metrics; at least 1.
    pub metrics: Option<u32>,
    pub(crate) backoff_strategies: HashMap<String, BackoffStrategy>,
    pub(crate) listener: Option<WorkerListener>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            concurrency: 1,
            lock_duration: Duration::from_secs(5),
            stalled_interval: Duration::from_secs(3),
            max_stalled_count: 1,
            drain_delay: Duration::from_secs(5),
            close_timeout: Some(Duration::from_secs(30)),
            stop_after_permanent_errors: None,
            remove_on_complete: KeepJobs::All,
            remove_on_fail: KeepJobs::All,
            name: None,
            limiter: None,
            cancel_grace: Duration::from_secs(5),
            metrics: None,
            backoff_strategies: HashMap::new(),
            listener: None,
        }
    }
}

impl fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("concurrency", &self.concurrency)
            .field("lock_duration", &self.lock_duration)
            .field("stalled_interval", &self.stalled_interval)
            .field("max_stalled_count", &self.max_stalled_count)
            .field("drain_delay", &self.drain_delay)
            .field("close_timeout", &self.close_timeout)
            .field(
                "stop_after_permanent_errors",
                &self.stop_after_permanent_errors,
            )
            .field("remove_on_complete", &self.remove_on_complete)
            .field("remove_on_fail", &self.remove_on_fail)
            .field("name", &self.name)
            .field("limiter", &self.limiter)
            .field("cancel_grace", &self.cancel_grace)
            .field("metrics", &self.metrics)
            .field(
                "backoff_strategies",
                &self.backoff_strategies.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl WorkerOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Jobs run at once by this worker (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    pub fn lock_duration(mut self, d: Duration) -> Self {
        self.lock_duration = d;
        self
    }

    pub fn stalled_interval(mut self, d: Duration) -> Self {
        self.stalled_interval = d;
        self
    }

    pub fn max_stalled_count(mut self, n: u32) -> Self {
        self.max_stalled_count = n;
        self
    }

    pub fn drain_delay(mut self, d: Duration) -> Self {
        self.drain_delay = d;
        self
    }

    /// See [`WorkerOptions::close_timeout`](#structfield.close_timeout).
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.close_timeout = Some(d);
        self
    }

    /// See [`WorkerOptions::stop_after_permanent_errors`](#structfield.stop_after_permanent_errors).
    pub fn stop_after_permanent_errors(mut self, n: u32) -> Self {
        self.stop_after_permanent_errors = Some(n);
        self
    }

    pub fn remove_on_complete(mut self, keep: KeepJobs) -> Self {
        self.remove_on_complete = keep;
        self
    }

    pub fn remove_on_fail(mut self, keep: KeepJobs) -> Self {
        self.remove_on_fail = keep;
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// See [`WorkerOptions::cancel_grace`](#structfield.cancel_grace).
    pub fn cancel_grace(mut self, d: Duration) -> Self {
        self.cancel_grace = d;
        self
    }

    /// Registers the strategy used by jobs with `Backoff::custom(name)`.
    pub fn backoff_strategy(
        mut self,
        name: impl Into<String>,
        strategy: impl Fn(u32, &str, Duration) -> Option<Duration> + Send + Sync + 'static,
    ) -> Self {
        self.backoff_strategies
            .insert(name.into(), Arc::new(strategy));
        self
    }

    /// Starts at most `max` jobs per `duration` across every worker of the queue.
    pub fn limiter(mut self, max: u32, duration: Duration) -> Self {
        self.limiter = Some(crate::backend::RateLimit::new(max, duration));
        self
    }

    /// Records the queue's per-minute metrics, keeping `max_data_points` minutes (see the
    /// field [`metrics`](Self::metrics)).
    pub fn metrics(mut self, max_data_points: u32) -> Self {
        self.metrics = Some(max_data_points);
        self
    }

    /// Calls `listener` after each attempt is recorded (completed, failed, retried).
    pub fn on_event(mut self, listener: impl Fn(&WorkerEvent) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }
}
