//! The [`Steps`] facet: a job's step entries and signals as the store keeps them. Entries are
//! written under the job's lock only; a signal is kept whenever it comes, answered to a save
//! that starts waiting for it, and wakes a delayed job that waits for it (and no other); every
//! way a job is deleted deletes its steps too (a job added again with the same id starts with
//! none). A park (a delayed end) of a job whose awaited signal came while it was active runs
//! it at once instead. Times are explicit `now`s; a store without the facet skips these cases
//! (and a skip fails).

use oxq_core::backend::{
    AttemptEnd, CleanQueue, DrainQueue, JobStepEntries, ObliterateQueue, ReadSteps, RemoveJob,
    Retry, SaveStep, SavedStep, SendSignal, SignalSent, Steps,
};
use oxq_core::{Error, Event, JobId, JobOptions, JobState, KeepJobs, LockToken};

use super::kit::{Kit, completed, completed_keeping, expect_err, failed};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn facet(k: &Kit) -> CaseResult<&dyn Steps> {
    k.store
        .steps()
        .ok_or_else(|| TestError::skip("the store has no durable steps"))
}

async fn read(k: &Kit, id: &JobId) -> CaseResult<Option<JobStepEntries>> {
    Ok(facet(k)?
        .steps_read(ReadSteps {
            queue: k.queue.clone(),
            job_id: id.clone(),
        })
        .await?)
}

async fn save(
    k: &Kit,
    id: &JobId,
    token: &str,
    name: &str,
    entry: &str,
    waits_for: Option<&str>,
) -> Result<SavedStep, Error> {
    facet(k)
        .map_err(|e| Error::store(e.to_string()))?
        .step_save(SaveStep {
            queue: k.queue.clone(),
            job_id: id.clone(),
            token: LockToken(token.to_owned()),
            name: name.to_owned(),
            entry: entry.to_owned(),
            waits_for: waits_for.map(str::to_owned),
        })
        .await
}

