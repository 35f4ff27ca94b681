//! Locks and stalled jobs: renewing locks (`locks_extend`), recovering jobs whose lock expired
//! (`stalled_recover`: once, to the front of the line, failing them beyond the limit, at most
//! once per interval), and what an expired lock still allows.
//!
//! Real time: Redis expires lock keys and the stalled-check gate on its own clock (`PX`), not
//! the caller's `now`, so these cases take short locks (tens to hundreds of ms) and let them
//! expire (`outlive_lock`) or poll `stalled_recover` until a recovery shows. Every `now` they
//! pass is the real time, which a store that judges locks by the caller's `now` (SQLite) reads
//! the same. One check recovers every active job whose lock expired (no earlier check needs to
//! have seen it active): a fetch makes a job active and locks it in one step.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxq_core::backend::{ExtendLocks, FinishJobs, RecoverStalled, RemoveJob};
use oxq_core::clock::now_ms;
use oxq_core::{Error, Event, JobId, JobOptions, JobState, LockToken};

use super::kit::{Kit, LOCK, completed, expect_err, failed_for_good, fetched_ids, outlive_lock};
use crate::support::{WAIT, lock, wait_until};
use crate::{CaseResult, Harness, ensure, ensure_eq};

/// A lock short enough to expire within a case.
const SHORT: Duration = Duration::from_millis(200);

/// The reason a job stalled beyond the limit fails with.
const STALLED_TOO_OFTEN: &str = "job stalled more than allowable limit";

fn recover(k: &Kit, max_stalled_count: u32, interval: Duration) -> RecoverStalled {
    RecoverStalled {
        queue: k.queue.clone(),
        max_stalled_count,
        interval,
        now: now_ms(),
    }
}

/// Runs stalled checks (1 ms apart at least) until `id` is recovered; answers every id the
/// checks recovered, in order.
async fn recover_until(k: &Kit, id: &JobId, max_stalled_count: u32) -> CaseResult<Vec<JobId>> {
    let recovered = Mutex::new(Vec::new());
    wait_until(&format!("job {id} to be recovered"), WAIT, || async {
        let found = k
            .store
            .stalled_recover(recover(k, max_stalled_count, Duration::from_millis(1)))
            .await?
            .job_ids;
        let mut all = lock(&recovered);
        all.extend(found);
        Ok(all.contains(id))
    })
    .await?;
    Ok(lock(&recovered).clone())
}

/// `locks_extend` renews only the locks the caller holds and answers the others as lost: a
/// lock held under another token, a job that is not active, an unknown job.
pub async fn locks_extend_reports_the_locks_it_does_not_hold(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let a = k.add("a", JobOptions::new()).await?;
    let b = k.add("b", JobOptions::new()).await?;
    let c = k.add("c", JobOptions::new()).await?;
    k.fetch("t1", 2, k.t0).await?;
    let token = |t: &str| LockToken(t.into());
    let extended = k
        .store
        .locks_extend(ExtendLocks {
            queue: k.queue.clone(),
            locks: vec![
                (a.clone(), token("t1")),
                (b.clone(), token("other")),
                (c.clone(), token("t1")),
                (JobId::from("missing"), token("t1")),
            ],
            duration: Duration::from_secs(60),
            now: k.t0 + 1_000,
        })
        .await?;
    ensure_eq!(
        extended.lost,
        vec![b.clone(), c.clone(), JobId::from("missing")],
        "lost"
    );
    for (id, state) in [
        (&a, JobState::Active),
        (&b, JobState::Active),
        (&c, JobState::Waiting),
    ] {
        ensure_eq!(k.get(id).await?.state, state, "job {id}");
    }
    Ok(())
}

/// A lock renewed for longer outlives its first expiry: stalled checks recover the job whose
/// short lock was not renewed, never the renewed one.
pub async fn an_extended_lock_is_not_recovered_as_stalled(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let kept = k.add("kept", JobOptions::new()).await?;
    let lost = k.add("lost", JobOptions::new()).await?;
    k.fetch_locked("t", 2, SHORT, now_ms()).await?;
    let extended = k
        .store
        .locks_extend(ExtendLocks {
            queue: k.queue.clone(),
            locks: vec![(kept.clone(), LockToken("t".into()))],
            duration: Duration::from_secs(60),
            now: now_ms(),
        })
        .await?;
    ensure!(extended.lost.is_empty(), "lost: {:?}", extended.lost);
    let recovered = recover_until(&k, &lost, 1).await?;
    ensure_eq!(recovered, vec![lost.clone()], "recovered");
    ensure_eq!(
        k.get(&kept).await?.state,
        JobState::Active,
        "the renewed job"
    );
    Ok(())
}

