//! Deduplication ids (the [`DedupIds`] facet and its rules in the core calls): what an add
//! with an owned id answers and records, when an id is released (a finish, a removal, a drain,
//! the facet), windows (throttle, extend), debounce (replace) and keep-last-if-active.
//!
//! Windows are judged by each call's `now`: cases pass later `now`s instead of sleeping. On
//! Redis the key's real expiry is the same moment on the server's clock, which is at least a
//! minute after the case began, so it never decides a case.

use std::time::Duration;

use oxq_core::backend::{
    AddJobs, AddedJob, CleanQueue, DedupIds, DeduplicationKey, DrainQueue, NewJob,
    RemoveDeduplicationKey, RemoveJob, Retry,
};
use oxq_core::flow::ParentLink;
use oxq_core::{Deduplication, Event, JobId, JobOptions, JobState};

use super::kit::{Kit, completed, failed, failed_for_good};
use crate::{CaseResult, Harness, TestError, bail, ensure, ensure_eq};

const SEC: u64 = 1_000;

fn facet(k: &Kit) -> CaseResult<&dyn DedupIds> {
    k.store
        .deduplication()
        .ok_or_else(|| TestError::msg("the store has no deduplication facet"))
}

fn with(dedup: Deduplication) -> JobOptions {
    JobOptions::new().deduplication(dedup)
}

/// Adds one job named `name` (payload `{"name": name}`) at `now`; answers the store's entry.
async fn add(k: &Kit, name: &str, options: JobOptions, now: u64) -> CaseResult<AddedJob> {
    Ok(k.add_jobs(vec![Kit::job(name, options)], now)
        .await?
        .remove(0))
}

/// The id of a created job, or a failure naming what the add answered instead.
fn created(answer: &AddedJob) -> CaseResult<JobId> {
    match answer {
        AddedJob::Created { id, .. } => Ok(id.clone()),
        other => bail!("expected a new job, the add answered {other:?}"),
    }
}

/// `(standing id, rejected id, standing job's name)` of a deduplicated add.
fn deduplicated(answer: &AddedJob) -> CaseResult<(JobId, JobId, Option<String>)> {
    match answer {
        AddedJob::Deduplicated {
            id,
            rejected,
            standing,
        } => Ok((
            id.clone(),
            rejected.clone(),
            standing.as_ref().map(|r| r.name.clone()),
        )),
        other => bail!("expected a deduplicated add, the add answered {other:?}"),
    }
}

async fn owner(k: &Kit, dedup_id: &str, now: u64) -> CaseResult<Option<JobId>> {
    Ok(facet(k)?
        .dedup_owner(DeduplicationKey {
            queue: k.queue.clone(),
            dedup_id: dedup_id.to_owned(),
            now,
        })
        .await?)
}

/// The `deduplicated` events of the queue as `(stands, dedup id, dropped)`, oldest first.
async fn dedup_events(k: &Kit) -> CaseResult<Vec<(String, String, String)>> {
    Ok(k.events()
        .await?
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Deduplicated {
                job_id,
                deduplication_id,
                deduplicated_job_id,
            } => Some((
                job_id.to_string(),
                deduplication_id,
                deduplicated_job_id.to_string(),
            )),
            _ => None,
        })
        .collect())
}

/// Fetches the one job the queue has runnable at `now` and checks it is `id`.
async fn take(k: &Kit, id: &JobId, now: u64) -> CaseResult<oxq_core::backend::FetchedJob> {
    let mut fetched = k.fetch("t", 1, now).await?.jobs;
    let Some(job) = fetched.pop() else {
        bail!("nothing runnable at +{} ms; expected job {id}", now - k.t0);
    };
    ensure_eq!(job.record.id, *id, "the job fetched");
    Ok(job)
}

