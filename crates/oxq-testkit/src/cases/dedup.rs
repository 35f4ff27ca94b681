//! Deduplication through the public API: `Queue::add` with
//! [`Deduplication`] answers the job that stands, a worker's completion releases the id, a
//! throttle window and a debounce follow the case's manual clock, and the id can be read and
//! released through `Queue`. Bad combinations are refused before anything is written.

use std::time::Duration;

use oxq_core::{Deduplication, Error, JobOptions, JobState, Worker};
use serde_json::{Value, json};

use crate::support::{CANARY, Recorder, WAIT, advance_and_settle, wait_for_state};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// A second add with the id of a job that has not finished returns that job (its id and its
/// data); once a worker completed it, the same add makes a new job.
pub async fn an_add_returns_the_standing_job_until_a_worker_completes_it(
    h: &Harness,
) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let simple = || JobOptions::new().deduplication(Deduplication::new("report-7"));
    let first = queue.add("report", json!({"v": 1}), simple()).await?;
    let again = queue.add("report", json!({"v": 2}), simple()).await?;
    ensure_eq!(again.id(), first.id(), "the job the second add returned");
    ensure_eq!(again.data(), &json!({"v": 1}), "its data");
    ensure_eq!(
        queue.get_deduplication_job_id("report-7").await?,
        Some(first.id().clone()),
        "the owner"
    );
    ensure_eq!(queue.counts().await?.waiting, 1, "waiting jobs");
    let recorder = Recorder::new();
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        recorder.processor_skipping(CANARY),
    );
    wait_for_state(&queue, first.id(), JobState::Completed).await?;
    ensure_eq!(
        queue.get_deduplication_job_id("report-7").await?,
        None,
        "the owner once completed"
    );
    let next = queue.add("report", json!({"v": 3}), simple()).await?;
    ensure!(
        next.id() != first.id(),
        "the add after completion returned the old job"
    );
    wait_for_state(&queue, next.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(recorder.len(), 2, "jobs run");
    Ok(())
}

/// Throttle on the case's clock: inside the window the add returns the (completed) job that
/// took the id; once the clock passes the window, the add makes a new job.
pub async fn a_throttle_window_follows_the_clock(h: &Harness) -> CaseResult {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let throttle = || {
        JobOptions::new().deduplication(Deduplication::throttle("sync", Duration::from_secs(60)))
    };
    let recorder = Recorder::new();
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        recorder.processor_skipping(CANARY),
    );
    let first = queue.add("sync", json!(1), throttle()).await?;
    wait_for_state(&queue, first.id(), JobState::Completed).await?;
    advance_and_settle(clock, &queue, Duration::from_secs(59)).await?;
    let inside = queue.add("sync", json!(2), throttle()).await?;
    ensure_eq!(
        inside.id(),
        first.id(),
        "the job an add 59 s later returned"
    );
    ensure_eq!(inside.state(), JobState::Completed, "its state");
    clock.advance(Duration::from_secs(2));
    let after = queue.add("sync", json!(3), throttle()).await?;
    ensure!(
        after.id() != first.id(),
        "an add after the window was throttled"
    );
    wait_for_state(&queue, after.id(), JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(recorder.len(), 2, "jobs run");
    Ok(())
}

/// Debounce on the case's clock: a burst of adds 3 s apart, each delayed 5 s, runs once, 5 s
/// after the last add, with the last add's data.
pub async fn a_debounced_burst_runs_once_with_the_last_data(h: &Harness) -> CaseResult {
    let clock = h.clock();
    let queue = h.queue_with_clock::<Value>();
    let window = Duration::from_secs(5);
    let debounce = || {
        JobOptions::new()
            .delay(window)
            .deduplication(Deduplication::debounce("search", window))
    };
    let recorder = Recorder::new();
    let worker = Worker::start(
        &queue,
        h.worker_options(),
        recorder.processor_skipping(CANARY),
    );
    let mut last = queue.add("search", json!("a"), debounce()).await?;
    for text in ["ab", "abc"] {
        advance_and_settle(clock, &queue, Duration::from_secs(3)).await?;
        ensure!(recorder.is_empty(), "a search ran during the burst");
        let next = queue.add("search", json!(text), debounce()).await?;
        ensure!(
            next.id() != last.id(),
            "the add did not replace the pending job"
        );
        ensure!(
            queue.get_record(last.id()).await?.is_none(),
            "the replaced job {} is still stored",
            last.id()
        );
        last = next;
    }
    advance_and_settle(clock, &queue, Duration::from_millis(4_999)).await?;
    ensure!(recorder.is_empty(), "the search ran before its delay ended");
    clock.advance(Duration::from_millis(1));
    let attempts = recorder.wait_len(1, WAIT).await?;
    ensure_eq!(attempts[0].job_id, *last.id(), "the job that ran");
    let done = wait_for_state(&queue, last.id(), JobState::Completed).await?;
    ensure_eq!(done.data, "\"abc\"", "the data it ran with");
    worker.close().await?;
    ensure_eq!(recorder.len(), 1, "runs");
    Ok(())
}

/// `remove_deduplication_key` releases an id whoever owns it: the next add makes a new job.
pub async fn a_removed_key_lets_the_next_add_through(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let simple = || JobOptions::new().deduplication(Deduplication::new("k"));
    let first = queue.add("a", json!(1), simple()).await?;
    ensure!(
        queue.remove_deduplication_key("k").await?,
        "the id was not owned"
    );
    ensure!(
        !queue.remove_deduplication_key("k").await?,
        "a second release found it owned"
    );
    let second = queue.add("a", json!(2), simple()).await?;
    ensure!(
        second.id() != first.id(),
        "the add after the release was deduplicated"
    );
    ensure!(
        !queue.remove_deduplication_key_of("k", first.id()).await?,
        "a release naming the old owner released the new one"
    );
    ensure_eq!(queue.counts().await?.waiting, 2, "waiting jobs");
    Ok(())
}

/// Bad combinations are refused with a reason naming the option, and nothing is written.
pub async fn bad_deduplication_options_are_refused(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let bad = [
        (
            JobOptions::new().deduplication(Deduplication::new("")),
            "id",
        ),
        (
            JobOptions::new().deduplication(Deduplication::new("k").extend(true)),
            "extend needs a ttl",
        ),
        (
            JobOptions::new().deduplication(Deduplication::debounce("k", Duration::from_secs(1))),
            "delay",
        ),
        (
            JobOptions::new().deduplication(
                Deduplication::throttle("k", Duration::from_secs(1)).keep_last_if_active(true),
            ),
            "keep_last_if_active",
        ),
    ];
    for (options, reason) in bad {
        match queue.add("bad", json!(null), options).await {
            Err(Error::InvalidOptions(message)) if message.contains(reason) => {}
            other => bail!("expected a refusal naming {reason:?}, got {other:?}"),
        }
    }
    ensure_eq!(queue.counts().await?.waiting, 0, "jobs written");
    Ok(())
}
