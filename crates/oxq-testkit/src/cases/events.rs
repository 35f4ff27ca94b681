//! Events: the queue's event log read with `QueueEvents` (names, order and fields follow
//! BullMQ's stream), and the worker's in-process listener.

use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Backoff, Event, Job, JobOptions, JobState, Worker, WorkerEvent};
use serde_json::{Value, json};

use crate::support::{WAIT, events_until, is_subsequence, listen, names, names_for, record};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// A completing job's events, in order: added, waiting, active, progress, completed (with
/// their fields); the queue then reports `drained`.
pub async fn completed_lifecycle_events_in_order(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    let job = queue.add("hello", json!(1), JobOptions::new()).await?;
    let id = job.id().clone();
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        |mut job: Job<Value>| async move {
            job.update_progress(50).await?;
            Ok::<_, BoxError>(json!("done"))
        },
    );
    let mut seen = events_until(
        &mut events,
        WAIT,
        |e| matches!(e, Event::Completed { job_id, .. } if job_id == &id),
    )
    .await?;
    seen.extend(events_until(&mut events, WAIT, |e| matches!(e, Event::Drained)).await?);
    worker.close().await?;
    ensure_eq!(
        names_for(&seen, &id),
        ["added", "waiting", "active", "progress", "completed"],
        "events of a completing job"
    );
    for event in &seen {
        match event {
            Event::Added { name, .. } => ensure_eq!(name, "hello", "added.name"),
            Event::Waiting { prev, .. } => ensure_eq!(*prev, None, "waiting.prev of a fresh add"),
            Event::Active { prev, .. } => ensure_eq!(*prev, JobState::Waiting, "active.prev"),
            Event::Progress { data, .. } => ensure_eq!(data, "50", "progress.data"),
            Event::Completed { return_value, .. } => {
                ensure_eq!(return_value, r#""done""#, "completed.return_value");
            }
            _ => {}
        }
    }
    let all = names(&seen);
    ensure!(
        is_subsequence(&["completed", "drained"], &all),
        "expected drained after completed, got {all:?}"
    );
    Ok(())
}

