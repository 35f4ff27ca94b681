//! A worker's own life: graceful close, a close past its deadline, a close while the store
//! fails, and surviving processors that panic or run too long.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oxq_core::worker::{BoxError, RELEASE_BUDGET};
use oxq_core::{Job, JobOptions, JobState, Worker, WorkerEvent};
use serde_json::{Value, json};

use crate::support::{Fault, Faulty, Gate, Recorder, WAIT, add_numbered, listen, record};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// `close()` waits for the running jobs, records them as completed, and starts nothing else:
/// with concurrency 3 and 5 jobs, 3 end completed, 2 stay waiting, none is left active.
pub async fn graceful_close_finishes_in_flight_jobs(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ids = add_numbered(&queue, 5, JobOptions::new()).await?;
    let (recorder, gate) = (Recorder::new(), Gate::new());
    let worker = Worker::start(&queue, h.worker_options().concurrency(3), {
        let (recorder, gate) = (recorder.clone(), gate.clone());
        move |job: Job<Value>| {
            recorder.record(&job);
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Ok::<_, BoxError>(json!("finished"))
            }
        }
    });
    recorder.wait_len(3, WAIT).await?;
    let worker = Arc::new(worker);
    let closing = tokio::spawn({
        let worker = worker.clone();
        async move { worker.close().await }
    });
    // A close that does not wait would return now; give it the chance to (wrongly) do so.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        !closing.is_finished(),
        "close() returned while 3 jobs were still running"
    );
    gate.open();
    tokio::time::timeout(WAIT, closing)
        .await
        .map_err(|_| TestError::msg("close() did not return after the jobs finished"))???;

    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.active, counts.completed, counts.waiting),
        (0, 3, 2),
        "(active, completed, waiting) after close"
    );
    let started = recorder.ids();
    ensure_eq!(started.len(), 3, "jobs started");
    for id in &ids {
        let job = record(&queue, id).await?;
        let expected = if started.contains(id) {
            JobState::Completed
        } else {
            JobState::Waiting
        };
        ensure_eq!(job.state, expected, "state of job {id} after close");
        if expected == JobState::Completed {
            ensure_eq!(
                job.return_value.as_deref(),
                Some(r#""finished""#),
                "return value of {id}"
            );
        }
    }
    Ok(())
}

/// A processor that panics (while building its future, or inside it) fails that job with a
/// reason naming the panic; the worker goes on with the next jobs.
pub async fn panic_fails_the_job_and_worker_goes_on(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let sync_panic = queue
        .add("explode-now", json!(0), JobOptions::new())
        .await?;
    let ids = add_numbered(&queue, 1, JobOptions::new()).await?;
    let async_panic = queue
        .add("explode-later", json!(0), JobOptions::new())
        .await?;
    let more = add_numbered(&queue, 1, JobOptions::new()).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, |job: Job<Value>| {
        if job.name() == "explode-now" {
            panic!("kaboom before the future");
        }
        async move {
            if job.name() == "explode-later" {
                panic!("kaboom inside the future");
            }
            Ok::<_, BoxError>(Value::Null)
        }
    });
    events.finished(4, WAIT).await?;
    worker.close().await?;
    for (id, message) in [
        (sync_panic.id(), "kaboom before the future"),
        (async_panic.id(), "kaboom inside the future"),
    ] {
        let failed = record(&queue, id).await?;
        ensure_eq!(
            failed.state,
            JobState::Failed,
            "state of the job that panicked ({message})"
        );
        let reason = failed.failed_reason.unwrap_or_default();
        ensure!(
            reason.contains("panic") && reason.contains(message),
            "failed_reason {reason:?} should mention the panic and {message:?}"
        );
    }
    for id in ids.iter().chain(&more) {
        ensure_eq!(
            record(&queue, id).await?.state,
            JobState::Completed,
            "state of job {id}"
        );
    }
    Ok(())
}

/// A job running past its 300 ms `timeout` fails with a reason saying it timed out, about
/// 300 ms after it started; the worker goes on with the next job.
pub async fn timeout_fails_the_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let slow = queue
        .add(
            "slow",
            json!(0),
            JobOptions::new().timeout(Duration::from_millis(300)),
        )
        .await?;
    let quick = queue.add("quick", json!(0), JobOptions::new()).await?;
    let (options, mut events) = listen(h.worker_options());
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        if job.name() == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok::<_, BoxError>(Value::Null)
    });
    events.finished(2, WAIT).await?;
    worker.close().await?;
    let failed = record(&queue, slow.id()).await?;
    ensure_eq!(failed.state, JobState::Failed, "state of the slow job");
    let reason = failed.failed_reason.clone().unwrap_or_default();
    ensure!(
        reason.contains("timed out"),
        "failed_reason {reason:?} should say it timed out"
    );
    let ran = failed
        .finished_on
        .unwrap_or(0)
        .saturating_sub(failed.processed_on.unwrap_or(0));
    ensure!(
        (300..5_000).contains(&ran),
        "the slow job ran {ran} ms before failing (timeout 300 ms)"
    );
    ensure_eq!(
        record(&queue, quick.id()).await?.state,
        JobState::Completed,
        "state of the next job"
    );
    Ok(())
}