/// Simple mode: while the owner has not finished, an add with its id writes nothing, answers
/// the owner (as read in the same step) and records `deduplicated` naming both; the add still
/// uses an id. Once the owner completes, the next add makes a new job that owns the id.
pub async fn an_owned_id_answers_its_owner_until_the_owner_completes(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let first = created(&add(&k, "first", with(Deduplication::new("k")), k.t0).await?)?;
    let answer = add(&k, "second", with(Deduplication::new("k")), k.t0 + 1).await?;
    ensure_eq!(
        deduplicated(&answer)?,
        (first.clone(), JobId::from("2"), Some("first".to_owned())),
        "(standing, rejected, standing's name)"
    );
    ensure_eq!(k.counts().await?.waiting, 1, "waiting jobs");
    ensure_eq!(
        dedup_events(&k).await?,
        vec![(first.to_string(), "k".to_owned(), "2".to_owned())],
        "deduplicated events"
    );
    ensure_eq!(
        owner(&k, "k", k.t0 + 2).await?,
        Some(first.clone()),
        "owner"
    );
    let job = take(&k, &first, k.t0 + 3).await?;
    let again = add(&k, "third", with(Deduplication::new("k")), k.t0 + 4).await?;
    ensure_eq!(deduplicated(&again)?.0, first, "the owner while active");
    k.finish(&job, "t", completed(), k.t0 + 5).await?;
    ensure_eq!(
        owner(&k, "k", k.t0 + 6).await?,
        None,
        "owner once completed"
    );
    let next = created(&add(&k, "fourth", with(Deduplication::new("k")), k.t0 + 7).await?)?;
    ensure_eq!(next, JobId::from("4"), "the new job's id");
    ensure_eq!(owner(&k, "k", k.t0 + 8).await?, Some(next), "the new owner");
    Ok(())
}

/// A failure that is retried keeps the id owned; the final failure releases it.
pub async fn a_final_failure_releases_the_id_a_retried_one_does_not(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let first = created(&add(&k, "first", with(Deduplication::new("k")).attempts(2), k.t0).await?)?;
    let job = take(&k, &first, k.t0 + 1).await?;
    k.finish(&job, "t", failed(Retry::Now), k.t0 + 2).await?;
    let answer = add(&k, "retried", with(Deduplication::new("k")), k.t0 + 3).await?;
    ensure_eq!(
        deduplicated(&answer)?.0,
        first,
        "owner after a retried failure"
    );
    let job = take(&k, &first, k.t0 + 4).await?;
    k.finish(&job, "t", failed_for_good(), k.t0 + 5).await?;
    created(&add(&k, "after", with(Deduplication::new("k")), k.t0 + 6).await?)?;
    Ok(())
}

/// Throttle: the id stays owned for its window after the add, even once the owner completed
/// (and when its record is gone the answer still names it); after the window the add makes a
/// new job.
pub async fn a_throttle_window_outlives_its_job_and_ends_with_the_clock(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let throttle = || with(Deduplication::throttle("k", Duration::from_secs(60)));
    let first = created(&add(&k, "first", throttle(), k.t0).await?)?;
    let job = take(&k, &first, k.t0 + SEC).await?;
    k.finish(&job, "t", completed(), k.t0 + 2 * SEC).await?;
    let answer = add(&k, "inside", throttle(), k.t0 + 30 * SEC).await?;
    ensure_eq!(
        deduplicated(&answer)?,
        (first.clone(), JobId::from("2"), Some("first".to_owned())),
        "an add inside the window"
    );
    k.store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: first.clone(),
            now: k.t0 + 31 * SEC,
        })
        .await?;
    // a removal releases the id, window or not
    let second = created(&add(&k, "second", throttle(), k.t0 + 32 * SEC).await?)?;
    let answer = add(&k, "inside again", throttle(), k.t0 + 91 * SEC).await?;
    ensure_eq!(deduplicated(&answer)?.0, second, "owner 59 s after its add");
    ensure_eq!(
        owner(&k, "k", k.t0 + 92 * SEC).await?,
        None,
        "owner once the window passed"
    );
    created(&add(&k, "after", throttle(), k.t0 + 92 * SEC).await?)?;
    Ok(())
}

/// Extend: each deduplicated add restarts the window.
pub async fn extend_restarts_the_window_at_each_deduplicated_add(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let extend = || with(Deduplication::throttle("k", Duration::from_secs(10)).extend(true));
    let first = created(&add(&k, "first", extend(), k.t0).await?)?;
    for at in [8, 16, 24] {
        let answer = add(&k, "again", extend(), k.t0 + at * SEC).await?;
        ensure_eq!(deduplicated(&answer)?.0, first, "owner at +{at} s");
    }
    ensure_eq!(
        owner(&k, "k", k.t0 + 33 * SEC).await?,
        Some(first),
        "owner 9 s after the last add"
    );
    created(&add(&k, "after", extend(), k.t0 + 35 * SEC).await?)?;
    Ok(())
}

