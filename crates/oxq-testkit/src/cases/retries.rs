//! Failed attempts: retried with each backoff kind, failed for good once attempts run out
//! (with every attempt's error), and not retried at all after [`Unrecoverable`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{
    Backoff, Job, JobOptions, JobRecord, JobState, Unrecoverable, Worker, WorkerOptions,
};
use serde_json::{Value, json};

use crate::support::{Attempt, Recorder, WAIT, listen, record};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// How much later than its backoff a retry may start on a loaded machine.
const SLACK: u64 = 750;

/// Runs one job whose every attempt fails with `boom <attempt>` until it fails for good;
/// returns its attempts and final record.
async fn run_failing_job(
    h: &Harness,
    job_options: JobOptions,
    worker_options: WorkerOptions,
) -> CaseResult<(Vec<Attempt>, JobRecord)> {
    let queue = h.queue::<Value>();
    let job = queue.add("flaky", json!({}), job_options).await?;
    let recorder = Recorder::new();
    let (options, mut events) = listen(worker_options);
    let worker = Worker::start(&queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let attempt = job.attempts_made() + 1;
            async move { Err::<Value, BoxError>(format!("boom {attempt}").into()) }
        }
    });
    events.finished(1, WAIT).await?;
    worker.close().await?;
    let failed = record(&queue, job.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "final state");
    Ok((recorder.attempts(), failed))
}

/// Checks that attempt `i + 1` started between `min[i]` and `max[i] + SLACK` ms after attempt `i`.
fn check_gaps(attempts: &[Attempt], min: &[u64], max: &[u64]) -> CaseResult {
    ensure_eq!(attempts.len(), min.len() + 1, "attempts run");
    for (i, pair) in attempts.windows(2).enumerate() {
        let gap = pair[1].started_at.saturating_sub(pair[0].started_at);
        ensure!(
            gap >= min[i],
            "attempt {} started {gap} ms after attempt {}, before its backoff of {} ms",
            i + 2,
            i + 1,
            min[i]
        );
        ensure!(
            gap <= max[i] + SLACK,
            "attempt {} started {gap} ms after attempt {}; backoff at most {} ms (+{SLACK} ms slack)",
            i + 2,
            i + 1,
            max[i]
        );
    }
    Ok(())
}

/// Fixed backoff of 300 ms: each retry starts 300 ms (plus slack) after the last attempt.
pub async fn fixed_backoff_waits_between_attempts(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(3)
        .backoff(Backoff::fixed(Duration::from_millis(300)));
    let (attempts, _) = run_failing_job(h, options, h.worker_options()).await?;
    check_gaps(&attempts, &[300, 300], &[300, 300])
}

/// Exponential backoff from 200 ms: retries wait 200, 400, 800 ms.
pub async fn exponential_backoff_doubles(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(4)
        .backoff(Backoff::exponential(Duration::from_millis(200)));
    let (attempts, _) = run_failing_job(h, options, h.worker_options()).await?;
    check_gaps(&attempts, &[200, 400, 800], &[200, 400, 800])
}

/// Exponential backoff from 400 ms with jitter 0.5: retry `n` waits in `[m/2, m]` for
/// `m` = 400, 800, 1600 ms.
pub async fn exponential_backoff_with_jitter_stays_in_window(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(4)
        .backoff(Backoff::exponential(Duration::from_millis(400)).with_jitter(0.5));
    let (attempts, _) = run_failing_job(h, options, h.worker_options()).await?;
    check_gaps(&attempts, &[200, 400, 800], &[400, 800, 1600])
}

