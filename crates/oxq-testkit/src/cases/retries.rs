//! Failed attempts: retried with each backoff kind, failed for good once attempts run out
//! (with every attempt's error), and not retried at all after [`Unrecoverable`].
//!
//! Backoff cases run on the case's manual clock: each retry's due time is checked to the
//! millisecond, and time is moved by hand instead of waited for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{
    Backoff, Clock, Job, JobOptions, JobRecord, JobState, Unrecoverable, Worker, WorkerOptions,
};
use serde_json::{Value, json};

use crate::support::{
    Attempt, CANARY, Recorder, WAIT, advance_and_settle, listen, record, wait_for_record,
    wait_for_state,
};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// Runs one job whose every attempt fails with `boom <attempt>` on the case's manual clock,
/// until it fails for good; returns each retry's wait, the attempts and the final record.
///
/// Before retry `i + 1` it checks, with time moved by hand: the job waits delayed, due between
/// `windows[i].0` and `windows[i].1` ms after the failed attempt; it is still delayed 1 ms before
/// it is due (a worker fetched at that time); it starts exactly when due.
async fn run_failing_job(
    h: &Harness,
    job_options: JobOptions,
    worker_options: WorkerOptions,
    windows: &[(u64, u64)],
) -> CaseResult<(Vec<u64>, Vec<Attempt>, JobRecord)> {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let job = queue.add("flaky", json!({}), job_options).await?;
    let id = job.id().clone();
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, worker_options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            let canary = job.name() == CANARY;
            if !canary {
                recorder.record(&job);
            }
            let attempt = job.attempts_made() + 1;
            async move {
                match canary {
                    true => Ok(Value::Null),
                    false => Err::<Value, BoxError>(format!("boom {attempt}").into()),
                }
            }
        }
    });
    let mut gaps = Vec::new();
    for (i, &(min, max)) in windows.iter().enumerate() {
        let made = i as u32 + 1;
        let delayed = wait_for_record(
            &queue,
            &id,
            &format!("delayed after {made} attempts"),
            |r| r.state == JobState::Delayed && r.attempts_made == made,
        )
        .await?;
        let failed_at = clock.now_ms();
        let Some(due) = delayed.due_at else {
            bail!("the delayed job has no due time after attempt {made}");
        };
        let gap = due.saturating_sub(failed_at);
        ensure!(
            (min..=max).contains(&gap),
            "retry {made} waits {gap} ms; its backoff is {min}..={max} ms"
        );
        gaps.push(gap);
        advance_and_settle(clock, &queue, Duration::from_millis(gap.saturating_sub(1))).await?;
        let early = record(&queue, &id).await?;
        ensure!(
            early.state == JobState::Delayed && early.attempts_made == made,
            "1 ms before its retry was due the job is {} after {} attempts",
            early.state,
            early.attempts_made
        );
        clock.advance(Duration::from_millis(1));
        let started = recorder.wait_len(i + 2, WAIT).await?;
        ensure_eq!(
            started[i + 1].processed_on,
            Some(due),
            "processed_on of attempt {}",
            made + 1
        );
    }
    let failed = wait_for_state(&queue, &id, JobState::Failed).await?;
    worker.close().await?;
    Ok((gaps, recorder.attempts(), failed))
}

/// Fixed backoff of 30 s: each retry is due exactly 30 s after the last attempt, not a
/// millisecond earlier.
pub async fn fixed_backoff_waits_between_attempts(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(3)
        .backoff(Backoff::fixed(Duration::from_secs(30)));
    let windows = [(30_000, 30_000); 2];
    let (_, attempts, _) = run_failing_job(h, options, h.worker_options(), &windows).await?;
    ensure_eq!(attempts.len(), 3, "attempts run");
    Ok(())
}

/// Exponential backoff from 2 s: retries wait 2, 4, 8 s.
pub async fn exponential_backoff_doubles(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(4)
        .backoff(Backoff::exponential(Duration::from_secs(2)));
    let windows = [(2_000, 2_000), (4_000, 4_000), (8_000, 8_000)];
    let (_, attempts, _) = run_failing_job(h, options, h.worker_options(), &windows).await?;
    ensure_eq!(attempts.len(), 4, "attempts run");
    Ok(())
}

/// Exponential backoff from 4 s with jitter 0.5: retry `n` waits in `[m/2, m]` for
/// `m` = 4, 8, 16 s.
pub async fn exponential_backoff_with_jitter_stays_in_window(h: &Harness) -> CaseResult {
    let options = JobOptions::new()
        .attempts(4)
        .backoff(Backoff::exponential(Duration::from_secs(4)).with_jitter(0.5));
    let windows = [(2_000, 4_000), (4_000, 8_000), (8_000, 16_000)];
    let (_, attempts, _) = run_failing_job(h, options, h.worker_options(), &windows).await?;
    ensure_eq!(attempts.len(), 4, "attempts run");
    Ok(())
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
    // Attempt 2 waits 2 x 100 ms, attempt 3 waits 3 x 100 ms, attempt 4 is refused.
    let windows = [(200, 200), (300, 300)];
    let (_, attempts, failed) = run_failing_job(h, options, worker_options, &windows).await?;
    ensure_eq!(attempts.len(), 3, "attempts run");
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
