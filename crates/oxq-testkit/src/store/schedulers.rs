//! The [`Schedulers`](oxq_core::backend::Schedulers) facet: upsert creates the first iteration
//! (`repeat:<id>:<millis>`), taking the pending iteration creates the next in the same step
//! (by a fetch, or a finish's fetch-next), racing fetches and upserts make one job per tick,
//! remove, list and count, the store's own refusal of bad schedules, and BullMQ's two
//! exceptions for a scheduler's runs (the pending run is not removed alone; a stalled run is
//! not failed). Times are explicit
//! `now`s; a store without the facet skips these cases.

use std::sync::Arc;
use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, CleanQueue, DrainQueue, FinishJobs, GetScheduler, JobScheduler, ListSchedulers,
    OfQueue, RecoverStalled, RemoveJob, RemoveScheduler, SchedulerTemplate, Schedulers,
    UpsertScheduler,
};
use oxq_core::repeat::iteration_job_id;
use oxq_core::{Error, JobId, JobOptions, JobState, KeepJobs, LockToken, Repeat};

use super::kit::{Kit, fetched_ids};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

const EVERY: u64 = 1_000;

fn facet(k: &Kit) -> CaseResult<&dyn Schedulers> {
    k.store
        .schedulers()
        .ok_or_else(|| TestError::skip("the store has no job schedulers"))
}

fn template(name: &str) -> SchedulerTemplate {
    SchedulerTemplate {
        name: name.to_owned(),
        data: format!("{{\"template\":\"{name}\"}}"),
        options: JobOptions::new().attempts(2),
    }
}

fn every() -> Repeat {
    Repeat::every(Duration::from_millis(EVERY))
}

/// A tick boundary after the case's start, so iteration times are round numbers.
fn aligned(k: &Kit) -> u64 {
    (k.t0 / EVERY + 1) * EVERY
}

async fn upsert(
    s: &dyn Schedulers,
    k: &Kit,
    id: &str,
    repeat: Repeat,
    name: &str,
    now: u64,
) -> oxq_core::Result<JobScheduler> {
    s.scheduler_upsert(UpsertScheduler {
        queue: k.queue.clone(),
        id: id.to_owned(),
        repeat,
        template: template(name),
        now,
    })
    .await
}

async fn get(s: &dyn Schedulers, k: &Kit, id: &str) -> CaseResult<JobScheduler> {
    s.scheduler_get(GetScheduler {
        queue: k.queue.clone(),
        id: id.to_owned(),
    })
    .await?
    .ok_or_else(|| TestError::msg(format!("scheduler {id} is not stored")))
}

fn iteration(id: &str, at: u64) -> JobId {
    JobId(iteration_job_id(id, at))
}

/// An upsert of an `every` schedule creates its first iteration at `now`, waiting, with
/// BullMQ's id `repeat:<id>:<now>` and the template's name, data and options; the scheduler
/// reads back with that next run and one iteration.
pub async fn an_upsert_creates_the_first_iteration(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    let answered = upsert(s, &k, "tick", every(), "beat", t).await?;
    ensure_eq!(
        answered.next_run,
        Some(t),
        "next run answered by the upsert"
    );
    let job = k
        .try_get(&iteration("tick", t))
        .await?
        .ok_or_else(|| TestError::msg("the first iteration was not created"))?;
    ensure_eq!(job.state, JobState::Waiting, "state of the first iteration");
    ensure_eq!(job.name, "beat", "name of the iteration");
    ensure_eq!(job.data, "{\"template\":\"beat\"}", "data of the iteration");
    ensure_eq!(job.options.attempts, 2, "attempts of the iteration");
    let stored = get(s, &k, "tick").await?;
    ensure_eq!(stored.next_run, Some(t), "next run read back");
    ensure_eq!(stored.iterations, 1, "iterations read back");
    ensure_eq!(stored.template, template("beat"), "template read back");
    Ok(())
}

/// The fetch that takes the pending iteration creates the next one (delayed, `every` later)
/// in the same step; taking it through a finish's fetch-next does the same.
pub async fn taking_the_pending_iteration_creates_the_next(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    upsert(s, &k, "tick", every(), "beat", t).await?;
    let fetched = k.fetch("tok-1", 1, t).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![iteration("tick", t).0],
        "the fetch at the first tick"
    );
    let next = k
        .try_get(&iteration("tick", t + EVERY))
        .await?
        .ok_or_else(|| TestError::msg("the fetch did not create the next iteration"))?;
    ensure_eq!(next.state, JobState::Delayed, "state of the next iteration");
    ensure_eq!(
        next.due_at,
        Some(t + EVERY),
        "due time of the next iteration"
    );
    ensure_eq!(
        get(s, &k, "tick").await?.next_run,
        Some(t + EVERY),
        "next run"
    );
    // Finish the first and fetch the second in one call, at its due time.
    let finished = k
        .store
        .job_finish(FinishJobs {
            queue: k.queue.clone(),
            now: t + EVERY,
            items: vec![oxq_core::backend::Finish {
                job_id: fetched.jobs[0].record.id.clone(),
                token: LockToken("tok-1".to_owned()),
                end: AttemptEnd::Completed {
                    return_value: "null".to_owned(),
                    keep: KeepJobs::All,
                },
                memo: fetched.jobs[0].memo.clone(),
            }],
            fetch_next: Some(Kit::fetch_spec("tok-2", 1, super::kit::LOCK)),
            metrics: None,
        })
        .await?;
    ensure_eq!(
        fetched_ids(&finished.fetched),
        vec![iteration("tick", t + EVERY).0],
        "the fetch-next of the finish"
    );
    ensure!(
        k.try_get(&iteration("tick", t + 2 * EVERY))
            .await?
            .is_some(),
        "the fetch-next did not create the third iteration"
    );
    ensure_eq!(get(s, &k, "tick").await?.iterations, 3, "iterations");
    Ok(())
}

