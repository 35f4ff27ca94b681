//! Rate limits and global concurrency through `Queue` and `Worker`: a global rate limit spaces
//! the starts by window, a worker limiter is shared by the queue's workers, a processor's
//! `Outcome::RateLimited` puts its job back without using an attempt and stops the whole queue
//! until the limit ends, and bad limits are refused before anything is written.
//!
//! Time: the cases run on the harness's [`ManualClock`](oxq_core::ManualClock) and record the
//! clock's time at each start, so "nothing started before the window ended" is a fact about
//! recorded times, not about sleeping. A worker that the store answers "rate limited" reports
//! [`WorkerEvent::RateLimited`]; the case then moves the clock past the window. SQLite judges a
//! window by that clock; Redis by the `limiter` key's TTL on its own clock, so on Redis the
//! worker also waits the window out in real time (one wait per window, not a poll), which is
//! why the windows here are short.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::clock::Clock;
use oxq_core::worker::BoxError;
use oxq_core::{Error, Job, JobState, Outcome, Worker, WorkerEvent, WorkerOptions};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::support::{WAIT, add_numbered, lock, record};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// A window: short, since Redis also waits it out in real time (see the module docs).
const WINDOW: Duration = Duration::from_millis(400);

/// The clock's time at each start, by job id.
#[derive(Clone, Default)]
struct Starts(Arc<Mutex<Vec<(String, u64)>>>);

impl Starts {
    fn push(&self, id: &str, at: u64) {
        lock(&self.0).push((id.to_owned(), at));
    }

    fn all(&self) -> Vec<(String, u64)> {
        lock(&self.0).clone()
    }

