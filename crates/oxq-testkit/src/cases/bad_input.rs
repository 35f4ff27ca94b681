//! Bad input: invalid options and oversized payloads are rejected before anything is written;
//! stored data that does not decode into the worker's type fails only that job.

use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{
    Backoff, Error, Job, JobOptions, JobState, MAX_PRIORITY, QueueEvents, QueueOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::support::{WAIT, listen, names, record};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// Fails unless the queue recorded no event since `events` started listening.
async fn no_events(events: &mut QueueEvents) -> CaseResult {
    // Absence can only be seen by waiting a little for something that should not come.
    let mut seen = Vec::new();
    while let Some(stored) = events.next_timeout(Duration::from_millis(300)).await? {
        seen.push(stored.event);
    }
    ensure!(
        seen.is_empty(),
        "rejected adds recorded events: {:?}",
        names(&seen)
    );
    Ok(())
}

/// Out-of-range priority, zero attempts, ids that could collide with automatic ids or keys,
/// bad jitter and a zero timeout are each refused with `InvalidOptions` naming the problem; a
/// bulk with one bad job writes none; nothing is written or announced.
pub async fn invalid_options_are_rejected(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    let bad = [
        (JobOptions::new().priority(MAX_PRIORITY + 1), "priority"),
        (JobOptions::new().attempts(0), "attempts"),
        (JobOptions::new().job_id("42"), "42"),
        (JobOptions::new().job_id("a:b"), "a:b"),
        (JobOptions::new().job_id("wait"), "wait"),
        (JobOptions::new().job_id(""), "empty"),
        (
            JobOptions::new().backoff(Backoff::fixed(Duration::from_millis(10)).with_jitter(1.5)),
            "jitter",
        ),
        (JobOptions::new().timeout(Duration::ZERO), "timeout"),
    ];
    for (options, named) in bad {
        match queue.add("bad", json!(1), options.clone()).await {
            Err(Error::InvalidOptions(message)) if message.contains(named) => {}
            other => bail!(
                "add with {options:?}: expected InvalidOptions naming {named:?}, got {other:?}"
            ),
        }
    }
    let bulk = vec![
        ("good".to_owned(), json!(1), JobOptions::new()),
        ("bad".to_owned(), json!(2), JobOptions::new().attempts(0)),
        ("good".to_owned(), json!(3), JobOptions::new()),
    ];
    match queue.add_bulk(bulk).await {
        Err(Error::InvalidOptions(_)) => {}
        other => bail!("add_bulk with one bad job: expected InvalidOptions, got {other:?}"),
    }
    ensure_eq!(
        queue.counts().await?.total(),
        0,
        "jobs written by rejected adds"
    );
    no_events(&mut events).await?;

    let edge = queue
        .add(
            "edge",
            json!(1),
            JobOptions::new().priority(MAX_PRIORITY).job_id("0123"),
        )
        .await?;
    ensure_eq!(
        record(&queue, edge.id()).await?.state,
        JobState::Prioritized,
        "job at MAX_PRIORITY"
    );
    ensure_eq!(
        edge.id().as_str(),
        "0123",
        "id of a job with a non-canonical numeric id"
    );
    Ok(())
}

/// A payload over `max_payload_bytes` is refused with `PayloadTooLarge` (alone or in a bulk),
/// nothing is written; a payload of exactly the limit is accepted.
pub async fn oversized_payload_is_rejected(h: &Harness) -> CaseResult {
    let queue = h
        .queue::<Value>()
        .with_options(QueueOptions::new().max_payload_bytes(64))?;
    let mut events = queue.events().await?;
    // A JSON string of n characters takes n + 2 bytes.
    match queue
        .add("big", json!("x".repeat(100)), JobOptions::new())
        .await
    {
        Err(Error::PayloadTooLarge {
            size: 102,
            limit: 64,
        }) => {}
        other => bail!(
            "a 102-byte payload with a 64-byte limit: expected PayloadTooLarge, got {other:?}"
        ),
    }
    let bulk = vec![
        ("small".to_owned(), json!(1), JobOptions::new()),
        ("big".to_owned(), json!("x".repeat(63)), JobOptions::new()),
    ];
    match queue.add_bulk(bulk).await {
        Err(Error::PayloadTooLarge {
            size: 65,
            limit: 64,
        }) => {}
        other => bail!("a bulk with a 65-byte payload: expected PayloadTooLarge, got {other:?}"),
    }
    ensure_eq!(
        queue.counts().await?.total(),
        0,
        "jobs written by rejected adds"
    );
    no_events(&mut events).await?;
    let fits = queue
        .add("fits", json!("x".repeat(62)), JobOptions::new())
        .await?;
    ensure_eq!(
        record(&queue, fits.id()).await?.data.len(),
        64,
        "stored payload size"
    );
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: u32,
    amount: u64,
}

/// Jobs whose stored JSON does not decode into the worker's payload type fail at once (no
/// retry, processor never called) with a reason saying so; the good jobs around them complete.
pub async fn undecodable_data_fails_the_job(h: &Harness) -> CaseResult {
    let raw = h.queue::<Value>();
    let retries = JobOptions::new().attempts(3);
    let good_1 = raw
        .add("order", json!({"id": 1, "amount": 10}), retries.clone())
        .await?;
    let bad_1 = raw
        .add("order", json!({"id": "one"}), retries.clone())
        .await?;
    let good_2 = raw
        .add("order", json!({"id": 2, "amount": 20}), retries.clone())
        .await?;
    let bad_2 = raw.add("order", json!("not an order"), retries).await?;

    let typed = raw.typed::<Order>();
    let (options, mut events) = listen(h.worker_options());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = oxq_core::Worker::start(&typed, options, move |job: Job<Order>| {
        let _ = tx.send(job.data().id);
        async move { Ok::<_, BoxError>(job.data().amount) }
    });
    events.finished(4, WAIT).await?;
    worker.close().await?;
    let mut seen = Vec::new();
    while let Ok(id) = rx.try_recv() {
        seen.push(id);
    }
    ensure_eq!(seen, [1, 2], "orders the processor received");
    for (id, amount) in [(good_1.id(), "10"), (good_2.id(), "20")] {
        let done = record(&raw, id).await?;
        ensure_eq!(done.state, JobState::Completed, "state of good job {id}");
        ensure_eq!(
            done.return_value.as_deref(),
            Some(amount),
            "return value of {id}"
        );
    }
    for id in [bad_1.id(), bad_2.id()] {
        let failed = record(&raw, id).await?;
        ensure_eq!(
            failed.state,
            JobState::Failed,
            "state of undecodable job {id}"
        );
        ensure_eq!(
            failed.attempts_made,
            1,
            "attempts of undecodable job {id} (3 allowed)"
        );
        let reason = failed.failed_reason.unwrap_or_default();
        ensure!(
            reason.contains("decode") && reason.contains(id.as_str()),
            "failed_reason {reason:?} should say job {id}'s data could not be decoded"
        );
    }
    Ok(())
}

/// Worker and queue options out of range are refused where they take effect, with
/// `InvalidOptions` naming the option and its range, and nothing starts: a `stalled_interval`
/// of 0 (which panicked the stalled-job check) or a `lock_duration` of 0 (which ran every job
/// three times) leaves a waiting job untouched; valid options then run it once.
pub async fn invalid_worker_and_queue_options_are_rejected(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("wait", json!(1), JobOptions::new()).await?;
    let zero = Duration::ZERO;
    let bad = [
        (
            h.worker_options().stalled_interval(zero),
            "`stalled_interval` is 0 ms; use 100 ms ..= 24 h",
        ),
        (
            h.worker_options().lock_duration(zero),
            "`lock_duration` is 0 ms; use 100 ms ..= 24 h",
        ),
        (
            h.worker_options().drain_delay(zero),
            "`drain_delay` is 0 ms; use 10 ms ..= 1 h",
        ),
    ];
    for (options, named) in bad {
        let started = oxq_core::Worker::try_start(&queue, options, |_job: Job<Value>| async {
            Ok::<_, BoxError>(())
        });
        match started {
            Err(Error::InvalidOptions(message)) if message.contains(named) => {}
            Err(other) => bail!("expected InvalidOptions saying {named:?}, got {other}"),
            Ok(_) => bail!("a worker started with options saying {named:?}"),
        }
    }
    match h
        .queue::<Value>()
        .with_options(QueueOptions::new().max_payload_bytes(0))
    {
        Err(Error::InvalidOptions(message)) if message.contains("`max_payload_bytes` is 0") => {}
        Err(other) => bail!("max_payload_bytes(0): expected InvalidOptions, got {other}"),
        Ok(_) => bail!("max_payload_bytes(0) was accepted"),
    }
    ensure_eq!(
        record(&queue, job.id()).await?.state,
        JobState::Waiting,
        "state of the job after the refused starts"
    );
    let (options, mut events) = listen(h.worker_options());
    let worker = oxq_core::Worker::try_start(&queue, options, |_job: Job<Value>| async {
        Ok::<_, BoxError>(())
    })?;
    events.finished(1, WAIT).await?;
    worker.close().await?;
    let done = record(&queue, job.id()).await?;
    ensure_eq!(
        (done.state, done.attempts_started),
        (JobState::Completed, 1),
        "state and attempts of the job run with valid options"
    );
    Ok(())
}
