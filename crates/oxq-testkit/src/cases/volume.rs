//! Volume: many jobs through one queue, each processed exactly once.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxq_core::worker::BoxError;
use oxq_core::{Job, JobOptions, Worker, WorkerEvent};
use tokio::sync::watch;

use crate::{CaseResult, Harness, TestError, bail, ensure_eq};

const JOBS: usize = 100_000;
const BATCH: usize = 1_000;
const CONCURRENCY: usize = 50;
/// Generous: a debug build on two loaded cores.
const LIMIT: Duration = Duration::from_secs(120);

/// 100,000 jobs added with `add_bulk` in batches of 1,000 while a worker of concurrency 50
/// runs them: every job is processed exactly once (none lost, none doubled), none fails, and
/// the queue ends with 100,000 completed jobs and nothing else.
pub async fn hundred_thousand_jobs_exactly_once(h: &Harness) -> CaseResult {
    let queue = h.queue::<u32>();
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..JOBS).map(|_| AtomicU8::new(0)).collect());
    let completed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, mut done_rx) = watch::channel(0usize);
    let options = h.worker_options().concurrency(CONCURRENCY).on_event({
        let (completed, failed, failures) = (completed.clone(), failed.clone(), failures.clone());
        move |event| match event {
            WorkerEvent::Completed { .. } => {
                let n = completed.fetch_add(1, Ordering::SeqCst) + 1;
                if n % 1_000 == 0 || n == JOBS {
                    done_tx.send_replace(n);
                }
            }
            WorkerEvent::Failed { .. } | WorkerEvent::LockLost { .. } => {
                if failed.fetch_add(1, Ordering::SeqCst) < 5 {
                    failures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(event.clone());
                }
                done_tx.send_replace(usize::MAX);
            }
            _ => {}
        }
    });
    let started = Instant::now();
    let worker = Worker::start(&queue, options, {
        let runs = runs.clone();
        move |job: Job<u32>| {
            let slot = usize::try_from(*job.data()).ok().and_then(|i| runs.get(i));
            let result = match slot {
                Some(counter) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
                None => Err(BoxError::from(format!(
                    "job {} has payload out of range",
                    job.id()
                ))),
            };
            futures::future::ready(result)
        }
    });

    for start in (0..JOBS).step_by(BATCH) {
        let batch = (start..start + BATCH)
            .map(|i| {
                let n = u32::try_from(i).unwrap_or(u32::MAX);
                ("bulk".to_owned(), n, JobOptions::new())
            })
            .collect();
        let added = queue.add_bulk(batch).await?;
        ensure_eq!(added.len(), BATCH, "jobs added by one add_bulk");
    }
    let added_in = started.elapsed();

    let finished = tokio::time::timeout(LIMIT, done_rx.wait_for(|n| *n >= JOBS)).await;
    let done = completed.load(Ordering::SeqCst);
    if failed.load(Ordering::SeqCst) > 0 {
        bail!(
            "{} attempts failed or lost their lock; the first: {:?}",
            failed.load(Ordering::SeqCst),
            failures.lock().unwrap_or_else(|p| p.into_inner())
        );
    }
    if !matches!(finished, Ok(Ok(_))) {
        let counts = queue.counts().await?;
        return Err(TestError::msg(format!(
            "only {done} of {JOBS} jobs completed within {LIMIT:?}; counts: {counts:?}"
        )));
    }
    let ran_in = started.elapsed();
    worker.close().await?;
    eprintln!(
        "[{}] volume: {JOBS} jobs added in {added_in:.1?}, all processed in {ran_in:.1?} ({:.0} jobs/s)",
        h.store(),
        JOBS as f64 / ran_in.as_secs_f64()
    );

    let mut lost = Vec::new();
    let mut doubled = Vec::new();
    for (i, counter) in runs.iter().enumerate() {
        match counter.load(Ordering::SeqCst) {
            1 => {}
            0 => lost.push(i),
            _ => doubled.push(i),
        }
    }
    if !lost.is_empty() || !doubled.is_empty() {
        bail!(
            "{} jobs never ran (first: {:?}), {} ran more than once (first: {:?})",
            lost.len(),
            &lost[..lost.len().min(10)],
            doubled.len(),
            &doubled[..doubled.len().min(10)]
        );
    }
    ensure_eq!(done, JOBS, "completed events");
    let counts = queue.counts().await?;
    ensure_eq!(counts.completed, JOBS as u64, "completed count");
    ensure_eq!(
        counts.total(),
        JOBS as u64,
        "jobs in any state ({counts:?})"
    );
    Ok(())
}