/// A job whose lock expired is recovered once: back to waiting (whatever its priority) at the
/// front of the line, one stall counted, `waiting` (from active) then `stalled` emitted; its
/// old holder can no longer finish it; a job with a live lock is left alone.
pub async fn an_expired_lock_is_recovered_once_to_the_front(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let alive = k.add("alive", JobOptions::new()).await?;
    let stalled = k.add("stalled", JobOptions::new().priority(3)).await?;
    k.fetch("long", 1, now_ms()).await?;
    let fetched = k.fetch_locked("short", 1, SHORT, now_ms()).await?;
    ensure_eq!(
        fetched_ids(&fetched),
        vec![stalled.0.clone()],
        "fetched with a short lock"
    );
    k.add_at("b", JobOptions::new(), now_ms()).await?;
    let recovered = recover_until(&k, &stalled, 1).await?;
    ensure_eq!(recovered, vec![stalled.clone()], "recovered");
    let job = k.get(&stalled).await?;
    ensure_eq!(
        job.state,
        JobState::Waiting,
        "state (recovered to waiting, not prioritized)"
    );
    ensure_eq!(
        (job.stalled_count, job.deferred_failure),
        (1, None),
        "(stalls, deferred failure)"
    );
    let events = k.job_events(&stalled).await?;
    ensure!(
        events.ends_with(&[
            Event::Waiting {
                job_id: stalled.clone(),
                prev: Some(JobState::Active)
            },
            Event::Stalled {
                job_id: stalled.clone()
            },
        ]),
        "events: {events:?}"
    );
    ensure_eq!(
        k.get(&alive).await?.state,
        JobState::Active,
        "the job with a live lock"
    );
    ensure_eq!(
        k.fetch_ids("next", 1, now_ms()).await?,
        vec![stalled.0.clone()],
        "next in line"
    );
    let old = k
        .finish_many(vec![(&fetched.jobs[0], "short", completed())], now_ms())
        .await?;
    expect_err(
        old.into_iter().next().unwrap_or(Ok(())),
        "LockLost for the old holder",
        |e| matches!(e, Error::LockLost(_)),
    )?;
    Ok(())
}

/// One check is enough: the first stalled check of a queue recovers the active job whose lock
/// expired (no earlier check saw it active) and leaves the one whose lock is live.
pub async fn an_expired_lock_is_recovered_by_the_first_check(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let alive = k.add("alive", JobOptions::new()).await?;
    let expired = k.add("expired", JobOptions::new()).await?;
    k.fetch("long", 1, now_ms()).await?;
    k.fetch_locked("short", 1, SHORT, now_ms()).await?;
    // the lock was taken before this moment, on any store's clock
    let locked_by = now_ms();
    outlive_lock(locked_by, SHORT).await;
    let first = k
        .store
        .stalled_recover(recover(&k, 1, Duration::from_secs(60)))
        .await?;
    ensure_eq!(
        first.job_ids,
        vec![expired.clone()],
        "recovered by the queue's first check"
    );
    ensure_eq!(
        (k.get(&expired).await?.state, k.get(&alive).await?.state),
        (JobState::Waiting, JobState::Active),
        "(the expired job, the job with a live lock)"
    );
    Ok(())
}

/// A job is locked in the same step that makes it active: stalled checks run back to back
/// (a 1 ms gate) while jobs are being fetched, alone and by finishes' fetch-next, and never
/// recover one of them.
pub async fn a_job_being_fetched_is_never_recovered(h: &Harness) -> CaseResult {
    const JOBS: usize = 100;
    let k = Kit::new(h);
    let jobs = (0..JOBS)
        .map(|n| Kit::job(&format!("j{n}"), JobOptions::new()))
        .collect();
    k.add_jobs(jobs, now_ms()).await?;
    let fetching = AtomicBool::new(true);
    let fetches = async {
        let result: CaseResult<usize> = async {
            let mut taken = 0;
            while taken < JOBS {
                let fetched = k.fetch(&format!("t{taken}"), 1, now_ms()).await?;
                let Some(job) = fetched.jobs.first() else {
                    break;
                };
                taken += 1;
                // every other job is finished with a fetch-next that takes the following one
                if taken % 2 == 1 && taken < JOBS {
                    let next = k
                        .store
                        .job_finish(FinishJobs {
                            queue: k.queue.clone(),
                            now: now_ms(),
                            items: vec![oxq_core::backend::Finish {
                                job_id: job.record.id.clone(),
                                token: LockToken(format!("t{}", taken - 1)),
                                end: completed(),
                                memo: job.memo.clone(),
                            }],
                            fetch_next: Some(Kit::fetch_spec("next", 1, LOCK)),
                            metrics: None,
                        })
                        .await?;
                    taken += next.fetched.jobs.len();
                }
            }
            Ok(taken)
        }
        .await;
        fetching.store(false, Ordering::SeqCst);
        result
    };
    let checks = async {
        let mut recovered = Vec::new();
        let mut checks = 0u32;
        while fetching.load(Ordering::SeqCst) {
            let found = k
                .store
                .stalled_recover(recover(&k, 1, Duration::from_millis(1)))
                .await?
                .job_ids;
            recovered.extend(found);
            checks += 1;
        }
        CaseResult::Ok((recovered, checks))
    };
    let (taken, checked) = tokio::join!(fetches, checks);
    let (taken, (recovered, checks)) = (taken?, checked?);
    ensure_eq!(taken, JOBS, "jobs fetched");
    ensure!(
        checks > 1,
        "only {checks} stalled checks ran during the fetches"
    );
    ensure!(
        recovered.is_empty(),
        "{} jobs recovered while being fetched: {recovered:?}",
        recovered.len()
    );
    let counts = k.counts().await?;
    ensure_eq!(counts.waiting, 0, "jobs left waiting");
    Ok(())
}

