//! Every path that moves a job between states keeps a group job in its group: a promote of
//! every delayed job, a signal to a parked job, a dead-letter replay, a debounced add that
//! replaces its delayed owner, a job kept aside by keepLastIfActive; `clean` of waiting,
//! prioritized and delayed jobs, drain, cancel and remove take group jobs out of their groups;
//! group jobs are listed in their states, and a prioritized one counts (and reads) as
//! prioritized. A case that moves a job into its group checks it there by pausing the group:
//! a job left outside its group (in the plain line) would still be fetched.
//!
//! Times are explicit `now`s; a case whose facet a store lacks is skipped (and a skip fails).

use std::time::Duration;

use oxq_core::backend::{
    AddedJob, AttemptEnd, CancelJob, CancelOutcome, CleanQueue, DrainQueue, Fetched, GroupChange,
    ListDeadLetters, PromoteJobs, RemoveJob, ReplayDeadLetters, ReplayedDeadLetter, SaveStep,
    SendSignal, SetDeadLetterQueue, SignalSent,
};
use oxq_core::{Deduplication, JobId, JobOptions, JobState, LockToken};

use super::{add_group, change, info, one};
use crate::store::kit::{Kit, completed, failed_for_good, fetched_ids, ids};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// With group `group` paused nothing is fetched at `now`; once resumed, exactly `expected`,
/// which the answer holds (fetched under the token `freed`).
pub(super) async fn held_by_its_paused_group(
    k: &Kit,
    group: &str,
    now: u64,
    expected: &[&str],
) -> CaseResult<Fetched> {
    change(k, one(group), GroupChange::Pause).await?;
    ensure_eq!(
        k.fetch_ids("held", 10, now).await?,
        Vec::<String>::new(),
        "nothing runs while group {group} is paused"
    );
    change(k, one(group), GroupChange::Resume).await?;
    let freed = k.fetch("freed", 10, now).await?;
    ensure_eq!(
        fetched_ids(&freed),
        ids(expected),
        "group {group}'s jobs after its resume"
    );
    Ok(freed)
}

/// Sorted ids, for answers whose order the case does not fix.
fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

/// A promote of every delayed job (BullMQ promoteJobs) makes the delayed group jobs runnable in
/// their groups beside the plain one: none is left delayed, each group counts its job as
/// waiting, and a paused group keeps its promoted job while the others run.
pub async fn promoting_every_delayed_job_keeps_group_jobs_in_their_groups(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    let later = Duration::from_secs(60);
    k.add("p1", JobOptions::new().job_id("p1").delay(later))
        .await?;
    for (id, group) in [("a1", "a"), ("b1", "b")] {
        k.add(id, JobOptions::new().job_id(id).group(group).delay(later))
            .await?;
    }
    ensure_eq!(k.counts().await?.delayed, 3, "delayed before the promote");
    let moved = k
        .store
        .jobs_promote(PromoteJobs {
            queue: k.queue.clone(),
            limit: 100,
            now: k.t0,
        })
        .await?;
    ensure_eq!(moved.count, 3, "every delayed job promoted");
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.delayed),
        (3, 0),
        "(waiting, delayed) after the promote"
    );
    let a = info(&k, "a", k.t0).await?;
    ensure_eq!(
        (a.waiting, a.delayed),
        (1, 0),
        "group a's (waiting, delayed)"
    );
    ensure_eq!(
        k.get(&JobId::from("a1")).await?.state,
        JobState::Waiting,
        "a1"
    );
    change(&k, one("a"), GroupChange::Pause).await?;
    ensure_eq!(
        k.fetch_ids("t1", 10, k.t0).await?,
        ids(&["p1", "b1"]),
        "long before the delays end: the plain job, then b's; paused a keeps a1"
    );
    change(&k, one("a"), GroupChange::Resume).await?;
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0).await?,
        ids(&["a1"]),
        "a1 after a's resume"
    );
    Ok(())
}

