//! Ending attempts (`job_finish`): the lock check per item, each way an attempt ends
//! (completed; failed and retried now, after a backoff, or never; delayed without using an
//! attempt), fetch-next in the same call, `drained`, and the fetch's memo.

use std::time::Duration;

use oxq_core::backend::{AttemptEnd, Finish, FinishJobs, Retry, StoreMemo};
use oxq_core::{Error, Event, JobId, JobOptions, JobState, LockToken};

use super::kit::{Kit, completed, expect_err, failed, failed_for_good, fetched_ids, ids};
use crate::{CaseResult, Harness, ensure, ensure_eq};

fn lock_lost(e: &Error) -> bool {
    matches!(e, Error::LockLost(_))
}

/// Each item is checked on its own: a wrong token is refused with `LockLost` and changes
/// nothing, an unknown job is `JobNotFound`, the right token completes; a job no longer held
/// is refused too.
pub async fn a_wrong_token_or_missing_job_is_refused_per_item(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let a = k.add("a", JobOptions::new()).await?;
    let b = k.add("b", JobOptions::new()).await?;
    let fetched = k.fetch("mine", 2, k.t0).await?;
    let (job_a, job_b) = (&fetched.jobs[0], &fetched.jobs[1]);
    let missing = Finish {
        job_id: JobId::from("404"),
        token: LockToken("mine".into()),
        end: completed(),
        memo: StoreMemo::none(),
    };
    let mut items = Vec::new();
    for (job, token) in [(job_a, "theirs"), (job_b, "mine")] {
        items.push(Finish {
            job_id: job.record.id.clone(),
            token: LockToken(token.into()),
            end: completed(),
            memo: job.memo.clone(),
        });
    }
    items.insert(1, missing);
    let mut verdicts = k.finish_items(items, k.t0 + 10).await?.into_iter();
    let mut next = || verdicts.next().unwrap_or(Ok(()));
    expect_err(next(), "LockLost for a wrong token", lock_lost)?;
    expect_err(
        next(),
        "JobNotFound for job 404",
        |e| matches!(e, Error::JobNotFound(id) if id == "404"),
    )?;
    ensure!(next().is_ok(), "the right token was refused");
    let record = k.get(&a).await?;
    ensure_eq!(
        (record.state, record.attempts_made),
        (JobState::Active, 0),
        "a refused finish changed job a (state, attempts made)"
    );
    ensure_eq!(k.get(&b).await?.state, JobState::Completed, "job b");
    let again = k
        .finish_many(vec![(job_b, "mine", completed())], k.t0 + 20)
        .await?;
    expect_err(
        again.into_iter().next().unwrap_or(Ok(())),
        "LockLost for a finished job",
        lock_lost,
    )?;
    ensure!(
        k.finish_many(vec![(job_a, "mine", completed())], k.t0 + 20)
            .await?[0]
            .is_ok(),
        "job a's own token was refused"
    );
    Ok(())
}

/// A completion records the result, the finish time and one attempt made, and emits
/// `completed` (then `drained`: nothing is left).
pub async fn a_completion_records_the_result(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    k.finish(&fetched.jobs[0], "t", completed(), k.t0 + 7)
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(job.state, JobState::Completed, "state");
    ensure_eq!(job.finished_on, Some(k.t0 + 7), "finished on");
    ensure_eq!(job.return_value.as_deref(), Some("42"), "return value");
    ensure_eq!(job.attempts_made, 1, "attempts made");
    ensure_eq!(
        k.event_names().await?,
        ["added", "waiting", "active", "completed", "drained"],
        "events"
    );
    ensure!(
        k.job_events(&id).await?.contains(&Event::Completed {
            job_id: id.clone(),
            return_value: "42".into()
        }),
        "no `completed` event with the result"
    );
    Ok(())
}

