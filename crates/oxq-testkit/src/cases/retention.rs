//! What stays in the completed and failed sets: `remove_on_complete` / `remove_on_fail` by
//! count, none and age, per job or from the worker.

use std::time::Duration;

use oxq_core::{JobId, JobOptions, JobState, KeepJobs, Queue};
use serde_json::Value;

use crate::support::{add_numbered, run_to_end, run_to_end_one_by_one};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// Which of `ids` still exist.
async fn existing(queue: &Queue<Value>, ids: &[JobId]) -> CaseResult<Vec<JobId>> {
    let mut found = Vec::new();
    for id in ids {
        if queue.get_record(id).await?.is_some() {
            found.push(id.clone());
        }
    }
    Ok(found)
}

/// `Count(3)` on 10 completed jobs keeps the 3 that finished last.
pub async fn remove_on_complete_count_keeps_newest(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let opts = JobOptions::new().remove_on_complete(KeepJobs::Count(3));
    let ids = add_numbered(&queue, 10, opts).await?;
    run_to_end_one_by_one(&queue, h.worker_options(), 10).await?;
    ensure_eq!(
        existing(&queue, &ids).await?,
        ids[7..].to_vec(),
        "jobs kept"
    );
    ensure_eq!(queue.counts().await?.completed, 3, "completed count");
    Ok(())
}

/// `None` removes each job as it completes.
pub async fn remove_on_complete_none_removes_job(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let opts = JobOptions::new().remove_on_complete(KeepJobs::None);
    let ids = add_numbered(&queue, 5, opts).await?;
    run_to_end(&queue, h.worker_options(), 5).await?;
    ensure_eq!(
        existing(&queue, &ids).await?,
        Vec::<JobId>::new(),
        "jobs kept"
    );
    let counts = queue.counts().await?;
    ensure_eq!(counts.total(), 0, "jobs in any state ({counts:?})");
    Ok(())
}

/// `Age(500 ms)`, on the case's manual clock: jobs that finished more than 500 ms before
/// another job completes are removed then (not at 499 ms); younger ones stay.
pub async fn remove_on_complete_age_removes_old_jobs(h: &Harness) -> CaseResult {
    let queue = h.queue_with_clock::<Value>();
    let opts = JobOptions::new().remove_on_complete(KeepJobs::Age {
        max_age: Duration::from_millis(500),
        count: None,
    });
    let old = add_numbered(&queue, 3, opts.clone()).await?;
    run_to_end(&queue, h.worker_options(), 3).await?;
    ensure_eq!(existing(&queue, &old).await?, old, "young jobs kept");
    // 500 ms is the limit: 499 ms later they are kept, 501 ms later they are removed.
    h.clock().advance(Duration::from_millis(499));
    let young = add_numbered(&queue, 1, opts.clone()).await?;
    run_to_end(&queue, h.worker_options(), 1).await?;
    ensure_eq!(existing(&queue, &old).await?, old, "jobs 499 ms old kept");
    h.clock().advance(Duration::from_millis(2));
    let new = add_numbered(&queue, 1, opts).await?;
    run_to_end(&queue, h.worker_options(), 1).await?;
    ensure_eq!(
        existing(&queue, &old).await?,
        Vec::<JobId>::new(),
        "old jobs kept"
    );
    ensure_eq!(
        existing(&queue, &young).await?,
        young,
        "the 2 ms old job kept"
    );
    ensure_eq!(existing(&queue, &new).await?, new, "the new job kept");
    ensure_eq!(queue.counts().await?.completed, 2, "completed count");
    Ok(())
}

/// `remove_on_fail: Count(2)` on 5 failed jobs keeps the 2 that failed last; completed jobs
/// are not touched.
pub async fn remove_on_fail_count_keeps_newest(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let ok = queue
        .add(
            "ok",
            Value::Null,
            JobOptions::new().remove_on_fail(KeepJobs::Count(2)),
        )
        .await?;
    let mut failing = Vec::new();
    for _ in 0..5 {
        let opts = JobOptions::new().remove_on_fail(KeepJobs::Count(2));
        failing.push(queue.add("fail", Value::Null, opts).await?.id().clone());
    }
    run_to_end_one_by_one(&queue, h.worker_options(), 6).await?;
    ensure_eq!(
        existing(&queue, &failing).await?,
        failing[3..].to_vec(),
        "failed jobs kept"
    );
    ensure!(
        queue.get_record(ok.id()).await?.is_some(),
        "the completed job was removed"
    );
    let counts = queue.counts().await?;
    ensure_eq!(
        (counts.failed, counts.completed),
        (2, 1),
        "(failed, completed) counts"
    );
    Ok(())
}

/// The worker's `remove_on_complete` applies to jobs without their own; a job's own option wins.
pub async fn job_retention_overrides_worker_default(h: &Harness) -> CaseResult {
    let queue = h.queue::<Value>();
    let plain = add_numbered(&queue, 3, JobOptions::new()).await?;
    let keep = queue
        .add(
            "keep",
            Value::Null,
            JobOptions::new().remove_on_complete(KeepJobs::All),
        )
        .await?;
    let options = h.worker_options().remove_on_complete(KeepJobs::None);
    run_to_end(&queue, options, 4).await?;
    ensure_eq!(
        existing(&queue, &plain).await?,
        Vec::<JobId>::new(),
        "jobs without their own option kept"
    );
    let kept = queue.get_record(keep.id()).await?;
    ensure!(
        kept.is_some_and(|r| r.state == JobState::Completed),
        "the job with remove_on_complete All was not kept as completed"
    );
    Ok(())
}
