//! The throughput scenarios, through `Queue`
//! and `Worker` as an application uses them: `add` (N jobs one by one, each awaited),
//! `add_bulk` (N jobs in batches) and `process_cC` (N jobs added beforehand, processed by
//! one worker at concurrency C with a no-op processor, timed from the worker's start to its
//! N-th completion). With `--groups G` every job gets one of G group keys, round robin
//! ([`job_options`]); with `--metrics P` the worker records BullMQ's per-minute metrics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use oxq::{Job, JobOptions, Queue, Worker, WorkerEvent, WorkerOptions};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::stats::{Measure, Meter};
use super::target::{BenchQueue, Target};
use crate::error::{CliError, CliResult};

/// The options of job `n`: group `g{n mod groups}` with `--groups`, else the defaults.
pub fn job_options(groups: Option<u32>, n: usize) -> JobOptions {
    match groups {
        Some(groups) => JobOptions::new().group(format!("g{}", n % groups.max(1) as usize)),
        None => JobOptions::new(),
    }
}

/// `add`: `jobs` jobs added one by one.
pub async fn add_one_by_one(
    target: &Target,
    run: usize,
    jobs: usize,
    groups: Option<u32>,
) -> CliResult<Measure> {
    let bench = target.fresh_queue("add", run).await?;
    let meter = Meter::start(target.server_cpu().await?);
    for n in 0..jobs {
        bench
            .queue
            .add("job", json!({ "n": n }), job_options(groups, n))
            .await?;
    }
    let measure = meter.stop(target.server_cpu().await?);
    target.clean_up(&bench).await?;
    Ok(measure)
}

/// `add_bulk`: `jobs` jobs added in batches of `batch`.
pub async fn add_in_bulk(
    target: &Target,
    run: usize,
    jobs: usize,
    batch: usize,
    groups: Option<u32>,
) -> CliResult<Measure> {
    let bench = target.fresh_queue("add_bulk", run).await?;
    let meter = Meter::start(target.server_cpu().await?);
    fill(&bench.queue, jobs, batch, groups).await?;
    let measure = meter.stop(target.server_cpu().await?);
    target.clean_up(&bench).await?;
    Ok(measure)
}

/// `process_cC`: `jobs` jobs added beforehand (outside the timing), then processed.
pub async fn process(
    target: &Target,
    run: usize,
    jobs: usize,
    batch: usize,
    concurrency: usize,
    groups: Option<u32>,
    metrics: Option<u32>,
) -> CliResult<Measure> {
    let bench = target
        .fresh_queue(&format!("process_c{concurrency}"), run)
        .await?;
    fill(&bench.queue, jobs, batch, groups).await?;
    let meter = Meter::start(target.server_cpu().await?);
    let worker = process_all(&bench, jobs, concurrency, metrics).await?;
    let measure = meter.stop(target.server_cpu().await?);
    worker.close().await?;
    target.clean_up(&bench).await?;
    Ok(measure)
}

/// Adds `jobs` no-op jobs in batches of `batch` (in `groups` groups, see [`job_options`]).
pub async fn fill(
    queue: &Queue<Value>,
    jobs: usize,
    batch: usize,
    groups: Option<u32>,
) -> CliResult<()> {
    for start in (0..jobs).step_by(batch.max(1)) {
        let chunk = (start..(start + batch).min(jobs))
            .map(|n| ("job".to_owned(), json!({ "n": n }), job_options(groups, n)))
            .collect();
        queue.add_bulk(chunk).await?;
    }
    Ok(())
}

/// Starts a worker on the queue's worker side and answers it once it completed `jobs` jobs;
/// the first failed attempt ends the scenario with its reason (a no-op job must not fail).
/// With `metrics` the worker records the per-minute metrics, keeping that many points.
async fn process_all(
    bench: &BenchQueue,
    jobs: usize,
    concurrency: usize,
    metrics: Option<u32>,
) -> CliResult<Worker> {
    let done = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(Notify::new());
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let options = {
        let (done, finished, failure) = (done.clone(), finished.clone(), failure.clone());
        WorkerOptions::new()
            .concurrency(concurrency)
            .on_event(move |event| match event {
                WorkerEvent::Completed { .. }
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == jobs =>
                {
                    finished.notify_one();
                }
                WorkerEvent::Failed { job_id, reason, .. } => {
                    if let Ok(mut failure) = failure.lock() {
                        failure.get_or_insert_with(|| format!("job {job_id} failed: {reason}"));
                    }
                    finished.notify_one();
                }
                _ => {}
            })
    };
    let options = match metrics {
        Some(points) => options.metrics(points),
        None => options,
    };
    let worker = Worker::try_start(&bench.worker_side, options, |_job: Job<Value>| async {
        Ok::<_, std::convert::Infallible>(())
    })?;
    finished.notified().await;
    let failed = failure.lock().ok().and_then(|mut failure| failure.take());
    if let Some(reason) = failed {
        worker.close().await?;
        return Err(CliError::Failed(format!(
            "a benchmark job failed: {reason}"
        )));
    }
    Ok(worker)
}

#[cfg(test)]
mod tests {
    use super::job_options;

    #[test]
    fn jobs_take_the_group_keys_round_robin() {
        let keys: Vec<Option<String>> = (0..4).map(|n| job_options(Some(3), n).group).collect();
        let expected = ["g0", "g1", "g2", "g0"].map(|k| Some(k.to_owned()));
        assert_eq!(keys, expected);
        assert_eq!(job_options(None, 7).group, None);
    }
}
