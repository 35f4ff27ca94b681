//! The [`DeadLetters`](oxq_core::backend::DeadLetters) facet: the setting and its refusals,
//! the copy a failure for good makes in the same step (attempts exhausted, a final failure
//! kept or removed, the deferred failure of a job that stalled too often), nothing for a retried
//! failure or a queue without the setting, replay back to the source queue (the options kept
//! as stored), purge. Data is checked byte for byte with odd JSON formatting. Times are
//! explicit `now`s, except the stalled case, where Redis expires the lock on its own clock
//! ([`outlive_lock`]).

use std::time::Duration;

use oxq_core::backend::{AttemptEnd, NewJob};
use oxq_core::backend::{
    DeadLetter, DeadLetters, ListDeadLetters, OfQueue, PurgeDeadLetters, RecoverStalled,
    ReplayDeadLetters, ReplayedDeadLetter, Retry, SetDeadLetterQueue,
};
use oxq_core::clock::now_ms;
use oxq_core::flow::{ChildFailure, ParentLink};
use oxq_core::{Deduplication, Error, Event, JobId, JobOptions, JobState, KeepJobs, QueueRef};

use super::kit::{Kit, expect_err, fetched_ids, outlive_lock};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// Data in an unusual but valid JSON spelling (spaces, key order, escapes, a non-ASCII
/// character, a big number): a copy must keep every byte.
const ODD_DATA: &str =
    "{ \"z\" :1,\"a\":[1 , 2.50,\"\\u00e9\\n\"] , \"é\":\"ü\",\"n\":12345678901234567890 }";

fn facet(k: &Kit) -> CaseResult<&dyn DeadLetters> {
    k.store
        .dead_letters()
        .ok_or_else(|| TestError::skip("the store has no dead letter queues"))
}

/// The case's queue with its dead letter queue `<queue>-dead` set.
async fn with_dlq(h: &Harness) -> CaseResult<(Kit, Kit)> {
    let k = Kit::new(h);
    let dlq = k.sibling(h, "dead")?;
    facet(&k)?
        .dead_letter_queue_set(SetDeadLetterQueue {
            queue: k.queue.clone(),
            target: Some(dlq.queue.clone()),
        })
        .await?;
    Ok((k, dlq))
}

async fn dead(dlq: &Kit) -> CaseResult<Vec<DeadLetter>> {
    Ok(facet(dlq)?
        .dead_letters_list(ListDeadLetters {
            queue: dlq.queue.clone(),
            offset: 0,
            limit: 100,
        })
        .await?)
}

async fn dead_count(dlq: &Kit) -> CaseResult<u64> {
    Ok(facet(dlq)?
        .dead_letters_count(OfQueue {
            queue: dlq.queue.clone(),
        })
        .await?)
}

/// Adds one job with [`ODD_DATA`] at `t0`.
async fn add_odd(k: &Kit, options: JobOptions) -> CaseResult<JobId> {
    let added = k
        .add_jobs(
            vec![NewJob {
                name: "odd".to_owned(),
                data: ODD_DATA.to_owned(),
                options,
            }],
            k.t0,
        )
        .await?;
    match added.into_iter().next() {
        Some(oxq_core::backend::AddedJob::Created { id, .. }) => Ok(id),
        other => Err(TestError::msg(format!("adding odd answered {other:?}"))),
    }
}

/// Runs the only runnable job once at `now` and ends it with `reason` and `retry`.
async fn fail_once(k: &Kit, token: &str, reason: &str, retry: Retry, now: u64) -> CaseResult {
    let fetched = k.fetch(token, 1, now).await?;
    let [job] = fetched.jobs.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one job to fail, fetched {:?}",
            fetched_ids(&fetched)
        )));
    };
    let end = AttemptEnd::Failed {
        reason: reason.to_owned(),
        retry,
    };
    k.finish(job, token, end, now).await
}

fn never(keep: KeepJobs) -> Retry {
    Retry::Never { keep }
}

