//! Timeouts through the public API: a processor past its job's `timeout` is dropped (its
//! destructors run before the failure is recorded) and the job fails with a reason saying so;
//! under load (many jobs at a high concurrency, all timing out) every job fails that way and
//! none completes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobId, JobOptions, JobState, Worker, WorkerEvent};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::cancel::drop_signal;
use crate::support::{WAIT, add_numbered, listen, record};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// A processor that never returns is dropped at its job's timeout, before the failure is
/// recorded, and the job fails for good (no attempts left) saying it timed out.
pub async fn a_timed_out_processor_is_dropped_before_its_failure_is_recorded(
    h: &Harness,
) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue
        .add(
            "hangs",
            json!(0),
            JobOptions::new().timeout(Duration::from_millis(200)),
        )
        .await?;
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<JobId>();
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, move |job: Job<Value>| {
        let guard = drop_signal(dropped_tx.clone(), job.id().clone());
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok::<_, BoxError>(Value::Null)
        }
    });
    let done = events.finished(1, WAIT).await?;
    // the drop happened before the outcome went to the store, so it is already here
    ensure_eq!(
        dropped.try_recv().ok(),
        Some(job.id().clone()),
        "the processor's drop, seen when the failure was reported"
    );
    worker.close().await?;
    let reason = match &done[0] {
        WorkerEvent::Failed { reason, .. } => reason.clone(),
        other => {
            return Err(crate::TestError::msg(format!(
                "expected a failure, got {other:?}"
            )));
        }
    };
    ensure!(
        reason.contains("timed out after 200 ms"),
        "reason {reason:?}"
    );
    let failed = record(&queue, job.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "state");
    ensure_eq!(failed.failed_reason, Some(reason), "stored reason");
    Ok(())
}

/// 300 jobs at concurrency 50, each hanging past its 100 ms timeout: every one fails with the
/// timeout reason, every processor is dropped, none completes.
pub async fn under_load_every_timed_out_job_fails_and_none_completes(h: &Harness) -> CaseResult {
    const JOBS: usize = 300;
    let queue = h.queue::<Value>();
    add_numbered(
        &queue,
        JOBS as u64,
        JobOptions::new().timeout(Duration::from_millis(100)),
    )
    .await?;
    let drops = Arc::new(AtomicUsize::new(0));
    let (dropped_tx, mut dropped) = mpsc::unbounded_channel::<JobId>();
    let (options, mut events) = listen(h.worker_options().concurrency(50));
    let worker = Worker::start(&queue, options, {
        let drops = drops.clone();
        move |job: Job<Value>| {
            let guard = drop_signal(dropped_tx.clone(), job.id().clone());
            let drops = drops.clone();
            async move {
                let _guard = guard;
                std::future::pending::<()>().await;
                drops.fetch_add(1, Ordering::SeqCst);
                Ok::<_, BoxError>(Value::Null)
            }
        }
    });
    let done = events.finished(JOBS, WAIT * 6).await?;
    worker.close().await?;
    let mut dropped_ids = std::collections::HashSet::new();
    while let Ok(id) = dropped.try_recv() {
        dropped_ids.insert(id);
    }
    ensure_eq!(dropped_ids.len(), JOBS, "processors dropped");
    ensure_eq!(drops.load(Ordering::SeqCst), 0, "processors that went on");
    let not_timed_out: Vec<_> = done
        .iter()
        .filter(|e| {
            !matches!(e, WorkerEvent::Failed { reason, retrying: false, .. }
            if reason.contains("timed out after 100 ms"))
        })
        .collect();
    ensure!(
        not_timed_out.is_empty(),
        "outcomes other than a timeout: {not_timed_out:?}"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (
            counts.failed,
            counts.completed,
            counts.active,
            counts.waiting
        ),
        (JOBS as u64, 0, 0, 0),
        "counts (failed, completed, active, waiting)"
    );
    Ok(())
}