/// A group job parked waiting for a signal (a durable step's wait: a delayed end) is woken by
/// that signal into its group: no longer delayed, waiting in its group.
pub async fn a_signal_wakes_a_parked_group_job_into_its_group(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let steps = k
        .store
        .steps()
        .ok_or_else(|| TestError::skip("the store has no durable steps"))?;
    let id = k
        .add("parked", JobOptions::new().job_id("a1").group("a"))
        .await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let [job] = fetched.jobs.as_slice() else {
        return Err(TestError::msg(format!(
            "fetched {:?}",
            fetched_ids(&fetched)
        )));
    };
    steps
        .step_save(SaveStep {
            queue: k.queue.clone(),
            job_id: id.clone(),
            token: LockToken("t".to_owned()),
            name: "wait".to_owned(),
            entry: "{}".to_owned(),
            waits_for: Some("go".to_owned()),
        })
        .await?;
    let far = k.t0 + 3_600_000;
    k.finish(job, "t", AttemptEnd::Delayed { until: far }, k.t0 + 1)
        .await?;
    let a = info(&k, "a", k.t0 + 2).await?;
    ensure_eq!(
        (a.waiting, a.active, a.delayed),
        (0, 0, 1),
        "group a while parked"
    );
    let sent = steps
        .job_signal(SendSignal {
            queue: k.queue.clone(),
            job_id: id.clone(),
            name: "go".to_owned(),
            payload: "1".to_owned(),
            now: k.t0 + 5,
        })
        .await?;
    ensure_eq!(
        sent,
        SignalSent { woke: true },
        "the awaited signal wakes the job"
    );
    ensure_eq!(k.get(&id).await?.state, JobState::Waiting, "the woken job");
    ensure_eq!(k.counts().await?.delayed, 0, "nothing left delayed");
    let a = info(&k, "a", k.t0 + 5).await?;
    ensure_eq!((a.waiting, a.delayed), (1, 0), "group a after the signal");
    held_by_its_paused_group(&k, "a", k.t0 + 10, &["a1"]).await?;
    Ok(())
}

/// A dead-letter replay of a group job adds it back to its source queue in its group: the
/// replay's options name the group, the group counts it waiting, and a pause of the group
/// holds it.
pub async fn a_replayed_group_job_goes_back_to_its_group(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let dead_letters = k
        .store
        .dead_letters()
        .ok_or_else(|| TestError::skip("the store has no dead letter queues"))?;
    let dlq = k.sibling(h, "dead")?;
    dead_letters
        .dead_letter_queue_set(SetDeadLetterQueue {
            queue: k.queue.clone(),
            target: Some(dlq.queue.clone()),
        })
        .await?;
    k.add(
        "doomed",
        JobOptions::new().job_id("a1").group("a").attempts(1),
    )
    .await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let [job] = fetched.jobs.as_slice() else {
        return Err(TestError::msg(format!(
            "fetched {:?}",
            fetched_ids(&fetched)
        )));
    };
    k.finish(job, "t", failed_for_good(), k.t0 + 1).await?;
    let entries = dead_letters
        .dead_letters_list(ListDeadLetters {
            queue: dlq.queue.clone(),
            offset: 0,
            limit: 10,
        })
        .await?;
    let [entry] = entries.as_slice() else {
        return Err(TestError::msg(format!("{} dead jobs", entries.len())));
    };
    let answers = dead_letters
        .dead_letters_replay(ReplayDeadLetters {
            queue: dlq.queue.clone(),
            ids: vec![entry.record.id.clone()],
            now: k.t0 + 2,
        })
        .await?;
    let [ReplayedDeadLetter::Replayed { job_id, .. }] = answers.as_slice() else {
        return Err(TestError::msg(format!("replay answered {answers:?}")));
    };
    let replayed = k.get(job_id).await?;
    ensure_eq!(
        replayed.options.group.as_deref(),
        Some("a"),
        "the replay's group"
    );
    ensure_eq!(replayed.state, JobState::Waiting, "the replay's state");
    let counts = k.counts().await?;
    ensure_eq!((counts.waiting, counts.failed), (1, 1), "(waiting, failed)");
    ensure_eq!(
        info(&k, "a", k.t0 + 2).await?.waiting,
        1,
        "group a's waiting"
    );
    held_by_its_paused_group(&k, "a", k.t0 + 3, &[job_id.0.as_str()]).await?;
    Ok(())
}