/// Attempts exhausted: the dead letter queue holds a `failed` copy with the name, the data
/// byte for byte, the options, both errors, the timestamps and counters, and the source; the
/// source job is failed as usual and its events end `failed`, `retries-exhausted`,
/// `dead-lettered` naming the copy.
pub async fn exhausted_attempts_copy_the_job_to_the_dead_letter_queue(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    let id = add_odd(&k, JobOptions::new().attempts(2).priority(3)).await?;
    fail_once(&k, "t1", "first error", Retry::Now, k.t0 + 10).await?;
    ensure_eq!(
        dead_count(&dlq).await?,
        0,
        "dead jobs after a retried failure"
    );
    fail_once(&k, "t2", "second error", never(KeepJobs::All), k.t0 + 20).await?;

    let source = k.get(&id).await?;
    ensure_eq!(source.state, JobState::Failed, "the source job's state");
    let entries = dead(&dlq).await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    ensure_eq!(&entry.source, &k.queue, "source queue");
    ensure_eq!(&entry.source_id, &id, "source id");
    ensure_eq!(entry.dead_at, k.t0 + 20, "dead_at");
    ensure_eq!((entry.replays, &entry.replayed_as), (0, &None), "replays");
    let copy = &entry.record;
    ensure_eq!(copy.state, JobState::Failed, "the copy's state");
    ensure_eq!(copy.name.as_str(), "odd", "name");
    ensure_eq!(copy.data.as_str(), ODD_DATA, "data, byte for byte");
    ensure_eq!(copy.options.attempts, 2, "options.attempts");
    ensure_eq!(copy.options.priority, 3, "options.priority");
    ensure_eq!(
        copy.stacktrace.clone(),
        vec!["first error".to_owned(), "second error".to_owned()],
        "every attempt's error"
    );
    ensure_eq!(
        copy.failed_reason.as_deref(),
        Some("second error"),
        "failed_reason"
    );
    ensure_eq!(copy.attempts_made, 2, "attempts_made");
    ensure_eq!(
        copy.timestamp,
        source.timestamp,
        "timestamp (when it was added)"
    );
    ensure_eq!(copy.processed_on, Some(k.t0 + 20), "processed_on");
    ensure_eq!(copy.finished_on, Some(k.t0 + 20), "finished_on");
    ensure_eq!(
        dlq.get(&copy.id).await?.data.as_str(),
        ODD_DATA,
        "the copy read as a job"
    );
    ensure_eq!(
        dlq.counts().await?.failed,
        1,
        "the dead letter queue's failed count"
    );
    ensure_eq!(dead_count(&dlq).await?, 1, "dead jobs");

    let events = k.job_events(&id).await?;
    let expected = Event::DeadLettered {
        job_id: id.clone(),
        dead_letter_queue: dlq.queue.name.clone(),
        dead_letter_id: copy.id.clone(),
    };
    ensure_eq!(
        events.last(),
        Some(&expected),
        "the source job's last event"
    );
    let names: Vec<&str> = events.iter().rev().take(3).map(|e| e.name()).collect();
    ensure_eq!(
        names,
        vec!["dead-lettered", "retries-exhausted", "failed"],
        "the last events, newest first"
    );
    Ok(())
}

/// A final failure whose retention removes the job still leaves its copy.
pub async fn a_removed_final_failure_is_still_dead_lettered(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    let id = add_odd(&k, JobOptions::new().attempts(5)).await?;
    fail_once(&k, "t1", "card declined", never(KeepJobs::None), k.t0 + 5).await?;
    ensure!(k.try_get(&id).await?.is_none(), "the source job was kept");
    let entries = dead(&dlq).await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    ensure_eq!(&entry.source_id, &id, "source id");
    ensure_eq!(entry.record.data.as_str(), ODD_DATA, "data");
    ensure_eq!(entry.record.attempts_made, 1, "attempts_made");
    ensure_eq!(entry.record.options.attempts, 5, "options.attempts");
    Ok(())
}