/// Debounce (extend + replace, with a delay): an add while the owner is delayed removes it
/// (`removed {prev: delayed}`) and stands in its place with its own data and a fresh delay;
/// the event names the new job as the one that stands.
pub async fn debounce_replaces_the_delayed_job_and_restarts_its_delay(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let window = Duration::from_secs(5);
    let debounce = || {
        JobOptions::new()
            .delay(window)
            .deduplication(Deduplication::debounce("k", window))
    };
    let first = created(&add(&k, "first", debounce(), k.t0).await?)?;
    let answer = add(&k, "second", debounce(), k.t0 + 3 * SEC).await?;
    let AddedJob::Created {
        id: second,
        state: JobState::Delayed,
    } = answer
    else {
        bail!("expected the replacing job to be created delayed, got {answer:?}");
    };
    ensure!(
        k.try_get(&first).await?.is_none(),
        "the replaced job {first} still exists"
    );
    ensure!(
        k.job_events(&first).await?.contains(&Event::Removed {
            job_id: first.clone(),
            prev: Some(JobState::Delayed)
        }),
        "no removed {{prev: delayed}} event for {first}"
    );
    ensure_eq!(
        dedup_events(&k).await?,
        vec![(second.to_string(), "k".to_owned(), first.to_string())],
        "deduplicated events"
    );
    let job = k.get(&second).await?;
    ensure_eq!(
        (job.data.as_str(), job.due_at),
        ("{\"name\":\"second\"}", Some(k.t0 + 8 * SEC)),
        "(data, due) of the job that stands"
    );
    ensure!(
        k.fetch("t", 1, k.t0 + 6 * SEC).await?.jobs.is_empty(),
        "a job ran at +6 s, before the restarted delay ended"
    );
    take(&k, &second, k.t0 + 8 * SEC).await?;
    Ok(())
}

/// Debounce with an owner that already started (its window, longer than its delay, still
/// holds): it is kept, as without replace.
pub async fn debounce_keeps_an_owner_that_already_started(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let debounce = || {
        JobOptions::new()
            .delay(Duration::from_secs(5))
            .deduplication(Deduplication::debounce("k", Duration::from_secs(10)))
    };
    let first = created(&add(&k, "first", debounce(), k.t0).await?)?;
    take(&k, &first, k.t0 + 5 * SEC).await?;
    let answer = add(&k, "second", debounce(), k.t0 + 6 * SEC).await?;
    ensure_eq!(
        deduplicated(&answer)?.0,
        first.clone(),
        "the add while the owner runs"
    );
    ensure_eq!(
        k.get(&first).await?.state,
        JobState::Active,
        "owner's state"
    );
    Ok(())
}

/// Keep last if active: adds while the owner waits are deduplicated; adds while it is active
/// are kept aside (the last one wins) and become a job, under the id its add was given, when
/// the owner finishes; that job then owns the id.
pub async fn keep_last_if_active_runs_the_last_add_after_the_owner(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let keep = || with(Deduplication::new("k").keep_last_if_active(true));
    let first = created(&add(&k, "first", keep(), k.t0).await?)?;
    deduplicated(&add(&k, "while waiting", keep(), k.t0 + 1).await?)?;
    let job = take(&k, &first, k.t0 + 2).await?;
    let (_, kept_early, _) = deduplicated(&add(&k, "early", keep(), k.t0 + 3).await?)?;
    let answer = add(&k, "last", keep(), k.t0 + 4).await?;
    let (standing, last, _) = deduplicated(&answer)?;
    ensure_eq!(standing, first, "the owner while active");
    ensure!(
        k.try_get(&kept_early).await?.is_none() && k.try_get(&last).await?.is_none(),
        "a kept-aside add was written before its owner finished"
    );
    k.finish(&job, "t", completed(), k.t0 + 5).await?;
    let next = k.get(&last).await?;
    ensure_eq!(
        (next.name.as_str(), next.state),
        ("last", JobState::Waiting),
        "(name, state) of the job written once the owner completed"
    );
    ensure!(
        k.try_get(&kept_early).await?.is_none(),
        "the earlier kept-aside add {kept_early} was written too"
    );
    ensure_eq!(
        owner(&k, "k", k.t0 + 6).await?,
        Some(last.clone()),
        "the new owner"
    );
    let answer = add(&k, "after", keep(), k.t0 + 7).await?;
    ensure_eq!(deduplicated(&answer)?.0, last, "owner of the next add");
    Ok(())
}