/// Debounce (replace + extend) of a delayed group job: the add replaces the delayed owner,
/// and the job that stands is delayed in its group, due at the restarted delay.
pub async fn a_debounced_group_job_is_replaced_and_stays_delayed_in_its_group(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    let window = Duration::from_secs(5);
    let debounce = || {
        JobOptions::new()
            .group("a")
            .delay(window)
            .deduplication(Deduplication::debounce("k", window))
    };
    let first = k.add_at("first", debounce(), k.t0).await?;
    let second = k.add_at("second", debounce(), k.t0 + 3_000).await?;
    ensure!(
        k.try_get(&first).await?.is_none(),
        "the replaced job {first} still exists"
    );
    let job = k.get(&second).await?;
    ensure_eq!(
        (job.state, job.due_at, job.options.group.as_deref()),
        (JobState::Delayed, Some(k.t0 + 8_000), Some("a")),
        "(state, due, group) of the job that stands"
    );
    ensure_eq!(k.counts().await?.delayed, 1, "one delayed job");
    let a = info(&k, "a", k.t0 + 3_000).await?;
    ensure_eq!(
        (a.waiting, a.delayed),
        (0, 1),
        "group a's (waiting, delayed)"
    );
    ensure_eq!(
        k.fetch_ids("t1", 10, k.t0 + 6_000).await?,
        Vec::<String>::new(),
        "nothing before the restarted delay ends"
    );
    held_by_its_paused_group(&k, "a", k.t0 + 8_000, &[second.0.as_str()]).await?;
    Ok(())
}

/// keepLastIfActive: the add made while the group owner runs is kept aside, and becomes a job
/// of the same group once the owner finishes.
pub async fn a_group_job_kept_aside_runs_in_its_group_after_the_owner(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let keep_last = || {
        JobOptions::new()
            .group("a")
            .deduplication(Deduplication::new("k").keep_last_if_active(true))
    };
    k.add_at("first", keep_last(), k.t0).await?;
    let fetched = k.fetch("t1", 1, k.t0).await?;
    let [owner] = fetched.jobs.as_slice() else {
        return Err(TestError::msg(format!(
            "fetched {:?}",
            fetched_ids(&fetched)
        )));
    };
    let answer = k
        .add_jobs(vec![Kit::job("second", keep_last())], k.t0 + 1)
        .await?;
    ensure!(
        matches!(answer.as_slice(), [AddedJob::Deduplicated { .. }]),
        "the add while the owner runs is deduplicated: {answer:?}"
    );
    k.finish(owner, "t1", completed(), k.t0 + 2).await?;
    ensure_eq!(k.counts().await?.waiting, 1, "the kept add waits");
    ensure_eq!(info(&k, "a", k.t0 + 2).await?.waiting, 1, "in group a");
    change(&k, one("a"), GroupChange::Pause).await?;
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 3).await?,
        Vec::<String>::new(),
        "nothing runs while group a is paused"
    );
    change(&k, one("a"), GroupChange::Resume).await?;
    let next = k.fetch("t3", 10, k.t0 + 3).await?;
    let names: Vec<(&str, Option<&str>)> = next
        .jobs
        .iter()
        .map(|j| (j.record.name.as_str(), j.record.options.group.as_deref()))
        .collect();
    ensure_eq!(
        names,
        vec![("second", Some("a"))],
        "the kept add, in group a"
    );
    Ok(())
}

/// Adds `p1` (waiting, no group), and in group `a` `a1` (waiting), `a2` (prioritized) and `a3`
/// (delayed a minute), and `b1` (waiting) in group `b`: a job of each runnable or delayed state.
async fn add_one_of_each(k: &Kit) -> CaseResult {
    k.add("p1", JobOptions::new().job_id("p1")).await?;
    k.add("a1", JobOptions::new().job_id("a1").group("a"))
        .await?;
    k.add("a2", JobOptions::new().job_id("a2").group("a").priority(2))
        .await?;
    k.add(
        "a3",
        JobOptions::new()
            .job_id("a3")
            .group("a")
            .delay(Duration::from_secs(60)),
    )
    .await?;
    k.add("b1", JobOptions::new().job_id("b1").group("b"))
        .await?;
    Ok(())
}