/// A job recovered more often than `max_stalled_count` carries a deferred failure ("job
/// stalled more than allowable limit") that the next fetch hands to its worker; failing the
/// job clears it.
pub async fn stalling_beyond_the_limit_defers_a_failure(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new().attempts(1)).await?;
    for round in 1..=2u32 {
        let fetched = k
            .fetch_locked(&format!("t{round}"), 1, SHORT, now_ms())
            .await?;
        ensure_eq!(fetched_ids(&fetched), vec![id.0.clone()], "fetch {round}");
        recover_until(&k, &id, 1).await?;
    }
    let job = k.get(&id).await?;
    ensure_eq!(job.stalled_count, 2, "stalls");
    ensure_eq!(
        job.deferred_failure.as_deref(),
        Some(STALLED_TOO_OFTEN),
        "deferred failure"
    );
    ensure_eq!(
        job.state,
        JobState::Waiting,
        "state (the next worker fails it)"
    );
    let fetched = k.fetch("t3", 1, now_ms()).await?;
    let record = &fetched
        .jobs
        .first()
        .ok_or_else(|| crate::TestError::msg("nothing fetched"))?
        .record;
    ensure_eq!(
        record.deferred_failure.as_deref(),
        Some(STALLED_TOO_OFTEN),
        "handed to the worker"
    );
    k.finish(&fetched.jobs[0], "t3", failed_for_good(), now_ms())
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.state, job.deferred_failure),
        (JobState::Failed, None),
        "(state, deferred failure) once failed"
    );
    Ok(())
}

/// Stalled checks run at most once per `interval` per queue, whoever asks: a second check
/// within the interval recovers nothing even though a lock expired; one after it does.
pub async fn the_stalled_check_runs_once_per_interval(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let interval = Duration::from_secs(2);
    let id = k.add("a", JobOptions::new()).await?;
    let lock_for = Duration::from_millis(500);
    let taken_at = now_ms();
    k.fetch_locked("t", 1, lock_for, taken_at).await?;
    let first = k.store.stalled_recover(recover(&k, 1, interval)).await?;
    ensure!(
        first.job_ids.is_empty(),
        "a live lock was recovered: {:?}",
        first.job_ids
    );
    outlive_lock(taken_at, lock_for).await;
    let gated = k.store.stalled_recover(recover(&k, 1, interval)).await?;
    ensure!(
        gated.job_ids.is_empty(),
        "a check within the interval recovered {:?}",
        gated.job_ids
    );
    // The gate opens on the real clock (a Redis key with a `PX` expiry): poll until it does.
    let recovered = Mutex::new(Vec::new());
    wait_until(
        "a check after the interval to recover the job",
        WAIT,
        || async {
            let found = k
                .store
                .stalled_recover(recover(&k, 1, interval))
                .await?
                .job_ids;
            lock(&recovered).extend(found);
            Ok(!lock(&recovered).is_empty())
        },
    )
    .await?;
    let after = now_ms();
    ensure!(
        after >= taken_at + 2_000,
        "recovered {} ms after the fetch, within the 2 s interval",
        after - taken_at
    );
    ensure_eq!(
        lock(&recovered).clone(),
        vec![id],
        "recovered after the interval"
    );
    Ok(())
}

/// A job whose lock expired but that nobody recovered can still be finished by its holder.
pub async fn an_expired_lock_nobody_took_is_still_honoured(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let taken_at = now_ms();
    let fetched = k.fetch_locked("t", 1, SHORT, taken_at).await?;
    outlive_lock(taken_at, SHORT).await;
    k.finish(&fetched.jobs[0], "t", completed(), now_ms())
        .await?;
    let job = k.get(&id).await?;
    ensure_eq!(
        (job.state, job.attempts_made),
        (JobState::Completed, 1),
        "(state, attempts made)"
    );
    Ok(())
}

/// An active job whose lock expired is no longer held: it can be removed.
pub async fn an_active_job_whose_lock_expired_can_be_removed(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k.add("a", JobOptions::new()).await?;
    let taken_at = now_ms();
    k.fetch_locked("t", 1, SHORT, taken_at).await?;
    outlive_lock(taken_at, SHORT).await;
    let removed = k
        .store
        .job_remove(RemoveJob {
            queue: k.queue.clone(),
            job_id: id.clone(),
            now: now_ms(),
        })
        .await?;
    ensure!(removed.existed, "the job was not found");
    ensure!(k.try_get(&id).await?.is_none(), "the job is still there");
    ensure_eq!(k.counts().await?.active, 0, "active jobs");
    Ok(())
}