/// Sets its flag when dropped: shows that an abandoned processor's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A processor that never returns, and `close()` with a 1 s `close_timeout`: close returns
/// after about 1 s reporting one job abandoned and released, the processor's future is
/// dropped, and a second worker completes the job at once (its first worker's lock had 60 s
/// left), without a stall or a used attempt.
pub async fn close_past_its_deadline_abandons_a_hung_job_to_another_worker(
    h: &Harness,
) -> CaseResult {
    let queue = h.queue::<Value>();
    let job = queue.add("hangs", json!(0), JobOptions::new()).await?;
    let long_lock = h.worker_options().lock_duration(Duration::from_secs(60));
    let (started, dropped) = (Recorder::new(), Arc::new(AtomicBool::new(false)));
    let hung = Worker::start(
        &queue,
        long_lock.clone().close_timeout(Duration::from_secs(1)),
        {
            let (started, dropped) = (started.clone(), dropped.clone());
            move |job: Job<Value>| {
                started.record(&job);
                let flag = DropFlag(dropped.clone());
                async move {
                    let _flag = flag;
                    std::future::pending::<()>().await;
                    Ok::<_, BoxError>(Value::Null)
                }
            }
        },
    );
    started.wait_len(1, WAIT).await?;

    let closing = Instant::now();
    let closed = tokio::time::timeout(WAIT, hung.close())
        .await
        .map_err(|_| TestError::msg("close() with a 1 s deadline did not return"))??;
    let took = closing.elapsed();
    ensure_eq!(
        (closed.abandoned, closed.released),
        (1, 1),
        "(abandoned, released) reported by close"
    );
    ensure!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(1) + RELEASE_BUDGET,
        "close took {took:?}; expected the 1 s deadline plus at most the release budget"
    );
    ensure!(
        dropped.load(Ordering::SeqCst),
        "the abandoned processor's future was not dropped"
    );

    let (options, mut events) = listen(long_lock);
    let rescuer = Worker::start(&queue, options, |_job: Job<Value>| async move {
        Ok::<_, BoxError>(json!("rescued"))
    });
    let released = Instant::now();
    events.finished(1, WAIT).await?;
    let rerun_after = released.elapsed();
    rescuer.close().await?;
    ensure!(
        rerun_after < Duration::from_secs(10),
        "the released job ran again only after {rerun_after:?}"
    );
    let record = record(&queue, job.id()).await?;
    ensure_eq!(
        record.state,
        JobState::Completed,
        "state of the released job"
    );
    ensure_eq!(
        (record.attempts_made, record.stalled_count),
        (1, 0),
        "(attempts_made, stalled_count) of the released job"
    );
    Ok(())
}

/// With every store call failing, the worker backs off between tries (0.1 s doubling to 5 s);
/// a `close()` during a long backoff returns at once and no fetch is asked for once it began.
pub async fn close_during_store_backoff_returns_at_once_and_fetches_nothing(
    h: &Harness,
) -> CaseResult {
    let store = Faulty::wrap(h.backend());
    let queue: oxq_core::Queue<Value> =
        oxq_core::Queue::from_ref(store.clone(), h.queue_ref().clone());
    let (options, mut events) = listen(h.worker_options());
    store.set_fault(Some(Fault::Unavailable));
    let worker = Worker::start(&queue, options, |_job: Job<Value>| async move {
        Ok::<_, BoxError>(Value::Null)
    });
    // after 5 failed calls the backoff is 1.6 s, doubling from there
    for n in 1..=5 {
        events
            .wait_for(&format!("store error {n}"), WAIT, |e| {
                // the stalled check fails too; count the fetch loop's own calls
                matches!(e, WorkerEvent::Error { message } if !message.contains("stalled_recover"))
            })
            .await?;
    }
    let fetches = store.fetches();
    let closing = Instant::now();
    let closed = tokio::time::timeout(WAIT, worker.close())
        .await
        .map_err(|_| TestError::msg("close() during a store backoff did not return"))??;
    let took = closing.elapsed();
    ensure!(
        took < Duration::from_millis(500),
        "close() took {took:?} while the worker was backing off"
    );
    ensure_eq!(closed.abandoned, 0, "jobs abandoned");
    ensure_eq!(
        store.fetches(),
        fetches,
        "fetches asked for after close() began"
    );
    Ok(())
}
