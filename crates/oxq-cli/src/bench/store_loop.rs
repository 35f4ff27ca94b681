//! The store-loop scenarios, straight against the `Backend` trait
//! (below `Queue` and `Worker`, so the store's own cost shows):
//! * `store_add_bulk`: `job_add_bulk` in batches;
//! * `store_fetch_finish`: W tasks each fetching up to P jobs, then finishing them as
//!   completed with `fetch_next` taking the next ones in the same call, until the queue is
//!   empty.
//!
//! With `--groups G` every job gets one of G group keys ([`job_options`]); with `--metrics P`
//! each finish records BullMQ's per-minute metrics (`FinishJobs::metrics`).

use std::sync::Arc;
use std::time::Duration;

use oxq::backend::{AddJobs, AttemptEnd, Fetch, FetchJobs, Finish, FinishJobs, NewJob};
use oxq::clock::now_ms;
use oxq::{Backend, KeepJobs, LockToken, QueueRef};
use tokio::task::JoinSet;

use super::stats::{Measure, Meter};
use super::target::Target;
use super::throughput::job_options;
use crate::error::{CliError, CliResult};

/// The fetch loop's shape.
#[derive(Debug, Clone, Copy)]
pub struct Loop {
    /// Tasks fetching and finishing at once.
    pub workers: usize,
    /// Jobs per fetch.
    pub per_call: u32,
}

/// `store_add_bulk` then `store_fetch_finish` on one fresh queue: the two measures.
pub async fn add_then_process(
    target: &Target,
    run: usize,
    jobs: usize,
    batch: usize,
    shape: Loop,
    groups: Option<u32>,
    metrics: Option<u32>,
) -> CliResult<(Measure, Measure)> {
    let bench = target.fresh_queue("store", run).await?;
    let store = bench.queue.backend().clone();
    let queue = bench.queue.queue_ref().clone();

    let meter = Meter::start(target.server_cpu().await?);
    for start in (0..jobs).step_by(batch.max(1)) {
        let new_jobs = (start..(start + batch).min(jobs))
            .map(|n| NewJob {
                name: "job".to_owned(),
                data: format!("{{\"n\":{n}}}"),
                options: job_options(groups, n),
            })
            .collect();
        store
            .job_add_bulk(AddJobs {
                queue: queue.clone(),
                jobs: new_jobs,
                now: now_ms(),
            })
            .await?;
    }
    let added = meter.stop(target.server_cpu().await?);

    let meter = Meter::start(target.server_cpu().await?);
    let mut tasks = JoinSet::new();
    for worker in 0..shape.workers {
        let (store, queue) = (bench.worker_side.backend().clone(), queue.clone());
        tasks.spawn(fetch_finish_loop(
            store,
            queue,
            worker,
            shape.per_call,
            metrics,
        ));
    }
    let mut processed = 0;
    while let Some(done) = tasks.join_next().await {
        processed += done.map_err(|e| CliError::Failed(format!("a fetch task failed: {e}")))??;
    }
    let process = meter.stop(target.server_cpu().await?);
    target.clean_up(&bench).await?;
    if processed != jobs {
        return Err(CliError::Failed(format!(
            "store_fetch_finish processed {processed} of {jobs} jobs"
        )));
    }
    Ok((added, process))
}

/// Fetches and finishes until the queue has nothing left; answers how many jobs it finished.
async fn fetch_finish_loop(
    store: Arc<dyn Backend>,
    queue: QueueRef,
    worker: usize,
    per_call: u32,
    metrics: Option<u32>,
) -> CliResult<usize> {
    let mut round = 0u64;
    let mut next_token = || {
        round += 1;
        LockToken(format!("bench-w{worker}:{round}"))
    };
    let fetch = |token: LockToken| Fetch {
        token,
        lock_duration: Duration::from_secs(30),
        max_jobs: per_call,
        worker_name: Some(format!("bench-{worker}")),
        limiter: None,
    };
    let mut token = next_token();
    let mut held = store
        .job_move_to_active(FetchJobs {
            queue: queue.clone(),
            fetch: fetch(token.clone()),
            now: now_ms(),
        })
        .await?
        .jobs;
    let mut processed = 0;
    while !held.is_empty() {
        let items: Vec<Finish> = held
            .iter()
            .map(|job| Finish {
                job_id: job.record.id.clone(),
                token: token.clone(),
                end: AttemptEnd::Completed {
                    return_value: "null".to_owned(),
                    keep: KeepJobs::All,
                },
                memo: job.memo.clone(),
            })
            .collect();
        processed += items.len();
        let next = next_token();
        let result = store
            .job_finish(FinishJobs {
                queue: queue.clone(),
                now: now_ms(),
                items,
                fetch_next: Some(fetch(next.clone())),
                metrics,
            })
            .await?;
        if let Some(Err(e)) = result.items.into_iter().find(|r| r.is_err()) {
            return Err(e.into());
        }
        token = next;
        held = result.fetched.jobs;
    }
    Ok(processed)
}
