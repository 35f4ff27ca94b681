//! What a processor's [`Outcome`] does to its job: a delay puts the job back to delayed without
//! using an attempt and it runs again once due; `Fail` is retried, `FailForGood` is not; a
//! processor may return `Result<Outcome<R>, E>` and use `?`.
//!
//! Delays run on the case's manual clock: time is moved by hand, never waited for.

use std::time::{Duration, SystemTime};

use oxq_core::worker::BoxError;
use oxq_core::{Clock, Event, Job, JobOptions, JobState, Outcome, Worker, WorkerEvent};
use serde_json::{Value, json};

use crate::support::{
    CANARY, Recorder, WAIT, advance_and_settle, events_until, listen, record, wait_for_record,
    wait_for_state,
};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// A processor that asks for a one-minute delay on a job's first run and completes it on the
/// next: the job waits delayed, due exactly a minute later by the worker's clock, with no
/// attempt used, no error recorded and its lock released; the worker reports `Delayed` and the
/// queue's log has a `delayed` event. 1 ms before it is due it has not run again; once due it
/// runs and completes with one attempt made and two started.
pub async fn delay_outcome_runs_again_later_without_using_an_attempt(h: &Harness) -> CaseResult {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let mut events = queue.events().await?;
    // one attempt only: a delay that used it would leave none for the second run
    let job = queue
        .add("postpone", json!({}), JobOptions::new().attempts(1))
        .await?;
    let id = job.id().clone();
    let recorder = Recorder::new();
    let (options, mut worker_events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            let first_run = job.name() != CANARY && recorder.attempts_of(job.id()).is_empty();
            if job.name() != CANARY {
                recorder.record(&job);
            }
            async move {
                match first_run {
                    true => Outcome::DelayFor(Duration::from_secs(60)),
                    false => Outcome::Complete(json!("done")),
                }
            }
        }
    });
    let delayed_at = clock.now_ms();
    let due = delayed_at + 60_000;
    let told = worker_events
        .wait_for("the worker's delayed event", WAIT, |e| {
            matches!(e, WorkerEvent::Delayed { .. })
        })
        .await?;
    ensure_eq!(
        told,
        WorkerEvent::Delayed {
            job_id: id.clone(),
            until: due
        },
        "the worker's event"
    );
    let waiting = wait_for_state(&queue, &id, JobState::Delayed).await?;
    ensure_eq!(waiting.due_at, Some(due), "due_at of the postponed job");
    ensure_eq!(waiting.attempts_made, 0, "attempts_made after the delay");
    ensure_eq!(waiting.failed_reason, None, "failed_reason after the delay");
    ensure!(
        waiting.stacktrace.is_empty(),
        "errors recorded: {:?}",
        waiting.stacktrace
    );
    let counts = queue.counts().await?;
    ensure!(
        counts.delayed == 1 && counts.active == 0,
        "one delayed and no active job expected (the lock released), got {counts:?}"
    );
    let seen = events_until(
        &mut events,
        WAIT,
        |e| matches!(e, Event::Delayed { job_id, .. } if *job_id == id),
    )
    .await?;
    ensure!(
        seen.iter().any(|e| matches!(
            e,
            Event::Delayed { job_id, due_at } if *job_id == id && *due_at == due
        )),
        "the queue's delayed event for {id} due at {due}: {seen:?}"
    );

    advance_and_settle(clock, &queue, Duration::from_millis(59_999)).await?;
    ensure_eq!(recorder.len(), 1, "runs 1 ms before the job was due");
    clock.advance(Duration::from_millis(1));
    let done = wait_for_state(&queue, &id, JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(done.attempts_made, 1, "attempts_made once completed");
    ensure_eq!(done.attempts_started, 2, "attempts_started once completed");
    ensure_eq!(
        done.return_value.as_deref(),
        Some(r#""done""#),
        "return value"
    );
    let runs = recorder.attempts();
    ensure_eq!(runs.len(), 2, "runs");
    ensure_eq!(
        runs[1].processed_on,
        Some(due),
        "processed_on of the second run"
    );
    Ok(())
}

/// `DelayUntil` a time already past makes the job runnable at once: it runs again without the
/// clock moving, and completes with one attempt made.
pub async fn delay_until_a_past_time_runs_again_at_once(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let job = queue.add("again", json!({}), JobOptions::new()).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            let first_run = recorder.attempts_of(job.id()).is_empty();
            recorder.record(&job);
            async move {
                match first_run {
                    true => Outcome::DelayUntil(SystemTime::UNIX_EPOCH + Duration::from_secs(1)),
                    false => Outcome::Complete(Value::Null),
                }
            }
        }
    });
    let done = wait_for_state(&queue, job.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(recorder.len(), 2, "runs");
    ensure_eq!(done.attempts_made, 1, "attempts_made");
    Ok(())
}

/// `Outcome::Fail` is retried while attempts remain (3 runs of 3 attempts, every error kept);
/// `Outcome::FailForGood` fails at once (1 run of 3 attempts); an `Err` from a processor that
/// returns `Result<Outcome<R>, E>` fails the attempt like `Fail`.
pub async fn fail_outcomes_retry_or_stop(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let three = JobOptions::new().attempts(3);
    let retried = queue.add("fail", json!({}), three.clone()).await?;
    let stopped = queue.add("fail-for-good", json!({}), three.clone()).await?;
    let errored = queue.add("question-mark", json!({}), three).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), {
        let recorder = recorder.clone();
        move |job: Job<Value>| {
            recorder.record(&job);
            let name = job.name().to_owned();
            let attempt = job.attempts_made() + 1;
            async move {
                let outcome: Outcome<Value> = match name.as_str() {
                    "fail" => Outcome::fail(std::io::Error::other(format!("busy {attempt}"))),
                    "fail-for-good" => Outcome::fail_for_good("card declined"),
                    _ => {
                        let parsed: Result<u32, BoxError> =
                            "not a number".parse::<u32>().map_err(Into::into);
                        Outcome::Complete(json!(parsed?))
                    }
                };
                Ok::<_, BoxError>(outcome)
            }
        }
    });
    let retried_job = wait_for_state(&queue, retried.id(), JobState::Failed).await?;
    let stopped_job = wait_for_state(&queue, stopped.id(), JobState::Failed).await?;
    let errored_job = wait_for_record(&queue, errored.id(), "failed after 3 attempts", |r| {
        r.state == JobState::Failed && r.attempts_made == 3
    })
    .await?;
    worker.close().await?;
    ensure_eq!(
        retried_job.stacktrace,
        ["busy 1", "busy 2", "busy 3"],
        "errors of the job failed with Outcome::Fail"
    );
    ensure_eq!(
        recorder.attempts_of(stopped.id()).len(),
        1,
        "runs of the job failed for good"
    );
    ensure_eq!(
        stopped_job.attempts_made,
        1,
        "attempts_made of the job failed for good"
    );
    ensure_eq!(
        stopped_job.failed_reason.as_deref(),
        Some("card declined"),
        "failed_reason of the job failed for good"
    );
    ensure_eq!(
        recorder.attempts_of(errored.id()).len(),
        3,
        "runs of the job whose processor returned Err"
    );
    ensure!(
        errored_job
            .failed_reason
            .as_deref()
            .is_some_and(|r| r.contains("invalid digit")),
        "failed_reason of the job whose processor returned Err: {:?}",
        errored_job.failed_reason
    );
    ensure!(
        record(&queue, retried.id()).await?.finished_on.is_some(),
        "finished_on of the failed job"
    );
    Ok(())
}
