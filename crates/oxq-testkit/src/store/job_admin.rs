//! Operator calls on jobs: remove one, promote one or many delayed jobs, retry one or many
//! finished jobs.

use std::time::Duration;

use oxq_core::backend::{JobAt, PromoteJobs, RemoveJob, RetryJobs};
use oxq_core::{Error, Event, JobId, JobOptions, JobState};

use super::kit::{Kit, completed, expect_err, failed_for_good, fetched_ids, ids};
use crate::{CaseResult, Harness, ensure, ensure_eq};

fn at(k: &Kit, id: &JobId, now: u64) -> JobAt {
    JobAt {
        queue: k.queue.clone(),
        job_id: id.clone(),
        now,
    }
}

async fn remove(k: &Kit, id: &JobId) -> Result<bool, Error> {
    k.store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: id.clone(),
            now: k.t0 + 1,
        })
        .await
        .map(|r| r.existed)
}

/// Removing a job a worker holds is a `Conflict` and changes nothing; any other job is
/// removed (`existed: true`, a `removed` event naming the state it left); removing it again,
/// or an unknown id, answers `existed: false`.
pub async fn remove_refuses_a_held_job_and_deletes_others(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let held = k.add("held", JobOptions::new()).await?;
    let free = k.add("free", JobOptions::new()).await?;
    // The fetch's lock (30 s from the real time the case began) is alive for the whole case.
    k.fetch("t", 1, k.t0).await?;
    expect_err(remove(&k, &held).await, "Conflict", |e| {
        matches!(e, Error::Conflict(_))
    })?;
    ensure_eq!(k.get(&held).await?.state, JobState::Active, "the held job");
    ensure!(
        remove(&k, &free).await?,
        "removing a waiting job found nothing"
    );
    ensure!(
        k.try_get(&free).await?.is_none(),
        "the removed job is still there"
    );
    ensure!(!remove(&k, &free).await?, "a second removal found the job");
    ensure!(
        !remove(&k, &JobId::from("nope")).await?,
        "an unknown id was removed"
    );
    ensure_eq!(
        k.last_event(&free).await?,
        Event::Removed {
            job_id: free.clone(),
            prev: Some(JobState::Waiting)
        },
        "last event"
    );
    ensure_eq!(k.counts().await?.total(), 1, "jobs left");
    Ok(())
}

/// Promoting a delayed job makes it runnable now: waiting at the back of the line (or
/// prioritized when it has a priority), with no due time and a `waiting` event from delayed.
/// A job that is not delayed is `JobNotInState`, an unknown one `JobNotFound`.
pub async fn promote_makes_a_delayed_job_runnable_now(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let minute = Duration::from_secs(60);
    let d = k.add("d", JobOptions::new().delay(minute)).await?;
    let p = k
        .add("p", JobOptions::new().delay(minute).priority(2))
        .await?;
    let w = k.add("w", JobOptions::new()).await?;
    k.store.job_promote(at(&k, &d, k.t0 + 1)).await?;
    k.store.job_promote(at(&k, &p, k.t0 + 1)).await?;
    let promoted = k.get(&d).await?;
    ensure_eq!(
        (promoted.state, promoted.due_at),
        (JobState::Waiting, None),
        "d (state, due)"
    );
    ensure_eq!(k.get(&p).await?.state, JobState::Prioritized, "p's state");
    ensure_eq!(
        k.last_event(&d).await?,
        Event::Waiting {
            job_id: d.clone(),
            prev: Some(JobState::Delayed)
        },
        "d's last event"
    );
    for id in [&w, &d] {
        expect_err(
            k.store.job_promote(at(&k, id, k.t0 + 1)).await,
            "JobNotInState",
            |e| {
                matches!(
                    e,
                    Error::JobNotInState {
                        expected: "delayed",
                        ..
                    }
                )
            },
        )?;
    }
    let unknown = k
        .store
        .job_promote(at(&k, &JobId::from("x"), k.t0 + 1))
        .await;
    expect_err(unknown, "JobNotFound", |e| {
        matches!(e, Error::JobNotFound(_))
    })?;
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0 + 2).await?,
        ids(&["3", "1", "2"]),
        "fetch order"
    );
    Ok(())
}