/// A strategy registered on the worker decides each wait from the attempt number, the last
/// error and the job's configured delay, and stops the retries by answering `None`.
pub async fn custom_backoff_strategy(h: &Harness) -> CaseResult {
    type Calls = Arc<Mutex<Vec<(u32, String, Duration)>>>;
    let calls: Calls = Arc::default();
    let worker_options = h.worker_options().backoff_strategy("linear", {
        let calls = calls.clone();
        move |attempt, reason, delay| {
            calls.lock().unwrap_or_else(|p| p.into_inner()).push((
                attempt,
                reason.to_owned(),
                delay,
            ));
            (attempt <= 3).then(|| delay * attempt)
        }
    });
    let options = JobOptions::new().attempts(10).backoff(Backoff::Custom {
        name: "linear".into(),
        delay: Duration::from_millis(100),
    });
    let (attempts, failed) = run_failing_job(h, options, worker_options).await?;
    // Attempt 2 waits 2 x 100 ms, attempt 3 waits 3 x 100 ms, attempt 4 is refused.
    check_gaps(&attempts, &[200, 300], &[200, 300])?;
    let calls = calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let base = Duration::from_millis(100);
    let expected = vec![
        (2, "boom 1".to_owned(), base),
        (3, "boom 2".to_owned(), base),
        (4, "boom 3".to_owned(), base),
    ];
    ensure_eq!(
        calls,
        expected,
        "calls to the custom strategy (attempt, error, delay)"
    );
    ensure_eq!(
        failed.attempts_made,
        3,
        "attempts made once the strategy gave up"
    );
    Ok(())
}

/// Three failing attempts: the job ends failed with `attempts_made == 3`, the last error as
/// its reason and all three errors in its stack trace; the listener saw two retries and a
/// final failure.
pub async fn exhausted_attempts_fail_with_every_error(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue
        .add("flaky", json!({}), JobOptions::new().attempts(3))
        .await?;
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let attempt = job.attempts_made() + 1;
            async move { Err::<Value, BoxError>(format!("boom {attempt}").into()) }
        }
    });
    events.finished(1, WAIT).await?;
    worker.close().await?;
    let failed = record(&queue, job.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "final state");
    ensure_eq!(failed.attempts_made, 3, "attempts_made");
    ensure_eq!(
        failed.failed_reason.as_deref(),
        Some("boom 3"),
        "failed_reason"
    );
    ensure_eq!(
        failed.stacktrace,
        ["boom 1", "boom 2", "boom 3"],
        "stacktrace"
    );
    ensure!(failed.finished_on.is_some(), "finished_on is not set");
    let attempts: Vec<u32> = recorder.attempts().iter().map(|a| a.attempt).collect();
    ensure_eq!(attempts, [1, 2, 3], "attempt numbers the processor saw");
    let retrying: Vec<bool> = events
        .seen
        .iter()
        .filter_map(|e| match e {
            oxq_core::WorkerEvent::Failed { retrying, .. } => Some(*retrying),
            _ => None,
        })
        .collect();
    ensure_eq!(
        retrying,
        [true, true, false],
        "`retrying` of each failed attempt"
    );
    let counts = queue.counts().await?;
    ensure!(
        counts.failed == 1 && counts.total() == 1,
        "one failed job expected, got {counts:?}"
    );
    Ok(())
}

/// An [`Unrecoverable`] error fails the job for good on its first of five attempts.
pub async fn unrecoverable_error_skips_remaining_attempts(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let options = JobOptions::new()
        .attempts(5)
        .backoff(Backoff::fixed(Duration::from_millis(50)));
    let job = queue.add("card", json!({}), options).await?;
    let recorder = Recorder::new();
    let (worker_options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, worker_options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            async move { Err::<Value, BoxError>(Unrecoverable::new("card declined").into()) }
        }
    });
    let done = events.finished(1, WAIT).await?;
    worker.close().await?;
    let failed = record(&queue, job.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "final state");
    ensure_eq!(failed.attempts_made, 1, "attempts_made");
    ensure_eq!(recorder.len(), 1, "attempts run");
    ensure_eq!(
        failed.failed_reason.as_deref(),
        Some("card declined"),
        "failed_reason"
    );
    let oxq_core::WorkerEvent::Failed { retrying, .. } = &done[0] else {
        bail!("expected a failed event, got {:?}", done[0]);
    };
    ensure!(!retrying, "the listener was told the job would be retried");
    Ok(())
}