/// Three fetchers and two upserters race on every tick for ten ticks (the upserters re-upsert
/// the same schedule): each tick's iteration is created and taken exactly once, and exactly
/// one iteration is pending at the end.
pub async fn racing_fetches_and_upserts_make_one_job_per_tick(h: &Harness) -> CaseResult {
    let k = Arc::new(Kit::new(h));
    let s = facet(&k)?;
    let t = aligned(&k);
    upsert(s, &k, "race", every(), "beat", t).await?;
    let mut taken: Vec<String> = Vec::new();
    for tick in 0..10u64 {
        let now = t + tick * EVERY;
        let fetchers = (0..3).map(|w| {
            let k = k.clone();
            async move { k.fetch(&format!("w{w}-{tick}"), 5, now).await }
        });
        let upserters = (0..2).map(|_| upsert(s, &k, "race", every(), "beat", now));
        let (fetched, upserted) = futures::future::join(
            futures::future::join_all(fetchers),
            futures::future::join_all(upserters),
        )
        .await;
        for f in fetched {
            taken.extend(fetched_ids(&f?));
        }
        for u in upserted {
            u?;
        }
    }
    // Whatever is still runnable at the last tick is taken now.
    taken.extend(k.fetch_ids("last", 100, t + 9 * EVERY).await?);
    let mut sorted = taken.clone();
    sorted.sort();
    sorted.dedup();
    ensure_eq!(
        sorted.len(),
        taken.len(),
        "iterations taken twice: {taken:?}"
    );
    let expected: Vec<String> = (0..10)
        .map(|n| iteration("race", t + n * EVERY).0)
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    ensure_eq!(sorted, expected_sorted, "iterations taken, one per tick");
    let counts = k
        .store
        .jobs_count(OfQueue {
            queue: k.queue.clone(),
        })
        .await?;
    ensure_eq!(
        (counts.waiting, counts.delayed, counts.active),
        (0, 1, 10),
        "waiting, delayed and active jobs after ten ticks"
    );
    Ok(())
}

