//! Reading jobs back: listings by state in each state's natural order with paging, counts,
//! progress, and logs.

use std::time::Duration;

use oxq_core::backend::{AddLog, JobLogs, ReadLogs, UpdateProgress};
use oxq_core::{Error, Event, JobId, JobOptions, JobState};

use super::kit::{Kit, completed, expect_err, ids};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// Each state lists in its natural order (waiting: next to run first; prioritized: by
/// priority; delayed: soonest due), descending reverses it, several states concatenate in the
/// order asked and page over the whole; counts agree.
pub async fn lists_follow_each_states_natural_order(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("w1", JobOptions::new()).await?; // 1
    k.add("w2", JobOptions::new().lifo(true)).await?; // 2, front
    k.add("p9", JobOptions::new().priority(9)).await?; // 3
    k.add("p1", JobOptions::new().priority(1)).await?; // 4
    k.add("d2", JobOptions::new().delay(Duration::from_secs(2)))
        .await?; // 5
    k.add("d1", JobOptions::new().delay(Duration::from_secs(1)))
        .await?; // 6
    k.add("w3", JobOptions::new()).await?; // 7
    let (w, p, d) = (JobState::Waiting, JobState::Prioritized, JobState::Delayed);
    ensure_eq!(
        k.list(&[w], 0, 10, true).await?,
        ids(&["2", "1", "7"]),
        "waiting"
    );
    ensure_eq!(
        k.list(&[w], 0, 10, false).await?,
        ids(&["7", "1", "2"]),
        "waiting, descending"
    );
    ensure_eq!(
        k.list(&[p], 0, 10, true).await?,
        ids(&["4", "3"]),
        "prioritized"
    );
    ensure_eq!(
        k.list(&[d], 0, 10, true).await?,
        ids(&["6", "5"]),
        "delayed"
    );
    let all = [w, p, d];
    ensure_eq!(
        k.list(&all, 0, 100, true).await?,
        ids(&["2", "1", "7", "4", "3", "6", "5"]),
        "three states"
    );
    ensure_eq!(
        k.list(&all, 2, 3, true).await?,
        ids(&["7", "4", "3"]),
        "offset 2, limit 3"
    );
    ensure_eq!(
        k.list(&all, 5, 10, true).await?,
        ids(&["6", "5"]),
        "offset 5"
    );
    ensure!(
        k.list(&all, 0, 0, true).await?.is_empty(),
        "limit 0 listed jobs"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.total()
        ),
        (3, 2, 2, 7),
        "(waiting, prioritized, delayed, total)"
    );
    Ok(())
}

/// Active and finished jobs list too: completed ones by finish time (earliest first when
/// ascending), whatever their ids.
pub async fn finished_jobs_list_by_finish_time(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..4 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let fetched = k.fetch("t", 3, k.t0).await?;
    ensure_eq!(
        k.list(&[JobState::Active], 0, 10, true).await?.len(),
        3,
        "active jobs listed"
    );
    for (i, job) in fetched.jobs.iter().rev().enumerate() {
        k.finish(job, "t", completed(), k.t0 + 10 * (i as u64 + 1))
            .await?;
    }
    let c = JobState::Completed;
    ensure_eq!(
        k.list(&[c], 0, 10, true).await?,
        ids(&["3", "2", "1"]),
        "ascending"
    );
    ensure_eq!(
        k.list(&[c], 0, 2, false).await?,
        ids(&["1", "2"]),
        "descending, limit 2"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.completed, counts.waiting, counts.active),
        (3, 1, 0),
        "(completed, waiting, active)"
    );
    Ok(())
}

/// Progress is any JSON (a number, an object), stored as given and emitted as `progress`; an
/// unknown job is `JobNotFound`.
pub async fn progress_is_stored_and_emitted(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let progress = |job_id: &JobId, text: &str| UpdateProgress {
        queue: k.queue.clone(),
        job_id: job_id.clone(),
        progress: text.into(),
        now: k.t0,
    };
    for text in ["42", "{\"pct\":50}"] {
        k.store.job_update_progress(progress(&id, text)).await?;
        ensure_eq!(k.get(&id).await?.progress, text, "progress");
        ensure_eq!(
            k.last_event(&id).await?,
            Event::Progress {
                job_id: id.clone(),
                data: text.into()
            },
            "last event"
        );
    }
    let missing = k
        .store
        .job_update_progress(progress(&JobId::from("x"), "1"))
        .await;
    expect_err(missing, "JobNotFound", |e| {
        matches!(e, Error::JobNotFound(_))
    })
}

/// Log lines are kept in order and counted; `keep_logs` keeps only the newest; reads page by
/// offset and limit; an unknown job is `JobNotFound`.
pub async fn logs_keep_order_and_the_newest_lines(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let log = |job_id: &JobId, line: &str, keep_logs| AddLog {
        queue: k.queue.clone(),
        job_id: job_id.clone(),
        line: line.into(),
        keep_logs,
        now: k.t0,
    };
    ensure_eq!(
        k.store.job_log_add(log(&id, "one", None)).await?.total,
        1,
        "after one"
    );
    ensure_eq!(
        k.store.job_log_add(log(&id, "two", None)).await?.total,
        2,
        "after two"
    );
    ensure_eq!(
        k.store.job_log_add(log(&id, "three", Some(2))).await?.total,
        2,
        "kept 2"
    );
    let read = |offset, limit| ReadLogs {
        queue: k.queue.clone(),
        job_id: id.clone(),
        offset,
        limit,
    };
    ensure_eq!(
        k.store.job_logs(read(0, 10)).await?,
        JobLogs {
            lines: vec!["two".into(), "three".into()],
            total: 2
        },
        "all lines"
    );
    ensure_eq!(
        k.store.job_logs(read(1, 1)).await?.lines,
        ["three"],
        "offset 1, limit 1"
    );
    let missing = k.store.job_log_add(log(&JobId::from("x"), "l", None)).await;
    expect_err(missing, "JobNotFound", |e| {
        matches!(e, Error::JobNotFound(_))
    })
}