/// A failure retried now goes to the back of the line as waiting, with one attempt made and
/// its error kept; the next failure appends its error.
pub async fn a_failure_retried_now_waits_at_the_back_with_its_error(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(3)).await?;
    k.add("b", JobOptions::new()).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    k.finish(&fetched.jobs[0], "t", failed(Retry::Now), k.t0 + 1)
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(job.state, JobState::Waiting, "state");
    ensure_eq!(job.attempts_made, 1, "attempts made");
    ensure_eq!(job.failed_reason.as_deref(), Some("boom"), "failed reason");
    ensure_eq!(job.stacktrace, ["boom"], "errors kept");
    ensure_eq!(
        k.last_event(&id).await?,
        Event::Waiting {
            job_id: id.clone(),
            prev: Some(JobState::Active)
        },
        "last event"
    );
    ensure_eq!(
        k.fetch_ids("t2", 1, k.t0 + 2).await?,
        ids(&["2"]),
        "next in line"
    );
    let again = k.fetch("t3", 1, k.t0 + 2).await?;
    ensure_eq!(fetched_ids(&again), ids(&["1"]), "then");
    k.finish(&again.jobs[0], "t3", failed(Retry::Now), k.t0 + 3)
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(
        job.stacktrace,
        ["boom", "boom"],
        "errors after two failures"
    );
    ensure_eq!(job.attempts_made, 2, "attempts made after two failures");
    Ok(())
}

/// A LIFO job retried now goes to the front of the line.
pub async fn a_failed_lifo_job_retried_now_goes_to_the_front(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new().lifo(true)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    k.add("b", JobOptions::new()).await?;
    k.finish(&fetched.jobs[0], "t", failed(Retry::Now), k.t0 + 1)
        .await?;
    ensure_eq!(
        k.fetch_ids("t2", 1, k.t0 + 2).await?,
        ids(&["1"]),
        "next in line"
    );
    Ok(())
}

/// A prioritized job retried now is prioritized again.
pub async fn a_failed_prioritized_job_retried_now_is_prioritized_again(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().priority(4)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    k.finish(&fetched.jobs[0], "t", failed(Retry::Now), k.t0 + 1)
        .await?;
    ensure_eq!(k.get(&id).await?.state, JobState::Prioritized, "state");
    ensure_eq!(k.counts().await?.prioritized, 1, "prioritized jobs");
    Ok(())
}

/// A failure retried after a backoff is delayed until the finish's `now` plus the backoff,
/// emits `delayed`, and runs no earlier.
pub async fn a_failure_retried_after_a_backoff_is_delayed(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(2)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let backoff = failed(Retry::After(Duration::from_secs(2)));
    k.finish(&fetched.jobs[0], "t", backoff, k.t0 + 10).await?;
    let due = k.t0 + 2_010;
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.state, job.due_at),
        (JobState::Delayed, Some(due)),
        "(state, due)"
    );
    ensure_eq!(job.attempts_made, 1, "attempts made");
    ensure_eq!(
        k.last_event(&id).await?,
        Event::Delayed {
            job_id: id.clone(),
            due_at: due
        },
        "last event"
    );
    let early = k.fetch("t2", 1, due - 1).await?;
    ensure!(
        early.jobs.is_empty(),
        "the job ran before its backoff ended"
    );
    ensure_eq!(early.next_due_at, Some(due), "hint");
    ensure_eq!(
        k.fetch_ids("t2", 1, due).await?,
        ids(&["1"]),
        "fetched when due"
    );
    Ok(())
}

/// The last allowed attempt failing fails the job for good: `failed`, then
/// `retries-exhausted` with the attempts made.
pub async fn a_last_failure_emits_failed_and_retries_exhausted(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(2)).await?;
    let first = k.fetch("t", 1, k.t0).await?;
    k.finish(&first.jobs[0], "t", failed(Retry::Now), k.t0 + 1)
        .await?;
    let second = k.fetch("t2", 1, k.t0 + 2).await?;
    k.finish(&second.jobs[0], "t2", failed_for_good(), k.t0 + 3)
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(job.state, JobState::Failed, "state");
    ensure_eq!(job.finished_on, Some(k.t0 + 3), "finished on");
    ensure_eq!(job.attempts_made, 2, "attempts made");
    let events = k.job_events(&id).await?;
    ensure!(
        events.ends_with(&[
            Event::Failed {
                job_id: id.clone(),
                failed_reason: "boom".into()
            },
            Event::RetriesExhausted {
                job_id: id.clone(),
                attempts_made: 2
            },
        ]),
        "the last events: {events:?}"
    );
    ensure_eq!(k.counts().await?.failed, 1, "failed jobs");
    Ok(())
}