/// Removing the owner, draining or cleaning it releases its id; the facet releases an id
/// (only while the named job owns it, when one is named).
pub async fn removals_and_the_facet_release_the_id(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let simple = |id: &str| with(Deduplication::new(id));
    let a = created(&add(&k, "a", simple("a"), k.t0).await?)?;
    k.store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: a,
            now: k.t0 + 1,
        })
        .await?;
    created(&add(&k, "a again", simple("a"), k.t0 + 2).await?)?;
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: false,
        })
        .await?;
    created(&add(&k, "a after a drain", simple("a"), k.t0 + 3).await?)?;
    k.store
        .queue_clean(CleanQueue {
            queue: k.queue.clone(),
            state: JobState::Waiting,
            grace: Duration::ZERO,
            limit: 0,
            now: k.t0 + 4,
        })
        .await?;
    let b = created(&add(&k, "b", simple("b"), k.t0 + 5).await?)?;
    let release = |job_id: Option<JobId>| RemoveDeduplicationKey {
        queue: k.queue.clone(),
        dedup_id: "b".to_owned(),
        job_id,
        now: k.t0 + 6,
    };
    ensure!(
        !facet(&k)?
            .dedup_release(release(Some(JobId::from("other"))))
            .await?,
        "a release naming another job released the id"
    );
    ensure_eq!(owner(&k, "b", k.t0 + 6).await?, Some(b.clone()), "owner");
    ensure!(
        facet(&k)?.dedup_release(release(Some(b))).await?,
        "the release naming the owner did nothing"
    );
    ensure!(
        !facet(&k)?.dedup_release(release(None)).await?,
        "a second release found the id owned"
    );
    created(&add(&k, "b again", simple("b"), k.t0 + 7).await?)?;
    Ok(())
}

/// Several adds with one id in one call: the first is written, the others are deduplicated
/// against it; ids of other deduplication ids and plain jobs are unaffected.
pub async fn one_call_with_repeated_ids_writes_the_first_of_each(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let job = |name: &str, dedup: Option<&str>| -> NewJob {
        let options = match dedup {
            Some(id) => with(Deduplication::new(id)),
            None => JobOptions::new(),
        };
        Kit::job(name, options)
    };
    let answers = k
        .add_jobs(
            vec![
                job("x1", Some("x")),
                job("plain", None),
                job("x2", Some("x")),
                job("y1", Some("y")),
                job("x3", Some("x")),
            ],
            k.t0,
        )
        .await?;
    let kinds: Vec<String> = answers
        .iter()
        .map(|a| match a {
            AddedJob::Created { id, .. } => format!("created {id}"),
            AddedJob::Deduplicated { id, rejected, .. } => format!("{rejected} -> {id}"),
            AddedJob::Existing(r) => format!("existing {}", r.id),
        })
        .collect();
    ensure_eq!(
        kinds,
        vec!["created 1", "created 2", "3 -> 1", "created 4", "5 -> 1"],
        "answers"
    );
    ensure_eq!(k.counts().await?.waiting, 3, "waiting jobs");
    Ok(())
}

/// BullMQ refuses a deduplication id on a flow child; the store refuses it too (whoever calls
/// it, not only `Queue`), before anything is written.
pub async fn deduplication_with_a_parent_is_refused(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let parent = created(&add(&k, "parent", JobOptions::new(), k.t0).await?)?;
    let child = with(Deduplication::new("k")).parent(ParentLink::new(k.queue.clone(), parent));
    let added = k
        .store
        .job_add_bulk(AddJobs {
            queue: k.queue.clone(),
            jobs: vec![Kit::job("child", child)],
            now: k.t0 + 1,
        })
        .await;
    ensure!(
        matches!(added, Err(oxq_core::Error::InvalidOptions(_))),
        "the add answered {added:?}"
    );
    ensure_eq!(
        k.counts().await?.waiting,
        1,
        "waiting jobs (the parent only)"
    );
    Ok(())
}