/// `clean` reaches group jobs: waiting ones (not the prioritized), prioritized ones, delayed
/// ones; the groups keep counting only what is left, and nothing cleaned runs later.
pub async fn clean_removes_waiting_prioritized_and_delayed_group_jobs(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_one_of_each(&k).await?;
    let clean = |state| CleanQueue {
        queue: k.queue.clone(),
        state,
        grace: Duration::ZERO,
        limit: 0,
        now: k.t0,
    };
    let cleaned = k.store.queue_clean(clean(JobState::Waiting)).await?;
    ensure_eq!(
        sorted(cleaned.ids.iter().map(|id| id.0.clone()).collect()),
        ids(&["a1", "b1", "p1"]),
        "clean of waiting jobs"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.prioritized, counts.delayed),
        (0, 1, 1),
        "(waiting, prioritized, delayed) after cleaning the waiting jobs"
    );
    ensure_eq!(info(&k, "b", k.t0).await?.waiting, 0, "group b is empty");
    let cleaned = k.store.queue_clean(clean(JobState::Prioritized)).await?;
    ensure_eq!(
        cleaned.ids,
        vec![JobId::from("a2")],
        "clean of prioritized jobs"
    );
    ensure_eq!(
        k.fetch_ids("t1", 10, k.t0).await?,
        Vec::<String>::new(),
        "nothing runnable is left"
    );
    let cleaned = k.store.queue_clean(clean(JobState::Delayed)).await?;
    ensure_eq!(
        cleaned.ids,
        vec![JobId::from("a3")],
        "clean of delayed jobs"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.prioritized, counts.delayed),
        (0, 0, 0),
        "(waiting, prioritized, delayed) at the end"
    );
    let a = info(&k, "a", k.t0).await?;
    ensure_eq!(
        (a.waiting, a.active, a.delayed),
        (0, 0, 0),
        "group a at the end"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 60_000).await?,
        Vec::<String>::new(),
        "nothing runs once the cleaned delay would have ended"
    );
    Ok(())
}

/// Drain removes the group jobs waiting or prioritized in their groups, and the delayed ones
/// when asked, as it does plain jobs; an active group job stays.
pub async fn drain_removes_group_jobs_too(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a0", JobOptions::new().job_id("a0").group("a"))
        .await?;
    ensure_eq!(k.fetch_ids("t1", 1, k.t0).await?, ids(&["a0"]), "a0 runs");
    add_one_of_each(&k).await?;
    let drain = |include_delayed| DrainQueue {
        queue: k.queue.clone(),
        include_delayed,
    };
    let drained = k.store.queue_drain(drain(false)).await?;
    ensure_eq!(drained.count, 4, "p1, a1, a2 and b1 drained");
    let counts = k.counts().await?;
    ensure_eq!(
        (
            counts.waiting,
            counts.prioritized,
            counts.delayed,
            counts.active
        ),
        (0, 0, 1, 1),
        "(waiting, prioritized, delayed, active) after the drain"
    );
    let a = info(&k, "a", k.t0).await?;
    ensure_eq!(
        (a.waiting, a.active, a.delayed),
        (0, 1, 1),
        "group a after the drain"
    );
    ensure!(k.try_get(&JobId::from("a1")).await?.is_none(), "a1 is gone");
    let drained = k.store.queue_drain(drain(true)).await?;
    ensure_eq!(drained.count, 1, "a3 drained with the delayed jobs");
    ensure_eq!(info(&k, "a", k.t0).await?.delayed, 0, "group a's delayed");
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 60_000).await?,
        Vec::<String>::new(),
        "nothing runs once the drained delay would have ended"
    );
    Ok(())
}