/// Without the setting (never set, or removed) a failure for good copies nothing.
pub async fn a_queue_without_a_dead_letter_queue_copies_nothing(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    let f = facet(&k)?;
    ensure_eq!(
        f.dead_letter_queue_get(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        Some(dlq.queue.clone()),
        "the setting"
    );
    f.dead_letter_queue_set(SetDeadLetterQueue {
        queue: k.queue.clone(),
        target: None,
    })
    .await?;
    ensure_eq!(
        f.dead_letter_queue_get(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        None,
        "the setting once removed"
    );
    let id = k.add("plain", JobOptions::new()).await?;
    fail_once(&k, "t1", "boom", never(KeepJobs::All), k.t0 + 5).await?;
    ensure_eq!(k.get(&id).await?.state, JobState::Failed, "state");
    ensure_eq!(dead_count(&dlq).await?, 0, "dead jobs");
    ensure_eq!(
        dlq.counts().await?.total(),
        0,
        "jobs of the dead letter queue"
    );
    ensure!(
        !k.event_names().await?.contains(&"dead-lettered"),
        "a dead-lettered event without a dead letter queue"
    );
    Ok(())
}

/// The setting is refused for the queue itself and for a queue under another prefix.
pub async fn a_dead_letter_queue_must_be_another_queue_of_the_prefix(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let f = facet(&k)?;
    let refused = |target: QueueRef| {
        f.dead_letter_queue_set(SetDeadLetterQueue {
            queue: k.queue.clone(),
            target: Some(target),
        })
    };
    expect_err(
        refused(k.queue.clone()).await,
        "InvalidOptions for itself",
        |e| matches!(e, Error::InvalidOptions(_)),
    )?;
    let elsewhere = QueueRef::with_prefix(format!("{}x", k.queue.prefix), "dead")?;
    expect_err(
        refused(elsewhere).await,
        "InvalidOptions for another prefix",
        |e| matches!(e, Error::InvalidOptions(_)),
    )?;
    ensure_eq!(
        f.dead_letter_queue_get(OfQueue {
            queue: k.queue.clone()
        })
        .await?,
        None,
        "the setting after refusals"
    );
    Ok(())
}

/// A job that stalled more than `max_stalled_count` times is failed by the next fetch's holder
/// with the stalled reason (as a worker does), and that failure is dead-lettered.
pub async fn a_job_stalled_too_often_is_dead_lettered_with_the_reason(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    let id = add_odd(&k, JobOptions::new().attempts(3)).await?;
    let lock = Duration::from_millis(50);
    let taken_at = now_ms();
    let fetched = k.fetch_locked("dead-worker", 1, lock, taken_at).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![id.0.clone()],
        "taken by the dead worker"
    );
    outlive_lock(taken_at, lock).await;
    let recovered = k
        .store
        .stalled_recover(RecoverStalled {
            queue: k.queue.clone(),
            max_stalled_count: 0,
            interval: Duration::from_millis(1),
            now: now_ms(),
        })
        .await?;
    ensure_eq!(recovered.job_ids, vec![id.clone()], "recovered");
    let now = now_ms();
    let fetched = k.fetch("w2", 1, now).await?;
    let [job] = fetched.jobs.as_slice() else {
        return Err(TestError::msg("the stalled job was not fetched again"));
    };
    let reason = job
        .record
        .deferred_failure
        .clone()
        .ok_or_else(|| TestError::msg("no deferred failure on a job stalled too often"))?;
    ensure!(
        reason.contains("stalled more than allowable limit"),
        "reason {reason:?}"
    );
    let end = AttemptEnd::Failed {
        reason: reason.clone(),
        retry: never(KeepJobs::All),
    };
    k.finish(job, "w2", end, now).await?;
    let entries = dead(&dlq).await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!(
            "expected one dead job, got {entries:?}"
        )));
    };
    ensure_eq!(&entry.source_id, &id, "source id");
    ensure_eq!(
        entry.record.failed_reason.as_deref(),
        Some(reason.as_str()),
        "reason"
    );
    ensure_eq!(entry.record.stalled_count, 1, "stalled_count");
    ensure_eq!(entry.record.data.as_str(), ODD_DATA, "data");
    Ok(())
}

