//! The [`Cancellation`] facet: `job_cancel` in every state, and the holder's side of an active
//! job's cancellation (its renewal answers it as cancelled, its finish is refused, no stalled
//! check runs it again). Times are explicit `now`s; a store without the facet skips these cases
//! (and a skip fails).

use std::time::Duration;

use oxq_core::backend::{
    AddFlow, CANCELLED_REASON, CancelJob, CancelOutcome, Cancellation, ExtendLocks, ExtendedLocks,
    FlowNode, JobAt, RecoverStalled,
};
use oxq_core::flow::{ChildFailure, ChildKey, ParentLink};
use oxq_core::{Error, Event, JobId, JobOptions, JobState, LockToken};

use super::kit::{Kit, LOCK, completed, expect_err, failed_for_good, fetched_ids};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

fn facet(k: &Kit) -> CaseResult<&dyn Cancellation> {
    k.store
        .cancellation()
        .ok_or_else(|| TestError::skip("the store has no job cancellation"))
}

async fn cancel(k: &Kit, id: &JobId, now: u64) -> CaseResult<CancelOutcome> {
    Ok(facet(k)?
        .job_cancel(CancelJob {
            queue: k.queue.clone(),
            job_id: id.clone(),
            now,
        })
        .await?)
}

async fn extend(k: &Kit, locks: &[(&JobId, &str)], now: u64) -> CaseResult<ExtendedLocks> {
    Ok(k.store
        .locks_extend(ExtendLocks {
            queue: k.queue.clone(),
            locks: locks
                .iter()
                .map(|(id, token)| ((*id).clone(), LockToken((*token).to_owned())))
                .collect(),
            duration: LOCK,
            now,
        })
        .await?)
}

/// The job is failed as cancelled at `now`, with its attempts as they were.
async fn ensure_cancelled(k: &Kit, id: &JobId, attempts_made: u32, now: u64) -> CaseResult {
    let job = k.get(id).await?;
    ensure_eq!(job.state, JobState::Failed, "state of cancelled job {id}");
    ensure_eq!(
        job.failed_reason.as_deref(),
        Some(CANCELLED_REASON),
        "failed reason"
    );
    ensure_eq!(
        job.stacktrace.last().map(String::as_str),
        Some(CANCELLED_REASON),
        "last error"
    );
    ensure_eq!(job.attempts_made, attempts_made, "attempts made");
    ensure_eq!(job.finished_on, Some(now), "finished on");
    Ok(())
}

/// The job's last two events: `failed` (reason `cancelled`), then `cancelled` from `prev`.
async fn ensure_cancel_events(k: &Kit, id: &JobId, prev: JobState) -> CaseResult {
    let events = k.job_events(id).await?;
    let tail = events.len().saturating_sub(2);
    ensure_eq!(
        events[tail..].to_vec(),
        vec![
            Event::Failed {
                job_id: id.clone(),
                failed_reason: CANCELLED_REASON.to_owned(),
            },
            Event::Cancelled {
                job_id: id.clone(),
                prev,
            },
        ],
        "last events of job {id}"
    );
    Ok(())
}

/// A waiting job is failed as cancelled at once, shows as failed in the counts, and no fetch
/// hands it out.
pub async fn a_waiting_job_is_failed_as_cancelled_and_never_handed_out(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let id = k.add("a", JobOptions::new()).await?;
    let other = k.add("b", JobOptions::new()).await?;
    let outcome = cancel(&k, &id, k.t0 + 5).await?;
    ensure_eq!(
        outcome,
        CancelOutcome::Cancelled {
            prev: JobState::Waiting
        },
        "answer"
    );
    ensure_cancelled(&k, &id, 0, k.t0 + 5).await?;
    ensure_cancel_events(&k, &id, JobState::Waiting).await?;
    let counts = k.counts().await?;
    ensure_eq!(
        (counts.waiting, counts.failed),
        (1, 1),
        "waiting and failed counts"
    );
    ensure_eq!(
        k.fetch_ids("t", 10, k.t0 + 10).await?,
        vec![other.0.clone()],
        "jobs handed out"
    );
    Ok(())
}

/// Delayed and prioritized jobs are cancelled from their own state; the delayed one is not
/// promoted once its due time passes.
pub async fn delayed_and_prioritized_jobs_are_cancelled_from_their_state(
    h: &Harness,
) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let delayed = k
        .add("d", JobOptions::new().delay(Duration::from_secs(60)))
        .await?;
    let prioritized = k.add("p", JobOptions::new().priority(3)).await?;
    ensure_eq!(
        cancel(&k, &delayed, k.t0 + 1).await?,
        CancelOutcome::Cancelled {
            prev: JobState::Delayed
        },
        "delayed answer"
    );
    ensure_eq!(
        cancel(&k, &prioritized, k.t0 + 2).await?,
        CancelOutcome::Cancelled {
            prev: JobState::Prioritized
        },
        "prioritized answer"
    );
    ensure_cancelled(&k, &delayed, 0, k.t0 + 1).await?;
    ensure_cancelled(&k, &prioritized, 0, k.t0 + 2).await?;
    ensure_cancel_events(&k, &delayed, JobState::Delayed).await?;
    ensure_cancel_events(&k, &prioritized, JobState::Prioritized).await?;
    let fetched = k.fetch("t", 10, k.t0 + 120_000).await?;
    ensure!(
        fetched.jobs.is_empty(),
        "cancelled jobs were handed out: {:?}",
        fetched_ids(&fetched)
    );
    ensure_eq!(k.counts().await?.failed, 2, "failed count");
    Ok(())
}