/// Group jobs are listed in their states (waiting, prioritized, delayed) beside the plain ones,
/// pages running across both.
pub async fn group_jobs_are_listed_in_their_states(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    add_one_of_each(&k).await?;
    ensure_eq!(
        k.list(&[JobState::Waiting], 0, 10, true).await?,
        ids(&["p1", "a1", "b1"]),
        "waiting, next to run first"
    );
    ensure_eq!(
        k.list(&[JobState::Waiting], 0, 10, false).await?,
        ids(&["b1", "a1", "p1"]),
        "waiting, newest first"
    );
    ensure_eq!(
        k.list(&[JobState::Waiting], 1, 1, true).await?,
        ids(&["a1"]),
        "a page of one after the first"
    );
    ensure_eq!(
        k.list(&[JobState::Prioritized], 0, 10, true).await?,
        ids(&["a2"]),
        "prioritized"
    );
    let delayed = k
        .store
        .jobs_list(oxq_core::backend::ListJobs {
            queue: k.queue.clone(),
            states: vec![JobState::Delayed],
            offset: 0,
            limit: 10,
            ascending: true,
        })
        .await?;
    let listed: Vec<(&str, JobState, Option<u64>)> = delayed
        .iter()
        .map(|r| (r.id.0.as_str(), r.state, r.due_at))
        .collect();
    ensure_eq!(
        listed,
        vec![("a3", JobState::Delayed, Some(k.t0 + 60_000))],
        "delayed, with its due time"
    );
    Ok(())
}

/// A group job with a priority counts and reads as prioritized, one without as waiting.
pub async fn a_prioritized_group_job_counts_as_prioritized(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a1", JobOptions::new().job_id("a1").group("a").priority(3))
        .await?;
    k.add("a2", JobOptions::new().job_id("a2").group("a"))
        .await?;
    k.add("b1", JobOptions::new().job_id("b1").group("b").priority(1))
        .await?;
    k.add("p1", JobOptions::new().job_id("p1").priority(1))
        .await?;
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.prioritized),
        (1, 3),
        "(waiting, prioritized)"
    );
    for (id, state) in [
        ("a1", JobState::Prioritized),
        ("a2", JobState::Waiting),
        ("b1", JobState::Prioritized),
    ] {
        ensure_eq!(k.get(&JobId::from(id)).await?.state, state, "{id}'s state");
    }
    Ok(())
}

/// Cancel and remove take a group job out of its group whatever its state (waiting, delayed,
/// active): the group's counts drop, and a cancelled active job frees its group's slot.
pub async fn cancel_and_remove_take_group_jobs_out_of_their_groups(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let cancellation = k
        .store
        .cancellation()
        .ok_or_else(|| TestError::skip("the store has no cancellation"))?;
    k.add(
        "a1",
        JobOptions::new()
            .job_id("a1")
            .group("a")
            .delay(Duration::from_secs(60)),
    )
    .await?;
    add_group(&k, "a", 2..=4).await?;
    change(&k, one("a"), GroupChange::SetConcurrency(1)).await?;
    ensure_eq!(k.fetch_ids("t1", 10, k.t0).await?, ids(&["a2"]), "a2 runs");
    let cancel = |id: &str| CancelJob {
        queue: k.queue.clone(),
        job_id: JobId::from(id),
        now: k.t0 + 1,
    };
    let remove = |id: &str| RemoveJob {
        queue: k.queue.clone(),
        job_id: JobId::from(id),
        now: k.t0 + 1,
    };
    ensure_eq!(
        cancellation.job_cancel(cancel("a3")).await?,
        CancelOutcome::Cancelled {
            prev: JobState::Waiting
        },
        "cancel of waiting a3"
    );
    ensure!(
        k.store.job_remove(remove("a1")).await?.existed,
        "a1 removed"
    );
    let a = info(&k, "a", k.t0 + 1).await?;
    ensure_eq!(
        (a.waiting, a.active, a.delayed),
        (1, 1, 0),
        "group a after the cancel of a3 and the removal of delayed a1"
    );
    ensure_eq!(
        cancellation.job_cancel(cancel("a2")).await?,
        CancelOutcome::Requested,
        "cancel of active a2"
    );
    ensure_eq!(
        info(&k, "a", k.t0 + 1).await?.active,
        0,
        "a2's slot is free"
    );
    ensure_eq!(
        k.fetch_ids("t2", 10, k.t0 + 1).await?,
        ids(&["a4"]),
        "a4 takes a's only slot"
    );
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.delayed, counts.failed),
        (0, 0, 2),
        "(waiting, delayed, failed): a2 and a3 cancelled"
    );
    Ok(())
}