/// Removing a scheduler deletes it and its pending iteration; a second remove answers that it
/// did not exist, and fetching creates nothing more.
pub async fn a_remove_deletes_the_scheduler_and_its_pending_run(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    upsert(s, &k, "gone", every(), "beat", t).await?;
    k.fetch("tok", 1, t).await?;
    let remove = || {
        s.scheduler_remove(RemoveScheduler {
            queue: k.queue.clone(),
            id: "gone".to_owned(),
            now: t + 1,
        })
    };
    ensure!(remove().await?.existed, "the first remove found nothing");
    ensure!(
        !remove().await?.existed,
        "the second remove found the scheduler"
    );
    ensure!(
        k.try_get(&iteration("gone", t + EVERY)).await?.is_none(),
        "the pending iteration was kept"
    );
    ensure!(
        k.try_get(&iteration("gone", t)).await?.is_some(),
        "the started iteration was removed"
    );
    ensure!(
        k.fetch_ids("tok-2", 10, t + 5 * EVERY).await?.is_empty(),
        "a removed scheduler still made jobs"
    );
    ensure_eq!(
        s.schedulers_count(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        0,
        "schedulers left"
    );
    Ok(())
}

/// Listing pages through schedulers by next run, in either direction; count counts them.
pub async fn schedulers_are_listed_by_next_run_and_counted(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    for (id, start) in [("c", 3), ("a", 1), ("b", 2)] {
        upsert(s, &k, id, every().start_at(t + start * EVERY), id, t).await?;
    }
    let page = |offset, limit, ascending| {
        s.schedulers_list(ListSchedulers {
            queue: k.queue.clone(),
            offset,
            limit,
            ascending,
        })
    };
    let ids = |list: Vec<JobScheduler>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    ensure_eq!(ids(page(0, 10, true).await?), ["a", "b", "c"], "ascending");
    ensure_eq!(ids(page(1, 1, true).await?), ["b"], "second page of one");
    ensure_eq!(ids(page(0, 2, false).await?), ["c", "b"], "descending, two");
    let first = page(0, 1, true).await?;
    ensure_eq!(
        first[0].next_run,
        Some(t + EVERY),
        "next run of the first listed"
    );
    ensure_eq!(
        s.schedulers_count(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        3,
        "count"
    );
    Ok(())
}

/// The store refuses a bad schedule itself (the seam has callers other than `Queue`) and
/// writes nothing.
pub async fn the_store_refuses_a_bad_schedule(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    for (repeat, problem) in [
        (Repeat::cron("99 * * * *"), "invalid cron pattern"),
        (
            Repeat::cron("0 9 * * *").tz("Nowhere/Town"),
            "unknown time zone",
        ),
        (Repeat::every(Duration::ZERO), "every"),
    ] {
        match upsert(s, &k, "bad", repeat, "x", k.t0).await {
            Err(Error::InvalidSchedule(message)) if message.contains(problem) => {}
            other => {
                return Err(TestError::msg(format!(
                    "expected a refusal naming {problem:?}, got {other:?}"
                )));
            }
        }
    }
    ensure_eq!(
        s.schedulers_count(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        0,
        "schedulers stored"
    );
    Ok(())
}

/// A drain (delayed jobs included) and a clean of delayed jobs remove plain jobs but keep each
/// scheduler's pending run, as BullMQ does: removing it would stop the scheduler.
pub async fn a_drain_and_a_clean_keep_each_schedulers_pending_run(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    upsert(s, &k, "kept", every().start_at(t + EVERY), "beat", t).await?;
    k.add_at(
        "plain",
        JobOptions::new().delay(Duration::from_millis(10)),
        t,
    )
    .await?;
    k.add_at("plain-waiting", JobOptions::new(), t).await?;
    let drained = k
        .store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;
    ensure_eq!(drained.count, 2, "jobs drained");
    let pending = iteration("kept", t + EVERY);
    ensure!(
        k.try_get(&pending).await?.is_some(),
        "the drain removed the scheduler's pending run"
    );
    k.add_at(
        "old-delayed",
        JobOptions::new().delay(Duration::from_secs(60)),
        t,
    )
    .await?;
    let cleaned = k
        .store
        .queue_clean(CleanQueue {
            queue: k.queue.clone(),
            state: JobState::Delayed,
            grace: Duration::ZERO,
            limit: 100,
            now: t + 1,
        })
        .await?;
    ensure_eq!(
        cleaned.ids.len(),
        1,
        "delayed jobs cleaned: {:?}",
        cleaned.ids
    );
    ensure!(
        k.try_get(&pending).await?.is_some(),
        "the clean removed the scheduler's pending run"
    );
    ensure_eq!(
        get(s, &k, "kept").await?.next_run,
        Some(t + EVERY),
        "next run"
    );
    Ok(())
}

/// The pending run of a scheduler cannot be removed on its own (BullMQ's `removeJob` −8): that
/// would stop the scheduler for good. The refusal is a conflict and the run stays; removing
/// the scheduler removes it.
pub async fn removing_the_pending_run_alone_is_refused(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let t = aligned(&k);
    upsert(s, &k, "kept", every(), "beat", t).await?;
    let run = iteration("kept", t);
    let refused = k
        .store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: run.clone(),
            now: t,
        })
        .await;
    ensure!(
        matches!(refused, Err(Error::Conflict(_))),
        "removing the pending run answered {refused:?}"
    );
    ensure!(
        k.try_get(&run).await?.is_some(),
        "the pending run was removed"
    );
    s.scheduler_remove(RemoveScheduler {
        queue: k.queue.clone(),
        id: "kept".to_owned(),
        now: t,
    })
    .await?;
    ensure!(
        k.try_get(&run).await?.is_none(),
        "the scheduler's removal kept its pending run"
    );
    Ok(())
}

/// A scheduler's run that stalls beyond the limit goes back to waiting without a deferred
/// failure (BullMQ's exception for scheduler jobs): the schedule goes on. Real time, as in
/// `store::locks_stalls`: Redis expires the lock on its own clock.
pub async fn a_stalled_scheduler_run_is_recovered_not_failed(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let s = facet(&k)?;
    let now = oxq_core::clock::now_ms();
    upsert(s, &k, "beat", every(), "beat", now).await?;
    let run = iteration("beat", now);
    let fetched = k
        .fetch_locked("t1", 1, Duration::from_millis(200), now)
        .await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![run.0.clone()],
        "the run fetched"
    );
    crate::support::wait_until(
        &format!("run {run} to be recovered"),
        crate::support::WAIT,
        || async {
            let recovered = k
                .store
                .stalled_recover(RecoverStalled {
                    queue: k.queue.clone(),
                    max_stalled_count: 0,
                    interval: Duration::from_millis(1),
                    now: oxq_core::clock::now_ms(),
                })
                .await?
                .job_ids;
            Ok(recovered.contains(&run))
        },
    )
    .await?;
    let job = k.get(&run).await?;
    ensure_eq!(
        (job.state, job.deferred_failure),
        (JobState::Waiting, None),
        "(state, deferred failure) of the stalled run"
    );
    Ok(())
}