/// An active job is failed at once; its holder's renewal answers it as cancelled (not lost),
/// while its other locks are renewed; its finish is refused and leaves it failed as cancelled;
/// a renewal under another token calls it lost; and no stalled check runs it again.
pub async fn an_active_job_is_failed_and_its_holder_told_at_its_renewal(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let id = k.add("a", JobOptions::new().attempts(3)).await?;
    let kept = k.add("b", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0 + 1).await?;
    ensure_eq!(fetched.jobs.len(), 2, "jobs fetched");
    ensure_eq!(
        cancel(&k, &id, k.t0 + 5).await?,
        CancelOutcome::Requested,
        "answer"
    );
    ensure_cancelled(&k, &id, 0, k.t0 + 5).await?;
    ensure_cancel_events(&k, &id, JobState::Active).await?;
    let renewed = extend(&k, &[(&id, "t"), (&kept, "t")], k.t0 + 6).await?;
    ensure_eq!(renewed.cancelled, vec![id.clone()], "cancelled locks");
    ensure!(renewed.lost.is_empty(), "lost locks: {:?}", renewed.lost);
    let other = extend(&k, &[(&id, "someone-else")], k.t0 + 7).await?;
    ensure_eq!(
        (other.lost, other.cancelled),
        (vec![id.clone()], Vec::new()),
        "another token's renewal (lost, cancelled)"
    );
    let held = fetched
        .jobs
        .iter()
        .find(|j| j.record.id == id)
        .ok_or_else(|| TestError::msg("the cancelled job was not among the fetched"))?;
    let verdict = k
        .finish_many(vec![(held, "t", completed())], k.t0 + 8)
        .await?
        .remove(0);
    expect_err(verdict, "LockLost", |e| matches!(e, Error::LockLost(_)))?;
    ensure_cancelled(&k, &id, 0, k.t0 + 5).await?;
    let recovered = k
        .store
        .stalled_recover(RecoverStalled {
            queue: k.queue.clone(),
            max_stalled_count: 1,
            interval: Duration::from_millis(1),
            now: k.t0 + 3_600_000,
        })
        .await?;
    ensure!(
        !recovered.job_ids.contains(&id),
        "a stalled check recovered the cancelled job"
    );
    ensure_eq!(
        k.get(&id).await?.state,
        JobState::Failed,
        "state at the end"
    );
    Ok(())
}

/// A completed or failed job is left alone, and an unknown id is answered as such; neither
/// writes a `cancelled` event.
pub async fn finished_and_unknown_jobs_are_left_alone(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let done = k.add("done", JobOptions::new()).await?;
    let broken = k.add("broken", JobOptions::new()).await?;
    let fetched = k.fetch("t", 2, k.t0 + 1).await?;
    ensure_eq!(fetched.jobs.len(), 2, "jobs fetched");
    k.finish(&fetched.jobs[0], "t", completed(), k.t0 + 2)
        .await?;
    k.finish(&fetched.jobs[1], "t", failed_for_good(), k.t0 + 2)
        .await?;
    ensure_eq!(
        cancel(&k, &done, k.t0 + 3).await?,
        CancelOutcome::AlreadyFinished {
            state: JobState::Completed
        },
        "completed job"
    );
    ensure_eq!(
        cancel(&k, &broken, k.t0 + 3).await?,
        CancelOutcome::AlreadyFinished {
            state: JobState::Failed
        },
        "failed job"
    );
    ensure_eq!(
        cancel(&k, &JobId::from("no-such-job"), k.t0 + 3).await?,
        CancelOutcome::NotFound,
        "unknown job"
    );
    ensure_eq!(
        k.get(&broken).await?.failed_reason.as_deref(),
        Some("boom"),
        "the failed job's reason"
    );
    let names = k.event_names().await?;
    ensure!(!names.contains(&"cancelled"), "events: {names:?}");
    Ok(())
}

/// A cancelled job runs again only when retried explicitly.
pub async fn a_cancelled_job_runs_again_only_when_retried(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let id = k.add("a", JobOptions::new()).await?;
    cancel(&k, &id, k.t0 + 1).await?;
    k.store
        .job_retry(JobAt {
            queue: k.queue.clone(),
            job_id: id.clone(),
            now: k.t0 + 2,
        })
        .await?;
    ensure_eq!(
        k.fetch_ids("t", 1, k.t0 + 3).await?,
        vec![id.0.clone()],
        "jobs handed out after the retry"
    );
    Ok(())
}

/// A cancelled child is a final failure for its parent's policy: `FailParent` releases the
/// parent to fail naming the child.
pub async fn a_cancelled_child_applies_its_parents_failure_policy(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    facet(&k)?;
    let Some(flows) = k.store.flows() else {
        return Err(TestError::skip(
            "the store has no flows (parent/child jobs)",
        ));
    };
    let parent = JobId::from("p");
    let child = JobId::from("c");
    let link =
        ParentLink::new(k.queue.clone(), parent.clone()).on_failure(ChildFailure::FailParent);
    let nodes = vec![
        FlowNode {
            queue: k.queue.clone(),
            job: Kit::job("p", JobOptions::new().job_id("p")),
            children: 1,
        },
        FlowNode {
            queue: k.queue.clone(),
            job: Kit::job("c", JobOptions::new().job_id("c").parent(link)),
            children: 0,
        },
    ];
    flows.flow_add(AddFlow { nodes, now: k.t0 }).await?;
    ensure_eq!(
        cancel(&k, &child, k.t0 + 1).await?,
        CancelOutcome::Cancelled {
            prev: JobState::Waiting
        },
        "child's answer"
    );
    let reason = format!("child {} failed", ChildKey::new(k.queue.clone(), child));
    let p = k.get(&parent).await?;
    ensure_eq!(p.state, JobState::Waiting, "parent released");
    ensure_eq!(
        p.deferred_failure.as_deref(),
        Some(reason.as_str()),
        "parent's deferred failure"
    );
    Ok(())
}