/// A job failing twice with a 200 ms fixed backoff: added, active, delayed, active, failed,
/// retries-exhausted (`waiting` may appear when it is re-queued), with their fields.
pub async fn failed_lifecycle_events(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    let options = JobOptions::new()
        .attempts(2)
        .backoff(Backoff::fixed(Duration::from_millis(200)));
    let job = queue.add("doomed", json!(1), options).await?;
    let id = job.id().clone();
    let worker = Worker::start(&queue, h.worker_options(), |_job: Job<Value>| async {
        Err::<Value, BoxError>("nope".into())
    });
    let seen = events_until(
        &mut events,
        WAIT,
        |e| matches!(e, Event::RetriesExhausted { job_id, .. } if job_id == &id),
    )
    .await?;
    worker.close().await?;
    let lifecycle: Vec<_> = names_for(&seen, &id)
        .into_iter()
        .filter(|n| *n != "waiting")
        .collect();
    ensure_eq!(
        lifecycle,
        [
            "added",
            "active",
            "delayed",
            "active",
            "failed",
            "retries-exhausted"
        ],
        "events of a job failing twice (waiting events left out)"
    );
    let stored = record(&queue, &id).await?;
    for event in &seen {
        match event {
            Event::Delayed { due_at, .. } => ensure!(
                *due_at >= stored.timestamp + 200,
                "delayed.due_at {due_at} is less than 200 ms after the add at {}",
                stored.timestamp
            ),
            Event::Failed { failed_reason, .. } => {
                ensure_eq!(failed_reason, "nope", "failed.failed_reason")
            }
            Event::RetriesExhausted { attempts_made, .. } => {
                ensure_eq!(*attempts_made, 2, "retries-exhausted.attempts_made");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Queue-level actions are events too: paused, resumed, delayed (absolute due time), removed
/// (with the state it left), duplicated, cleaned (with a count).
pub async fn queue_admin_events(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    queue.pause().await?;
    queue.resume().await?;
    let later = queue
        .add(
            "later",
            json!(0),
            JobOptions::new().delay(Duration::from_secs(60)),
        )
        .await?;
    ensure!(queue.remove(later.id()).await?, "remove answered false");
    let dup = queue
        .add("dup", json!(0), JobOptions::new().job_id("dup-1"))
        .await?;
    queue
        .add("dup", json!(1), JobOptions::new().job_id("dup-1"))
        .await?;
    ensure_eq!(
        queue
            .clean(JobState::Waiting, Duration::ZERO, 10)
            .await?
            .len(),
        1,
        "jobs cleaned"
    );
    let seen = events_until(&mut events, WAIT, |e| matches!(e, Event::Cleaned { .. })).await?;
    let all = names(&seen);
    let expected = [
        "paused",
        "resumed",
        "added",
        "delayed",
        "removed",
        "added",
        "waiting",
        "duplicated",
        "cleaned",
    ];
    ensure!(
        is_subsequence(&expected, &all),
        "expected {expected:?} in order, got {all:?}"
    );
    let mut checked = 0;
    for event in &seen {
        match event {
            Event::Delayed { job_id, due_at } => {
                ensure_eq!(job_id, later.id(), "delayed.job_id");
                ensure_eq!(*due_at, later.timestamp() + 60_000, "delayed.due_at");
                checked += 1;
            }
            Event::Removed { job_id, prev } => {
                ensure_eq!(job_id, later.id(), "removed.job_id");
                ensure_eq!(*prev, Some(JobState::Delayed), "removed.prev");
                checked += 1;
            }
            Event::Duplicated { job_id } => {
                ensure_eq!(job_id, dup.id(), "duplicated.job_id");
                checked += 1;
            }
            Event::Cleaned { count } => {
                ensure_eq!(*count, 1, "cleaned.count");
                checked += 1;
            }
            _ => {}
        }
    }
    ensure_eq!(
        checked,
        4,
        "delayed, removed, duplicated and cleaned events (one each)"
    );
    Ok(())
}

/// The worker's listener hears each outcome after the store recorded it: completed with the
/// return value, failed with `retrying` true then false.
pub async fn worker_listener_reports_outcomes(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ok = queue
        .add("ok", json!({"a": 1, "b": 2}), JobOptions::new())
        .await?;
    // The backoff keeps the retried job delayed long enough to read its state in between.
    let retry = JobOptions::new()
        .attempts(2)
        .backoff(Backoff::fixed(Duration::from_millis(500)));
    let bad = queue.add("bad", json!({}), retry).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        if job.name() == "bad" {
            return Err::<Value, BoxError>("nope".into());
        }
        let sum = job.data()["a"].as_i64().unwrap_or(0) + job.data()["b"].as_i64().unwrap_or(0);
        Ok(json!({ "sum": sum }))
    });
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let event = events
            .wait_for("an outcome", WAIT, |e| {
                matches!(
                    e,
                    WorkerEvent::Completed { .. } | WorkerEvent::Failed { .. }
                )
            })
            .await?;
        // Delivered after the store recorded it: the store already shows the outcome.
        let (id, expected) = match &event {
            WorkerEvent::Completed { job_id, .. } => (job_id, JobState::Completed),
            WorkerEvent::Failed {
                job_id,
                retrying: false,
                ..
            } => (job_id, JobState::Failed),
            WorkerEvent::Failed { job_id, .. } => (job_id, JobState::Waiting),
            other => bail!("unexpected event {other:?}"),
        };
        let state = record(&queue, id).await?.state;
        if expected == JobState::Waiting {
            ensure!(
                !state.is_finished(),
                "job {id} is {state} when the listener hears it will be retried"
            );
        } else {
            ensure_eq!(
                state,
                expected,
                "state of {id} when the listener hears of it"
            );
        }
        outcomes.push(event);
    }
    worker.close().await?;
    let completed: Vec<_> = outcomes
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Completed {
                job_id,
                return_value,
                ..
            } => Some((job_id.clone(), return_value.clone())),
            _ => None,
        })
        .collect();
    ensure_eq!(
        completed,
        [(ok.id().clone(), r#"{"sum":3}"#.to_owned())],
        "completed events"
    );
    let failed: Vec<_> = outcomes
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Failed {
                job_id,
                reason,
                retrying,
                ..
            } => Some((job_id.clone(), reason.clone(), *retrying)),
            _ => None,
        })
        .collect();
    let expected = [
        (bad.id().clone(), "nope".to_owned(), true),
        (bad.id().clone(), "nope".to_owned(), false),
    ];
    ensure_eq!(failed, expected, "failed events");
    Ok(())
}