/// Failing for good before the attempts run out (an unrecoverable error) emits `failed` but
/// not `retries-exhausted`.
pub async fn failing_early_does_not_claim_exhausted_retries(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(5)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    k.finish(&fetched.jobs[0], "t", failed_for_good(), k.t0 + 1)
        .await?;
    let names: Vec<_> = k.job_events(&id).await?.iter().map(|e| e.name()).collect();
    ensure_eq!(names.last(), Some(&"failed"), "the last event");
    ensure!(!names.contains(&"retries-exhausted"), "events: {names:?}");
    ensure_eq!(k.get(&id).await?.state, JobState::Failed, "state");
    Ok(())
}

/// An attempt that ends `Delayed { until }` puts the job back to delayed until then without
/// using an attempt (no attempt made, no error recorded), emits `delayed`, releases the lock,
/// and the job runs again when due.
pub async fn a_delayed_end_waits_without_using_an_attempt(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(3)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let until = k.t0 + 5_000;
    k.finish(
        &fetched.jobs[0],
        "t",
        AttemptEnd::Delayed { until },
        k.t0 + 10,
    )
    .await?;
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.state, job.due_at),
        (JobState::Delayed, Some(until)),
        "(state, due)"
    );
    ensure_eq!(
        (job.attempts_made, job.attempts_started),
        (0, 1),
        "(attempts made, started)"
    );
    ensure!(
        job.failed_reason.is_none() && job.stacktrace.is_empty(),
        "a delay recorded an error: {job:?}"
    );
    ensure_eq!(
        k.last_event(&id).await?,
        Event::Delayed {
            job_id: id.clone(),
            due_at: until
        },
        "last event"
    );
    let again = k
        .finish_many(vec![(&fetched.jobs[0], "t", completed())], k.t0 + 11)
        .await?;
    expect_err(
        again.into_iter().next().unwrap_or(Ok(())),
        "LockLost: the lock was released",
        lock_lost,
    )?;
    let early = k.fetch("t2", 1, until - 1).await?;
    ensure!(early.jobs.is_empty(), "the job ran before its time");
    ensure_eq!(early.next_due_at, Some(until), "hint");
    let due = k.fetch("t2", 1, until).await?;
    ensure_eq!(fetched_ids(&due), ids(&["1"]), "fetched when due");
    ensure_eq!(
        (
            due.jobs[0].record.attempts_made,
            due.jobs[0].record.attempts_started
        ),
        (0, 2),
        "(attempts made, started) of the second run"
    );
    k.finish(&due.jobs[0], "t2", completed(), until + 1).await?;
    ensure_eq!(
        k.get(&id).await?.attempts_made,
        1,
        "attempts made once completed"
    );
    Ok(())
}

