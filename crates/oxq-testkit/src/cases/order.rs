//! Which job runs next: FIFO, LIFO, priorities, and idempotent adds by custom id.

use oxq_core::{Event, JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{Recorder, WAIT, add_numbered, events_until, wait_for_state};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// Jobs added in one order run in that order on a worker of concurrency 1.
pub async fn fifo_order(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ids = add_numbered(&queue, 10, JobOptions::new()).await?;
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    recorder.wait_len(10, WAIT).await?;
    worker.close().await?;
    ensure_eq!(recorder.ids(), ids, "processing order of FIFO jobs");
    Ok(())
}

/// LIFO jobs jump ahead of the jobs already waiting, newest first.
pub async fn lifo_order(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    for name in ["a", "b", "c"] {
        queue.add(name, json!(name), JobOptions::new()).await?;
    }
    for name in ["x", "y", "z"] {
        queue
            .add(name, json!(name), JobOptions::new().lifo(true))
            .await?;
    }
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    recorder.wait_len(6, WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["z", "y", "x", "a", "b", "c"],
        "processing order of FIFO jobs a,b,c then LIFO jobs x,y,z"
    );
    Ok(())
}

/// Priority-0 jobs run first (FIFO), then prioritized ones by priority (1 most urgent), FIFO
/// within one priority.
pub async fn priority_order(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let adds = [
        ("p5", 5),
        ("p1", 1),
        ("none-a", 0),
        ("p3", 3),
        ("p1-second", 1),
        ("none-b", 0),
        ("p2", 2),
    ];
    for (name, priority) in adds {
        let job = queue
            .add(name, json!(name), JobOptions::new().priority(priority))
            .await?;
        let state = crate::support::record(&queue, job.id()).await?.state;
        let expected = if priority == 0 {
            JobState::Waiting
        } else {
            JobState::Prioritized
        };
        ensure_eq!(state, expected, "state of {name} after add");
    }
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.prioritized),
        (2, 5),
        "(waiting, prioritized) counts"
    );
    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    recorder.wait_len(adds.len(), WAIT).await?;
    worker.close().await?;
    ensure_eq!(
        recorder.names(),
        ["none-a", "none-b", "p1", "p1-second", "p2", "p3", "p5"],
        "processing order by priority"
    );
    Ok(())
}

/// A second add with an existing custom id returns the first job, changes nothing, records a
/// `duplicated` event, and does so even after the job completed.
pub async fn idempotent_job_id(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let mut events = queue.events().await?;
    let first = queue
        .add(
            "order",
            json!({"v": 1}),
            JobOptions::new().job_id("order-1"),
        )
        .await?;
    ensure_eq!(first.id().as_str(), "order-1", "id of the first add");
    let second = queue
        .add(
            "other-name",
            json!({"v": 2}),
            JobOptions::new().job_id("order-1").priority(4),
        )
        .await?;
    ensure_eq!(second.id(), first.id(), "id returned by the duplicate add");
    ensure_eq!(
        second.data(),
        &json!({"v": 1}),
        "data returned by the duplicate add"
    );
    ensure_eq!(second.name(), "order", "name returned by the duplicate add");
    let stored = crate::support::record(&queue, first.id()).await?;
    ensure_eq!(
        stored.data,
        r#"{"v":1}"#,
        "stored data after the duplicate add"
    );
    ensure_eq!(
        stored.state,
        JobState::Waiting,
        "state after the duplicate add"
    );
    ensure_eq!(queue.counts().await?.total(), 1, "jobs in the queue");
    let seen = events_until(&mut events, WAIT, |e| matches!(e, Event::Duplicated { .. })).await?;
    ensure!(
        matches!(seen.last(), Some(Event::Duplicated { job_id }) if job_id == first.id()),
        "expected a duplicated event for order-1, got {seen:?}"
    );

    // In one bulk: the second entry with the same id is the first one.
    let bulk = queue
        .add_bulk(vec![
            ("a".into(), json!("a"), JobOptions::new().job_id("bulk-1")),
            ("b".into(), json!("b"), JobOptions::new().job_id("bulk-1")),
        ])
        .await?;
    ensure_eq!(
        bulk[1].id(),
        bulk[0].id(),
        "ids of a bulk with one id twice"
    );
    ensure_eq!(
        bulk[1].data(),
        &json!("a"),
        "data of the repeated bulk entry"
    );
    ensure_eq!(
        queue.counts().await?.total(),
        2,
        "jobs in the queue after the bulk"
    );

    let recorder = Recorder::new();
    let worker = Worker::start(&queue, h.worker_options(), recorder.processor());
    wait_for_state(&queue, first.id(), JobState::Completed).await?;
    wait_for_state(&queue, bulk[0].id(), JobState::Completed).await?;
    let again = queue
        .add(
            "order",
            json!({"v": 3}),
            JobOptions::new().job_id("order-1"),
        )
        .await?;
    ensure_eq!(
        again.state(),
        JobState::Completed,
        "state returned when re-adding a completed id"
    );
    ensure_eq!(
        again.data(),
        &json!({"v": 1}),
        "data returned when re-adding a completed id"
    );
    worker.close().await?;
    ensure_eq!(recorder.len(), 2, "attempts run (one per distinct id)");
    ensure_eq!(queue.counts().await?.completed, 2, "completed jobs");
    Ok(())
}