async fn signal(k: &Kit, id: &JobId, name: &str, payload: &str) -> Result<SignalSent, Error> {
    facet(k)
        .map_err(|e| Error::store(e.to_string()))?
        .job_signal(SendSignal {
            queue: k.queue.clone(),
            job_id: id.clone(),
            name: name.to_owned(),
            payload: payload.to_owned(),
            now: k.t0 + 5,
        })
        .await
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// An entry is written only by the holder of the job's lock: not before the job is fetched,
/// not under another token, not for a job that does not exist. Entries read back by name,
/// replaced by a later save of the same name; a job without steps reads as empty, a missing
/// job as `None`.
pub async fn an_entry_is_written_under_the_lock_only(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let id = k.add("a", JobOptions::new()).await?;
    ensure_eq!(
        read(&k, &id).await?,
        Some(JobStepEntries::default()),
        "steps of a job that has none"
    );
    expect_err(
        save(&k, &id, "t", "s", "1", None).await,
        "LockLost before the job is fetched",
        |e| matches!(e, Error::LockLost(_)),
    )?;
    k.fetch("t", 1, k.t0).await?;
    expect_err(
        save(&k, &id, "other", "s", "1", None).await,
        "LockLost under another token",
        |e| matches!(e, Error::LockLost(_)),
    )?;
    let missing = JobId::from("no-such-job");
    expect_err(
        save(&k, &missing, "t", "s", "1", None).await,
        "JobNotFound for a missing job",
        |e| matches!(e, Error::JobNotFound(_)),
    )?;
    ensure_eq!(read(&k, &missing).await?, None, "steps of a missing job");
    save(&k, &id, "t", "b", r#"{"done":{"value":2}}"#, None).await?;
    save(&k, &id, "t", "a", r#"{"done":{"value":0}}"#, None).await?;
    save(&k, &id, "t", "a", r#"{"done":{"value":1}}"#, None).await?;
    ensure_eq!(
        read(&k, &id).await?,
        Some(JobStepEntries {
            entries: pairs(&[
                ("a", r#"{"done":{"value":1}}"#),
                ("b", r#"{"done":{"value":2}}"#)
            ]),
            signals: vec![],
        }),
        "entries after three saves"
    );
    Ok(())
}

/// A signal sent before the job waits is kept (to a job in any state, even active) and answered
/// by the save that starts waiting for it; a signal of another name is not.
pub async fn a_signal_sent_before_the_wait_is_answered_by_the_save(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let id = k.add("a", JobOptions::new()).await?;
    ensure_eq!(
        signal(&k, &id, "approved", r#"{"by":"ann"}"#).await?,
        SignalSent { woke: false },
        "a signal to a waiting job"
    );
    k.fetch("t", 1, k.t0).await?;
    let saved = save(&k, &id, "t", "other", "{}", Some("rejected")).await?;
    ensure_eq!(saved.signal, None, "the signal a save waits for, not sent");
    let saved = save(&k, &id, "t", "approval", "{}", Some("approved")).await?;
    ensure_eq!(
        saved.signal.as_deref(),
        Some(r#"{"by":"ann"}"#),
        "the signal a save waits for, sent before"
    );
    let stored = read(&k, &id).await?.unwrap_or_default();
    ensure_eq!(
        stored.signals,
        pairs(&[("approved", r#"{"by":"ann"}"#)]),
        "signals read back"
    );
    Ok(())
}

/// A job parked in delayed waiting for a signal is made runnable by that signal (and only
/// that one), with `waiting{prev: delayed}`; a job delayed for another reason is not moved; a
/// signal to a missing job is refused.
pub async fn a_signal_wakes_a_delayed_job_that_waits_for_it(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let parked = k.add("parked", JobOptions::new()).await?;
    let sleeping = k.add("sleeping", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0).await?;
    save(&k, &parked, "t", "wait", "{}", Some("go")).await?;
    save(&k, &sleeping, "t", "nap", "{}", None).await?;
    let far = k.t0 + 3_600_000;
    for job in &fetched.jobs {
        k.finish(job, "t", AttemptEnd::Delayed { until: far }, k.t0 + 1)
            .await?;
    }
    ensure_eq!(
        signal(&k, &parked, "stop", "1").await?,
        SignalSent { woke: false },
        "a signal the job does not wait for"
    );
    ensure_eq!(
        signal(&k, &sleeping, "go", "1").await?,
        SignalSent { woke: false },
        "a signal to a job delayed for another reason"
    );
    ensure_eq!(
        k.get(&sleeping).await?.state,
        JobState::Delayed,
        "the sleeping job"
    );
    ensure_eq!(
        k.get(&parked).await?.state,
        JobState::Delayed,
        "the parked job before its signal"
    );
    ensure_eq!(
        signal(&k, &parked, "go", r#""now""#).await?,
        SignalSent { woke: true },
        "the signal the job waits for"
    );
    ensure_eq!(
        k.get(&parked).await?.state,
        JobState::Waiting,
        "the parked job after its signal"
    );
    ensure_eq!(
        k.last_event(&parked).await?,
        Event::Waiting {
            job_id: parked.clone(),
            prev: Some(JobState::Delayed),
        },
        "the woken job's last event"
    );
    ensure_eq!(
        signal(&k, &parked, "go", r#""again""#).await?,
        SignalSent { woke: false },
        "the same signal again (the job no longer waits)"
    );
    let again = k.fetch_ids("t2", 5, k.t0 + 10).await?;
    ensure_eq!(
        again,
        vec![parked.to_string()],
        "jobs runnable after the signal"
    );
    expect_err(
        signal(&k, &JobId::from("no-such-job"), "go", "1").await,
        "JobNotFound for a signal to a missing job",
        |e| matches!(e, Error::JobNotFound(_)),
    )?;
    Ok(())
}

/// The other half of the signal handshake: a delayed end (the park) of a job whose awaited
/// signal came while it was still active (the signal could not wake it) does not park it: the
/// same finish makes it runnable at once, `waiting{prev: active}`, and it no longer waits. A
/// job waiting for a signal not sent yet, and one that sleeps with that signal stored but does
/// not wait for it, are parked as asked; the first is then woken by its signal.
pub async fn a_park_after_the_awaited_signal_came_runs_the_job_at_once(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let raced = k.add("raced", JobOptions::new()).await?;
    let parked = k.add("parked", JobOptions::new()).await?;
    let sleeping = k.add("sleeping", JobOptions::new()).await?;
    let fetched = k.fetch("t", 3, k.t0).await?;
    save(&k, &raced, "t", "wait", "{}", Some("go")).await?;
    save(&k, &parked, "t", "wait", "{}", Some("go")).await?;
    save(&k, &sleeping, "t", "nap", "{}", None).await?;
    ensure_eq!(
        signal(&k, &raced, "go", r#""raced""#).await?,
        SignalSent { woke: false },
        "a signal to the active job that waits for it"
    );
    signal(&k, &sleeping, "go", "1").await?;
    let far = k.t0 + 3_600_000;
    for job in &fetched.jobs {
        k.finish(job, "t", AttemptEnd::Delayed { until: far }, k.t0 + 6)
            .await?;
    }
    ensure_eq!(
        k.get(&raced).await?.state,
        JobState::Waiting,
        "the job whose signal came before its park"
    );
    ensure_eq!(
        k.last_event(&raced).await?,
        Event::Waiting {
            job_id: raced.clone(),
            prev: Some(JobState::Active),
        },
        "its last event"
    );
    ensure_eq!(
        k.get(&parked).await?.state,
        JobState::Delayed,
        "the job whose signal has not come"
    );
    ensure_eq!(
        k.get(&sleeping).await?.state,
        JobState::Delayed,
        "the sleeping job that does not wait for the signal it has"
    );
    ensure_eq!(
        signal(&k, &raced, "go", r#""again""#).await?,
        SignalSent { woke: false },
        "the same signal again (the job no longer waits)"
    );
    ensure_eq!(
        k.fetch_ids("t2", 5, k.t0 + 10).await?,
        vec![raced.to_string()],
        "jobs runnable after the finish"
    );
    ensure_eq!(
        signal(&k, &parked, "go", "1").await?,
        SignalSent { woke: true },
        "the signal of the parked job"
    );
    Ok(())
}

/// Gives job `id` (added with that custom id) an entry and a signal, and leaves it as `end`
/// left it.
async fn job_with_steps(k: &Kit, id: &str, end: AttemptEnd) -> CaseResult<JobId> {
    let id = k.add(id, JobOptions::new().job_id(id)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let Some(job) = fetched.jobs.first() else {
        return Err(TestError::msg(format!("job {id} was not fetched")));
    };
    save(k, &id, "t", "s", r#"{"done":{"value":1}}"#, None).await?;
    signal(k, &id, "sig", "1").await?;
    k.finish(job, "t", end, k.t0 + 1).await?;
    Ok(id)
}

/// The job's steps are gone: it is missing, and a job added again with its id has none.
async fn steps_are_gone(k: &Kit, id: &JobId, how: &str) -> CaseResult {
    ensure_eq!(read(k, id).await?, None, "steps of job {id} after {how}");
    k.add(id.as_str(), JobOptions::new().job_id(id.as_str()))
        .await?;
    ensure_eq!(
        read(k, id).await?,
        Some(JobStepEntries::default()),
        "steps of job {id} added again after {how}"
    );
    Ok(())
}

/// Removal, retention on completion, drain, clean and obliterate delete a job's steps and
/// signals with it.
pub async fn steps_are_deleted_with_their_job(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let kept = job_with_steps(&k, "kept", completed()).await?;
    ensure!(
        read(&k, &kept)
            .await?
            .is_some_and(|s| s.entries.len() == 1 && s.signals.len() == 1),
        "a completed job keeps its steps"
    );

    let retained = job_with_steps(&k, "retention", completed_keeping(KeepJobs::None)).await?;
    steps_are_gone(&k, &retained, "retention").await?;
    // the job added again is waiting; drain it away before the next case needs an empty line
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;

    let removed = job_with_steps(&k, "removed", completed()).await?;
    k.store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: removed.clone(),
            now: k.t0 + 2,
        })
        .await?;
    steps_are_gone(&k, &removed, "removal").await?;
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;

    let drained = job_with_steps(&k, "drained", failed(Retry::Now)).await?;
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;
    steps_are_gone(&k, &drained, "drain").await?;
    k.store
        .queue_drain(DrainQueue {
            queue: k.queue.clone(),
            include_delayed: true,
        })
        .await?;

    let cleaned = job_with_steps(
        &k,
        "cleaned",
        failed(Retry::Never {
            keep: KeepJobs::All,
        }),
    )
    .await?;
    k.store
        .queue_clean(CleanQueue {
            queue: k.queue.clone(),
            state: JobState::Failed,
            grace: std::time::Duration::ZERO,
            limit: 0,
            now: k.t0 + 10,
        })
        .await?;
    steps_are_gone(&k, &cleaned, "clean").await?;

    k.store
        .queue_obliterate(ObliterateQueue {
            queue: k.queue.clone(),
            force: true,
        })
        .await?;
    ensure_eq!(
        read(&k, &kept).await?,
        None,
        "steps of job kept after obliterate"
    );
    k.add("kept", JobOptions::new().job_id("kept")).await?;
    ensure_eq!(
        read(&k, &kept).await?,
        Some(JobStepEntries::default()),
        "steps of job kept added again after obliterate"
    );
    Ok(())
}