/// A replay adds the dead job back to its source queue as a new runnable job: same name, data
/// byte for byte and options, no attempts or errors; `added`, `waiting` and `replayed` on the
/// source; the dead entry records it. An unknown id is answered `NotFound`.
pub async fn a_replay_adds_the_dead_job_back_to_its_source(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    let id = add_odd(&k, JobOptions::new().attempts(1)).await?;
    fail_once(&k, "t1", "boom", never(KeepJobs::None), k.t0 + 5).await?;
    let dead_id = dead(&dlq)
        .await?
        .first()
        .map(|e| e.record.id.clone())
        .ok_or_else(|| TestError::msg("no dead job"))?;
    let answers = facet(&dlq)?
        .dead_letters_replay(ReplayDeadLetters {
            queue: dlq.queue.clone(),
            ids: vec![dead_id.clone(), JobId::from("nope")],
            now: k.t0 + 50,
        })
        .await?;
    let [
        ReplayedDeadLetter::Replayed { source, job_id },
        ReplayedDeadLetter::NotFound,
    ] = answers.as_slice()
    else {
        return Err(TestError::msg(format!("replay answered {answers:?}")));
    };
    ensure_eq!(source, &k.queue, "the replay's queue");
    ensure!(job_id != &id, "the replay reused the old id {id}");
    let replayed = k.get(job_id).await?;
    ensure_eq!(replayed.state, JobState::Waiting, "state");
    ensure_eq!(replayed.name.as_str(), "odd", "name");
    ensure_eq!(replayed.data.as_str(), ODD_DATA, "data, byte for byte");
    ensure_eq!(
        (
            replayed.attempts_made,
            replayed.stacktrace.len(),
            replayed.stalled_count
        ),
        (0, 0, 0),
        "(attempts_made, errors, stalled_count)"
    );
    ensure_eq!(replayed.options.attempts, 1, "options.attempts");
    ensure_eq!(replayed.timestamp, k.t0 + 50, "timestamp");
    let events = k.job_events(job_id).await?;
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    ensure_eq!(
        names,
        vec!["added", "waiting", "replayed"],
        "events of the replay"
    );
    ensure_eq!(
        events.last(),
        Some(&Event::Replayed {
            job_id: job_id.clone(),
            dead_letter_queue: dlq.queue.name.clone(),
            dead_letter_id: dead_id.clone(),
        }),
        "the replayed event"
    );
    let entry = dead(&dlq).await?.remove(0);
    ensure_eq!(
        (entry.replays, entry.replayed_as),
        (1, Some(job_id.clone())),
        "replays"
    );
    ensure_eq!(
        k.fetch_ids("t2", 5, k.t0 + 60).await?,
        vec![job_id.0.clone()],
        "fetched"
    );
    Ok(())
}

