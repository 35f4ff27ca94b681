//! Dead letter queues through the public API: a worker's failures for good (attempts
//! exhausted, an unrecoverable error, a job that stalled too often) land in the queue named by
//! [`Queue::set_dead_letter_queue`](oxq_core::Queue::set_dead_letter_queue), whose handle lists
//! them and replays them back to run again on the source queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxq_core::backend::{DeadLetter, RecoverStalled};
use oxq_core::clock::now_ms;
use oxq_core::worker::BoxError;
use oxq_core::{Job, JobOptions, JobState, Queue, Unrecoverable, Worker};
use serde_json::{Value, json};

use crate::store::kit::{Kit, fetched_ids, outlive_lock};
use crate::support::{WAIT, record, wait_for_state, wait_until};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// The case's queue and its dead letter queue `<queue>-dead`, set.
async fn queues(h: &Harness) -> CaseResult<(Queue<Value>, Queue<Value>)> {
    let queue = h.queue::<Value>();
    let dlq = h.other_queue::<Value>("dead")?;
    queue.set_dead_letter_queue(Some(dlq.name())).await?;
    ensure_eq!(
        queue.dead_letter_queue().await?.as_deref(),
        Some(dlq.name()),
        "the setting read back"
    );
    Ok((queue, dlq))
}

/// Waits until the dead letter queue holds `n` dead jobs and answers them.
async fn wait_for_dead(dlq: &Queue<Value>, n: u64) -> CaseResult<Vec<DeadLetter>> {
    wait_until("the dead letter queue to fill", WAIT, || async {
        Ok(dlq.dead_letter_count().await? >= n)
    })
    .await?;
    Ok(dlq.dead_letters(0, 100).await?)
}

/// A job failing both its attempts is copied with both errors; once the cause is fixed, a
/// replay runs it again on the source queue, where it completes.
pub async fn exhausted_attempts_are_dead_lettered_and_a_replay_runs_again(
    h: &Harness,
) -> CaseResult {
    let (queue, dlq) = queues(h).await?;
    let data = json!({"order": 7, "items": ["a", "é"]});
    let job = queue
        .add("charge", data.clone(), JobOptions::new().attempts(2))
        .await?;
    let fixed = Arc::new(AtomicBool::new(false));
    let worker = Worker::start(&queue, h.worker_options(), {
        let fixed = fixed.clone();
        move |job: Job<Value>| {
            let fixed = fixed.load(Ordering::SeqCst);
            let attempt = job.attempts_made() + 1;
            async move {
                if fixed {
                    Ok(json!("charged"))
                } else {
                    Err::<Value, BoxError>(format!("gateway down (attempt {attempt})").into())
                }
            }
        }
    });
    let entries = wait_for_dead(&dlq, 1).await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    ensure_eq!(&entry.source_id, job.id(), "source id");
    ensure_eq!(entry.source.name.as_str(), queue.name(), "source queue");
    ensure_eq!(
        entry.record.stacktrace.clone(),
        vec![
            "gateway down (attempt 1)".to_owned(),
            "gateway down (attempt 2)".to_owned()
        ],
        "every attempt's error"
    );
    let stored: Value = serde_json::from_str(&entry.record.data)?;
    ensure_eq!(stored, data, "data");
    ensure_eq!(
        record(&queue, job.id()).await?.state,
        JobState::Failed,
        "the source job"
    );

    fixed.store(true, Ordering::SeqCst);
    let replayed = dlq.replay_dead_letter(&entry.record.id).await?;
    let done = wait_for_state(&queue, &replayed, JobState::Completed).await?;
    worker.close().await?;
    ensure_eq!(done.attempts_made, 1, "attempts of the replayed job");
    ensure_eq!(
        done.return_value.as_deref(),
        Some("\"charged\""),
        "return value"
    );
    ensure_eq!(
        dlq.dead_letter_count().await?,
        1,
        "the dead entry stays until purged"
    );
    ensure_eq!(dlq.purge_all_dead_letters().await?, 1, "purged");
    ensure_eq!(
        dlq.dead_letter_count().await?,
        0,
        "dead jobs after the purge"
    );
    Ok(())
}

/// An unrecoverable error skips the remaining attempts and is dead-lettered at once.
pub async fn a_final_failure_is_dead_lettered(h: &Harness) -> CaseResult {
    let (queue, dlq) = queues(h).await?;
    let job = queue
        .add("card", json!({}), JobOptions::new().attempts(5))
        .await?;
    let worker = Worker::start(&queue, h.worker_options(), |_job: Job<Value>| async move {
        Err::<Value, BoxError>(Unrecoverable::new("card declined").into())
    });
    let entries = wait_for_dead(&dlq, 1).await?;
    worker.close().await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    ensure_eq!(&entry.source_id, job.id(), "source id");
    ensure_eq!(entry.record.attempts_made, 1, "attempts_made");
    ensure_eq!(
        entry.record.failed_reason.as_deref(),
        Some("card declined"),
        "failed_reason"
    );
    Ok(())
}

/// A job whose worker died more often than `max_stalled_count` allows is failed by the next
/// worker without running, with a reason that says so, and dead-lettered.
pub async fn a_job_stalled_too_often_is_dead_lettered(h: &Harness) -> CaseResult {
    let (queue, dlq) = queues(h).await?;
    let job = queue.add("doomed", json!(1), JobOptions::new()).await?;
    let k = Kit::new(h);
    let lock = Duration::from_millis(50);
    let taken_at = now_ms();
    let taken = k.fetch_locked("dead-worker", 1, lock, taken_at).await?;
    ensure_eq!(
        fetched_ids(&taken),
        vec![job.id().0.clone()],
        "taken by the dead worker"
    );
    outlive_lock(taken_at, lock).await;
    let recovered = h
        .backend()
        .stalled_recover(RecoverStalled {
            queue: h.queue_ref().clone(),
            max_stalled_count: 0,
            interval: Duration::from_millis(1),
            now: now_ms(),
        })
        .await?;
    ensure_eq!(recovered.job_ids, vec![job.id().clone()], "recovered");

    let ran = Arc::new(AtomicBool::new(false));
    let worker = Worker::start(&queue, h.worker_options(), {
        let ran = ran.clone();
        move |_job: Job<Value>| {
            ran.store(true, Ordering::SeqCst);
            async move { Ok::<Value, BoxError>(json!(null)) }
        }
    });
    let entries = wait_for_dead(&dlq, 1).await?;
    worker.close().await?;
    ensure!(
        !ran.load(Ordering::SeqCst),
        "the processor ran a job that stalled too often"
    );
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    let reason = entry.record.failed_reason.clone().unwrap_or_default();
    ensure!(
        reason.contains("stalled more than allowable limit"),
        "reason {reason:?} should say the job stalled too often"
    );
    ensure_eq!(&entry.source_id, job.id(), "source id");
    ensure_eq!(entry.record.stalled_count, 1, "stalled_count");
    Ok(())
}