/// `fetch_next` fetches more jobs of the queue in the finishing call, under its own token;
/// no `drained` is emitted while jobs are active.
pub async fn fetch_next_takes_more_jobs_in_the_same_call(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..4 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let first = k.fetch("t1", 2, k.t0).await?;
    let result = k
        .store
        .job_finish(FinishJobs {
            queue: k.queue.clone(),
            now: k.t0 + 1,
            items: first
                .jobs
                .iter()
                .map(|j| Finish {
                    job_id: j.record.id.clone(),
                    token: LockToken("t1".into()),
                    end: completed(),
                    memo: j.memo.clone(),
                })
                .collect(),
            fetch_next: Some(Kit::fetch_spec("t2", 5, super::kit::LOCK)),
            metrics: None,
        })
        .await?;
    ensure!(
        result.items.iter().all(Result::is_ok),
        "finishes refused: {:?}",
        result.items
    );
    ensure_eq!(
        fetched_ids(&result.fetched),
        ids(&["3", "4"]),
        "fetched next"
    );
    for job in &result.fetched.jobs {
        ensure_eq!(
            job.record.state,
            JobState::Active,
            "state of {}",
            job.record.id
        );
        ensure_eq!(job.record.processed_on, Some(k.t0 + 1), "processed on");
    }
    ensure!(
        !k.event_names().await?.contains(&"drained"),
        "`drained` while jobs are active"
    );
    let next = &result.fetched.jobs[0];
    let wrong = k
        .finish_many(vec![(next, "t1", completed())], k.t0 + 2)
        .await?;
    expect_err(
        wrong.into_iter().next().unwrap_or(Ok(())),
        "LockLost under t1",
        lock_lost,
    )?;
    k.finish(next, "t2", completed(), k.t0 + 2).await
}

/// Finishing the last jobs in one call emits `drained` once, as the last event.
pub async fn drained_is_emitted_once_when_nothing_is_left(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    k.add("b", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0).await?;
    let items = fetched.jobs.iter().map(|j| (j, "t", completed())).collect();
    let verdicts = k.finish_many(items, k.t0 + 1).await?;
    ensure!(verdicts.iter().all(Result::is_ok), "refused: {verdicts:?}");
    let names = k.event_names().await?;
    ensure_eq!(
        names.iter().filter(|n| **n == "drained").count(),
        1,
        "`drained` events in {names:?}"
    );
    ensure_eq!(names.last(), Some(&"drained"), "the last event");
    Ok(())
}

/// A finish without the fetch's memo (none, or another store's note), as from a process that
/// did not fetch the job, ends the attempt exactly as one with it: same state, result and
/// attempt counts, also over a retry.
pub async fn a_finish_without_its_memo_ends_the_attempt_the_same(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for name in ["with", "none", "foreign", "retried"] {
        k.add(name, JobOptions::new().attempts(2)).await?;
    }
    let fetched = k.fetch("t", 4, k.t0).await?;
    ensure_eq!(fetched_ids(&fetched), ids(&["1", "2", "3", "4"]), "fetched");
    let memos = [
        fetched.jobs[0].memo.clone(),
        StoreMemo::none(),
        StoreMemo::new(String::from("a note of another store")),
        StoreMemo::none(),
    ];
    let items = fetched
        .jobs
        .iter()
        .zip(memos)
        .enumerate()
        .map(|(i, (job, memo))| Finish {
            job_id: job.record.id.clone(),
            token: LockToken("t".into()),
            end: if i == 3 {
                failed(Retry::Now)
            } else {
                completed()
            },
            memo,
        })
        .collect();
    let verdicts = k.finish_items(items, k.t0 + 1).await?;
    ensure!(verdicts.iter().all(Result::is_ok), "refused: {verdicts:?}");
    for id in ["1", "2", "3"] {
        let job = k.get(&JobId::from(id)).await?;
        ensure_eq!(
            (job.state, job.attempts_made, job.return_value.as_deref()),
            (JobState::Completed, 1, Some("42")),
            "job {id} (state, attempts made, result)"
        );
    }
    let retried = k.get(&JobId::from("4")).await?;
    ensure_eq!(
        (retried.state, retried.attempts_made),
        (JobState::Waiting, 1),
        "the retried job (state, attempts made)"
    );
    let again = k.fetch("t2", 1, k.t0 + 2).await?;
    let id = JobId::from("4");
    let verdict = k.finish_id(&id, "t2", completed(), k.t0 + 3).await?;
    ensure!(verdict.is_ok(), "the second attempt's finish: {verdict:?}");
    ensure_eq!(fetched_ids(&again), ids(&["4"]), "fetched again");
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.state, job.attempts_made, job.attempts_started),
        (JobState::Completed, 2, 2),
        "after the second attempt (state, attempts made, started)"
    );
    Ok(())
}