/// A replay keeps the dead job's options as stored, deduplication and delay included, yet
/// runs now and on its own: each replayed job is waiting at once, its options equal its dead
/// copy's, and it owns no deduplication id (an add with the id makes a new job). Two dead
/// jobs: one delayed with a deduplication id, one a flow child (a job cannot have both); the
/// child's replay has whatever parent its dead copy shows (the stores differ there today).
pub async fn a_replay_keeps_the_dead_jobs_options(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    if k.store.flows().is_none() {
        return Err(TestError::skip(
            "the store has no flows (parent/child jobs)",
        ));
    }
    let parents = k.sibling(h, "parents")?;
    let parent = parents.add("p", JobOptions::new()).await?;
    let link = ParentLink::new(parents.queue.clone(), parent).on_failure(ChildFailure::Ignore);
    let delay = Duration::from_secs(10);
    add_odd(
        &k,
        JobOptions::new()
            .attempts(1)
            .delay(delay)
            .deduplication(Deduplication::new("replayed-dedup")),
    )
    .await?;
    add_odd(&k, JobOptions::new().attempts(1).parent(link)).await?;
    let due = k.t0 + 10_000;
    fail_once(&k, "t1", "boom", never(KeepJobs::All), due).await?;
    fail_once(&k, "t2", "boom", never(KeepJobs::All), due).await?;
    let entries = dead(&dlq).await?;
    ensure_eq!(entries.len(), 2, "dead jobs");
    let answers = facet(&dlq)?
        .dead_letters_replay(ReplayDeadLetters {
            queue: dlq.queue.clone(),
            ids: entries.iter().map(|e| e.record.id.clone()).collect(),
            now: due + 50,
        })
        .await?;
    let mut replayed = Vec::new();
    for (entry, answer) in entries.iter().zip(&answers) {
        let ReplayedDeadLetter::Replayed { job_id, .. } = answer else {
            return Err(TestError::msg(format!("replay answered {answers:?}")));
        };
        let job = k.get(job_id).await?;
        ensure_eq!(
            &job.options,
            &entry.record.options,
            "the replayed job's options are its dead copy's"
        );
        ensure_eq!(job.state, JobState::Waiting, "a replay runs now");
        replayed.push(job);
    }
    let deduplicated = replayed
        .iter()
        .find(|j| j.options.deduplication.is_some())
        .ok_or_else(|| TestError::msg("no replayed job kept its deduplication"))?;
    ensure_eq!(deduplicated.options.delay, Some(delay), "options.delay");
    ensure_eq!(
        deduplicated
            .options
            .deduplication
            .as_ref()
            .map(|d| d.id.as_str()),
        Some("replayed-dedup"),
        "options.deduplication"
    );
    let again = k
        .add_jobs(
            vec![Kit::job(
                "again",
                JobOptions::new().deduplication(Deduplication::new("replayed-dedup")),
            )],
            due + 60,
        )
        .await?;
    ensure!(
        matches!(
            again.as_slice(),
            [oxq_core::backend::AddedJob::Created { .. }]
        ),
        "an add with the replayed job's deduplication id made a new job, not {again:?}"
    );
    Ok(())
}

/// A purge deletes the dead jobs named (unknown ids count nothing), or every one, with a
/// `removed` event each; counts follow.
pub async fn a_purge_deletes_the_dead_jobs_named_or_all(h: &Harness) -> CaseResult {
    let (k, dlq) = with_dlq(h).await?;
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        k.add(name, JobOptions::new()).await?;
        fail_once(&k, "t", "boom", never(KeepJobs::All), k.t0 + 10 + i as u64).await?;
    }
    let ids: Vec<JobId> = dead(&dlq).await?.into_iter().map(|e| e.record.id).collect();
    ensure_eq!(ids.len(), 3, "dead jobs");
    let f = facet(&dlq)?;
    let purged = f
        .dead_letters_purge(PurgeDeadLetters {
            queue: dlq.queue.clone(),
            ids: Some(vec![ids[0].clone(), JobId::from("nope")]),
            now: k.t0 + 20,
        })
        .await?;
    ensure_eq!(purged.count, 1, "purged by id");
    ensure!(
        dlq.try_get(&ids[0]).await?.is_none(),
        "a purged copy is kept"
    );
    ensure_eq!(dead_count(&dlq).await?, 2, "dead jobs left");
    let purged = f
        .dead_letters_purge(PurgeDeadLetters {
            queue: dlq.queue.clone(),
            ids: None,
            now: k.t0 + 30,
        })
        .await?;
    ensure_eq!(purged.count, 2, "purged all");
    ensure_eq!(dead_count(&dlq).await?, 0, "dead jobs left");
    ensure_eq!(
        dlq.counts().await?.failed,
        0,
        "failed jobs of the dead letter queue"
    );
    let removed = dlq
        .events()
        .await?
        .iter()
        .filter(|e| matches!(e.event, Event::Removed { .. }))
        .count();
    ensure_eq!(removed, 3, "removed events");
    ensure_eq!(
        k.counts().await?.failed,
        3,
        "the source's failed jobs are untouched"
    );
    Ok(())
}
