//! Retention at the end of an attempt (`KeepJobs` on completion and on final failure): none,
//! the newest N, or those finished within an age, judged by the finish's `now`.

use std::time::Duration;

use oxq_core::backend::{AddLog, ReadLogs, Retry};
use oxq_core::{Error, JobOptions, JobState, KeepJobs};

use super::kit::{Kit, completed, completed_keeping, failed, ids};
use crate::{CaseResult, Harness, bail, ensure, ensure_eq};

/// `KeepJobs::None` removes the job and its logs as its attempt ends, on completion and on
/// final failure; the `completed`/`failed` event is still emitted.
pub async fn keep_none_removes_the_job_and_its_logs(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let done = k.add("done", JobOptions::new()).await?;
    let lost = k.add("lost", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0).await?;
    for id in [&done, &lost] {
        k.store
            .job_log_add(AddLog {
                queue: k.queue.clone(),
                job_id: id.clone(),
                line: "hello".into(),
                keep_logs: None,
                now: k.t0,
            })
            .await?;
    }
    k.finish(
        &fetched.jobs[0],
        "t",
        completed_keeping(KeepJobs::None),
        k.t0 + 1,
    )
    .await?;
    let never = failed(Retry::Never {
        keep: KeepJobs::None,
    });
    k.finish(&fetched.jobs[1], "t", never, k.t0 + 2).await?;
    for id in [&done, &lost] {
        ensure!(k.try_get(id).await?.is_none(), "job {id} is still there");
        let logs = k
            .store
            .job_logs(ReadLogs {
                queue: k.queue.clone(),
                job_id: id.clone(),
                offset: 0,
                limit: 10,
            })
            .await;
        match logs {
            Ok(logs) => ensure!(
                logs.total == 0 && logs.lines.is_empty(),
                "job {id}'s logs are still there: {logs:?}"
            ),
            Err(Error::JobNotFound(_)) => {}
            Err(e) => bail!("reading job {id}'s logs: {e}"),
        }
    }
    let names = k.event_names().await?;
    ensure!(
        names.contains(&"completed") && names.contains(&"failed"),
        "events: {names:?}"
    );
    ensure_eq!(k.counts().await?.total(), 0, "jobs left");
    Ok(())
}

/// `KeepJobs::Count(2)` on a completion keeps the two newest completed jobs (by finish time)
/// and removes the older ones.
pub async fn keep_count_keeps_the_newest_finished_jobs(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..5 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 5, k.t0).await?;
    for (i, job) in fetched.jobs.iter().take(4).enumerate() {
        k.finish(job, "t", completed(), k.t0 + 100 * (i as u64 + 1))
            .await?;
    }
    ensure_eq!(
        k.counts().await?.completed,
        4,
        "completed jobs kept by `All`"
    );
    k.finish(
        &fetched.jobs[4],
        "t",
        completed_keeping(KeepJobs::Count(2)),
        k.t0 + 500,
    )
    .await?;
    ensure_eq!(
        k.list(&[JobState::Completed], 0, 100, true).await?,
        ids(&["4", "5"]),
        "completed jobs kept"
    );
    for id in ["1", "2", "3"] {
        ensure!(
            k.try_get(&id.into()).await?.is_none(),
            "job {id} was kept beyond the count"
        );
    }
    Ok(())
}

/// `KeepJobs::Age` removes the completed jobs that finished longer ago than `max_age` before
/// the finish's `now`.
pub async fn keep_age_removes_jobs_finished_longer_ago(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..3 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 3, k.t0).await?;
    // Finished at +100 and +500; the third finishes at +1000 keeping 550 ms: +450 is the cut.
    k.finish(&fetched.jobs[0], "t", completed(), k.t0 + 100)
        .await?;
    k.finish(&fetched.jobs[1], "t", completed(), k.t0 + 500)
        .await?;
    let keep = KeepJobs::Age {
        max_age: Duration::from_millis(550),
        count: None,
    };
    k.finish(&fetched.jobs[2], "t", completed_keeping(keep), k.t0 + 1_000)
        .await?;
    ensure_eq!(
        k.list(&[JobState::Completed], 0, 100, true).await?,
        ids(&["2", "3"]),
        "completed jobs kept"
    );
    ensure!(
        k.try_get(&"1".into()).await?.is_none(),
        "job 1 was kept beyond its age"
    );
    Ok(())
}

/// A final failure's `keep` trims the failed jobs the same way: `Count(1)` keeps the newest.
pub async fn failed_jobs_are_kept_per_their_keep(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..3 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 3, k.t0).await?;
    for (i, job) in fetched.jobs.iter().enumerate() {
        let end = failed(Retry::Never {
            keep: KeepJobs::Count(1),
        });
        k.finish(job, "t", end, k.t0 + 10 * (i as u64 + 1)).await?;
    }
    ensure_eq!(
        k.list(&[JobState::Failed], 0, 100, true).await?,
        ids(&["3"]),
        "failed jobs kept"
    );
    ensure_eq!(k.counts().await?.total(), 1, "jobs left");
    Ok(())
}