/// `jobs_promote` makes up to `limit` delayed jobs runnable, soonest due first.
pub async fn jobs_promote_moves_up_to_the_limit_soonest_first(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let delay = |s| JobOptions::new().delay(Duration::from_secs(s));
    k.add("late", delay(30)).await?;
    k.add("soon", delay(10)).await?;
    k.add("mid", delay(20)).await?;
    let promote = PromoteJobs {
        queue: k.queue.clone(),
        limit: 2,
        now: k.t0,
    };
    ensure_eq!(
        k.store.jobs_promote(promote).await?.count,
        2,
        "jobs promoted"
    );
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0).await?,
        ids(&["2", "3"]),
        "runnable jobs"
    );
    let counts = k.counts().await?;
    ensure_eq!((counts.delayed, counts.active), (1, 2), "(delayed, active)");
    Ok(())
}

/// Retrying a failed job puts it back to waiting without its failure (no finish time, reason
/// or start time) but with its history (attempts made, errors), emitting `waiting` from
/// failed; a completed job comes back without its result; a job that is not finished is
/// `JobNotInState`.
pub async fn retry_brings_a_finished_job_back_with_its_history(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let failed = k.add("failed", JobOptions::new()).await?;
    let done = k.add("done", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0).await?;
    k.finish(&fetched.jobs[0], "t", failed_for_good(), k.t0 + 1)
        .await?;
    k.finish(&fetched.jobs[1], "t", completed(), k.t0 + 1)
        .await?;
    k.store.job_retry(at(&k, &failed, k.t0 + 2)).await?;
    let job = k.get(&failed).await?;
    ensure_eq!(job.state, JobState::Waiting, "state");
    ensure_eq!(
        (
            job.finished_on,
            job.failed_reason.as_deref(),
            job.processed_on
        ),
        (None, None, None),
        "(finished on, failed reason, processed on)"
    );
    ensure_eq!(
        (job.attempts_made, job.stacktrace.clone()),
        (1, vec!["boom".to_owned()]),
        "history"
    );
    ensure_eq!(
        k.last_event(&failed).await?,
        Event::Waiting {
            job_id: failed.clone(),
            prev: Some(JobState::Failed)
        },
        "last event"
    );
    expect_err(
        k.store.job_retry(at(&k, &failed, k.t0 + 3)).await,
        "JobNotInState",
        |e| matches!(e, Error::JobNotInState { .. }),
    )?;
    k.store.job_retry(at(&k, &done, k.t0 + 3)).await?;
    let job = k.get(&done).await?;
    ensure_eq!(
        (job.state, job.return_value.as_deref(), job.finished_on),
        (JobState::Waiting, None, None),
        "the retried completed job (state, result, finished on)"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 4).await?,
        ids(&["1", "2"]),
        "runnable again"
    );
    Ok(())
}

/// `jobs_retry` moves up to `limit` jobs of one finished state, finished at or before
/// `finished_before`, back to waiting; other states are refused.
pub async fn jobs_retry_moves_finished_jobs_back_in_bulk(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..4 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 4, k.t0).await?;
    // Jobs 1-3 fail at +10, +20, +30; job 4 completes at +40.
    for (i, job) in fetched.jobs.iter().enumerate() {
        let end = if i < 3 {
            failed_for_good()
        } else {
            completed()
        };
        k.finish(job, "t", end, k.t0 + 10 * (i as u64 + 1)).await?;
    }
    let retry = |state, finished_before, limit| RetryJobs {
        queue: k.queue.clone(),
        state,
        finished_before,
        limit,
        now: k.t0 + 100,
    };
    let moved = k
        .store
        .jobs_retry(retry(JobState::Failed, k.t0 + 20, 10))
        .await?;
    ensure_eq!(moved.count, 2, "failed jobs finished by +20");
    let moved = k
        .store
        .jobs_retry(retry(JobState::Failed, k.t0 + 100, 10))
        .await?;
    ensure_eq!(moved.count, 1, "the failed job left");
    let moved = k
        .store
        .jobs_retry(retry(JobState::Completed, k.t0 + 100, 1))
        .await?;
    ensure_eq!(moved.count, 1, "completed jobs");
    let refused = k
        .store
        .jobs_retry(retry(JobState::Waiting, k.t0 + 100, 10))
        .await;
    ensure!(
        refused.is_err(),
        "retrying waiting jobs was accepted: {refused:?}"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.failed, counts.completed),
        (4, 0, 0),
        "(waiting, failed, completed)"
    );
    let again = k.fetch("t2", 10, k.t0 + 200).await?;
    ensure_eq!(
        fetched_ids(&again),
        ids(&["1", "2", "3", "4"]),
        "runnable again"
    );
    Ok(())
}