    /// The most starts recorded in any window of `window` by the clock.
    fn most_in_any(&self, window: Duration) -> usize {
        let all = self.all();
        let window = oxq_core::clock::millis(window);
        all.iter()
            .map(|(_, t)| {
                all.iter()
                    .filter(|(_, u)| *u >= *t && *u < t + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }
}

/// Every worker's events on one channel.
fn listen_all(options: WorkerOptions, tx: &mpsc::UnboundedSender<WorkerEvent>) -> WorkerOptions {
    let tx = tx.clone();
    options.on_event(move |event| {
        let _ = tx.send(event.clone());
    })
}

/// Moves the clock a window ahead each time a worker reports a rate limit, until `n` jobs have
/// completed; answers how many limits were reported.
async fn run_windows(
    h: &Harness,
    rx: &mut mpsc::UnboundedReceiver<WorkerEvent>,
    n: usize,
) -> CaseResult<usize> {
    let (mut completed, mut limits) = (0, 0);
    let deadline = tokio::time::Instant::now() + WAIT;
    while completed < n {
        let event = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .map_err(|_| {
                TestError::msg(format!(
                    "{completed} of {n} jobs completed after {WAIT:?} ({limits} limits seen)"
                ))
            })?
            .ok_or_else(|| TestError::msg("the workers' listeners were dropped"))?;
        match event {
            WorkerEvent::Completed { .. } => completed += 1,
            WorkerEvent::RateLimited {
                job_id: None,
                until,
            } => {
                limits += 1;
                // (with two workers, the other may report a limit the clock has passed already)
                if until > h.clock().now_ms() {
                    h.clock().set(until);
                }
            }
            WorkerEvent::Failed { reason, .. } => {
                return Err(TestError::msg(format!("a job failed: {reason}")));
            }
            _ => {}
        }
    }
    Ok(limits)
}

/// A processor that records its start time and completes. The start time is the one the store
/// wrote when it handed the job out (`processed_on`, by the harness's clock), not the clock read
/// in the processor: the processor's task may run after the case has already moved the clock
/// for the next window, and would then record its start in the wrong window.
fn recording(
    starts: &Starts,
    clock: Arc<dyn Clock>,
) -> impl Fn(Job<Value>) -> std::future::Ready<Result<Value, BoxError>> + Send + Sync + 'static {
    let starts = starts.clone();
    move |job: Job<Value>| {
        let started = job.processed_on().unwrap_or_else(|| clock.now_ms());
        starts.push(job.id().as_str(), started);
        std::future::ready(Ok(Value::Null))
    }
}

/// A global limit of 2 per window: 6 jobs start 2, 2 and 2, one pair per window.
pub async fn a_global_rate_limit_spaces_the_starts_by_window(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    queue.set_global_rate_limit(2, WINDOW).await?;
    add_numbered(&queue, 6, oxq_core::JobOptions::new()).await?;
    let starts = Starts::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let worker = Worker::start(
        &queue,
        listen_all(h.worker_options().concurrency(6), &tx),
        recording(&starts, h.clock().clone()),
    );
    let limits = run_windows(h, &mut rx, 6).await?;
    worker.close().await?;
    ensure_eq!(starts.all().len(), 6, "jobs started");
    ensure_eq!(starts.most_in_any(WINDOW), 2, "most starts in any window");
    ensure!(
        limits >= 2,
        "the worker reported {limits} rate limits, expected 2 or more"
    );
    let limits = queue.limits().await?;
    ensure_eq!(
        limits.rate_limit.map(|l| (l.max, l.duration)),
        Some((2, WINDOW)),
        "the global rate limit read back"
    );
    queue.remove_global_rate_limit().await?;
    ensure_eq!(queue.limits().await?.rate_limit, None, "after its removal");
    Ok(())
}

/// Two workers with a limiter of 2 per window share one count: never more than 2 starts in a
/// window between them.
pub async fn a_worker_limiter_is_shared_by_the_queues_workers(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    add_numbered(&queue, 6, oxq_core::JobOptions::new()).await?;
    let starts = Starts::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = || h.worker_options().concurrency(4).limiter(2, WINDOW);
    let workers = [
        Worker::start(
            &queue,
            listen_all(options(), &tx),
            recording(&starts, h.clock().clone()),
        ),
        Worker::start(
            &queue,
            listen_all(options(), &tx),
            recording(&starts, h.clock().clone()),
        ),
    ];
    run_windows(h, &mut rx, 6).await?;
    for worker in workers {
        worker.close().await?;
    }
    ensure_eq!(starts.all().len(), 6, "jobs started");
    ensure_eq!(
        starts.most_in_any(WINDOW),
        2,
        "most starts in any window, both workers"
    );
    Ok(())
}

/// A processor answers `RateLimited` once (an API said 429): its job waits again with no attempt
/// used, and neither it nor the other job starts before the limit ends by the clock.
pub async fn a_processor_rate_limit_pauses_the_queue_without_using_an_attempt(
    h: &Harness,
) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let ids = add_numbered(&queue, 2, oxq_core::JobOptions::new()).await?;
    let starts = Starts::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let clock = h.clock().clone();
    let worker = Worker::start(&queue, listen_all(h.worker_options(), &tx), {
        let starts = starts.clone();
        move |job: Job<Value>| {
            let first = lock(&starts.0).is_empty();
            let started = job.processed_on().unwrap_or_else(|| clock.now_ms());
            starts.push(job.id().as_str(), started);
            let outcome = if first {
                Outcome::RateLimited(WINDOW)
            } else {
                Outcome::Complete(Value::Null)
            };
            async move { outcome }
        }
    });
    let limited_at = h.clock().now_ms();
    let until = loop {
        let event = tokio::time::timeout(WAIT, rx.recv())
            .await
            .map_err(|_| TestError::msg("no rate-limited event"))?
            .ok_or_else(|| TestError::msg("the listener was dropped"))?;
        if let WorkerEvent::RateLimited {
            job_id: Some(id),
            until,
        } = event
        {
            ensure_eq!(&id, &ids[0], "the job whose processor limited the queue");
            break until;
        }
    };
    ensure_eq!(
        until,
        limited_at + oxq_core::clock::millis(WINDOW),
        "the limit's end by the worker's clock"
    );
    let back = record(&queue, &ids[0]).await?;
    ensure_eq!(back.state, JobState::Waiting, "the rate-limited job");
    ensure_eq!(back.attempts_made, 0, "attempts made after a rate limit");
    h.clock().set(until);
    let mut completed = 0;
    while completed < 2 {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(WorkerEvent::Completed { .. })) => completed += 1,
            Ok(Some(WorkerEvent::Failed { reason, .. })) => {
                return Err(TestError::msg(format!("a job failed: {reason}")));
            }
            Ok(Some(_)) => {}
            _ => return Err(TestError::msg(format!("{completed} of 2 jobs completed"))),
        }
    }
    worker.close().await?;
    let all = starts.all();
    ensure_eq!(all.len(), 3, "starts (the limited one, then both jobs)");
    ensure_eq!(&all[1].0, ids[0].as_str(), "the job put back runs first");
    ensure!(
        all[1..].iter().all(|(_, at)| *at >= until),
        "a job started before the limit ended: {all:?} (limit until {until})"
    );
    ensure_eq!(
        record(&queue, &ids[0]).await?.attempts_made,
        1,
        "attempts made at the end"
    );
    Ok(())
}

/// Limits that would stop a queue for good or count nothing are refused, and nothing changes.
pub async fn bad_limits_are_refused(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let invalid = |r: oxq_core::Result<()>, what: &str| match r {
        Err(Error::InvalidOptions(_)) => Ok(()),
        other => Err(TestError::msg(format!("{what} answered {other:?}"))),
    };
    invalid(queue.set_global_rate_limit(0, WINDOW).await, "a max of 0")?;
    invalid(
        queue.set_global_rate_limit(5, Duration::ZERO).await,
        "a window of 0",
    )?;
    invalid(queue.set_global_concurrency(0).await, "a concurrency of 0")?;
    invalid(
        queue.rate_limit(Duration::ZERO).await,
        "a manual limit of 0 ms",
    )?;
    ensure_eq!(
        queue.limits().await?,
        oxq_core::QueueLimits::default(),
        "limits after refused changes"
    );
    let refused = Worker::try_start(
        &queue,
        h.worker_options().limiter(0, WINDOW),
        |_job: Job<Value>| async { Ok::<_, BoxError>(Value::Null) },
    );
    ensure!(
        matches!(&refused, Err(Error::InvalidOptions(m)) if m.contains("`limiter`")),
        "a limiter of 0 answered {:?}",
        refused.as_ref().err()
    );
    queue.set_global_concurrency(3).await?;
    ensure_eq!(
        queue.limits().await?.concurrency,
        Some(3),
        "the concurrency read back"
    );
    queue.remove_global_concurrency().await?;
    ensure_eq!(queue.limits().await?.concurrency, None, "after its removal");
    Ok(())
}
