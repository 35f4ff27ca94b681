//! Poison jobs through a worker: one stored job broken behind the API's back (the store's
//! [`Corruptor`](crate::Corruptor)) fails alone, without running and without a retry, with a
//! reason naming what is broken; every other job of the queue completes (issue 8's repro:
//! before, one SQLite row whose name was not UTF-8 failed every fetch and stopped the queue).

use oxq_core::{JobId, JobOptions, JobState, Worker};
use serde_json::Value;

use crate::support::{Recorder, WAIT, add_numbered, listen, record};
use crate::{CaseResult, Corruption, Harness, ensure, ensure_eq};

/// Runs every job of the case's queue on a worker of `concurrency`, waiting until `jobs`
/// finished; answers what the processor ran.
async fn run_all(
    h: &Harness,
    concurrency: usize,
    jobs: usize,
) -> CaseResult<std::sync::Arc<Recorder>> {
    let queue = h.queue::<Value>();
    let recorder = Recorder::new();
    let (options, mut events) = listen(h.worker_options().concurrency(concurrency));
    let worker = Worker::start(&queue, options, recorder.processor());
    events.finished(jobs, WAIT).await?;
    worker.close().await?;
    Ok(recorder)
}

/// Fails unless job `id` failed once for good (3 attempts allowed) with a reason naming
/// `column`, and the processor never ran it.
async fn failed_naming(h: &Harness, recorder: &Recorder, id: &JobId, column: &str) -> CaseResult {
    let job = record(&h.queue::<Value>(), id).await?;
    ensure_eq!(
        (job.state, job.attempts_made),
        (JobState::Failed, 1),
        "state and attempts of broken job {id}"
    );
    let reason = job.failed_reason.unwrap_or_default();
    ensure!(
        reason.contains(column),
        "failed_reason {reason:?} of broken job {id} should name {column:?}"
    );
    ensure!(
        recorder.attempts_of(id).is_empty(),
        "the processor ran broken job {id}"
    );
    Ok(())
}

/// The repro: 100 jobs, job 50's name made not UTF-8, a worker at concurrency 10: the
/// 99 others complete, each once, and job 50 fails with a reason naming the column.
pub async fn a_poison_job_fails_alone_and_the_queue_goes_on(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ids = add_numbered(&queue, 100, JobOptions::new().attempts(3)).await?;
    let bad = ids[49].clone();
    let column = h.corrupt(&bad, Corruption::NameNotUtf8).await?;
    let recorder = run_all(h, 10, 100).await?;
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.completed, counts.failed),
        (99, 1),
        "completed and failed jobs"
    );
    ensure_eq!(recorder.len(), 99, "attempts the processor ran");
    ensure!(
        recorder.runs_per_job().values().all(|runs| *runs == 1),
        "a good job ran more than once"
    );
    failed_naming(h, &recorder, &bad, column).await
}

/// One job broken per [`Corruption`] among good ones: each broken job fails naming its column
/// (data that is not JSON fails when the worker decodes it), every good job completes.
pub async fn each_kind_of_poison_fails_only_its_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let n = 2 * Corruption::ALL.len();
    let ids = add_numbered(&queue, n as u64, JobOptions::new().attempts(3)).await?;
    let mut broken = Vec::new();
    for (corruption, id) in Corruption::ALL
        .into_iter()
        .zip(ids.iter().skip(1).step_by(2))
    {
        broken.push((id.clone(), h.corrupt(id, corruption).await?));
    }
    let recorder = run_all(h, 3, n).await?;
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.completed, counts.failed),
        (Corruption::ALL.len() as u64, Corruption::ALL.len() as u64),
        "completed and failed jobs"
    );
    for (id, column) in &broken {
        failed_naming(h, &recorder, id, column).await?;
    }
    Ok(())
}
