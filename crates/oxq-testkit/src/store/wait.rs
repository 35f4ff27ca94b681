//! Waiting for work (`queue_wait`): the answer on an empty, a ready and a paused queue, what
//! wakes a blocked waiter (an add, a retry, a promotion, a resume, a delayed add with its due
//! time), and cancel-safety.
//!
//! Time: a wait judges due times by its request's `now`, so a case moves time by passing a
//! later `now`; its timeout is a real duration. A case never sleeps to let a waiter block: it
//! waits until the store's probe shows the waiter blocked ([`Harness::until_blocked`]), and
//! only then makes the change that must wake it.

use std::time::{Duration, Instant};

use oxq_core::backend::{JobAt, SetPaused, WaitForJobs, Wakeup};
use oxq_core::clock::now_ms;
use oxq_core::{JobOptions, Result as StoreResult};

use super::kit::{Kit, failed, fetched_ids, ids};
use crate::support::WAIT;
use crate::{CaseResult, Harness, TestError, bail, ensure, ensure_eq};

/// A wait of `timeout` at the real time now.
fn wait_for(k: &Kit, timeout: Duration) -> WaitForJobs {
    WaitForJobs {
        queue: k.queue.clone(),
        timeout,
        now: now_ms(),
    }
}

/// How long a waiter woken by a change may take to return.
const PROMPT: Duration = Duration::from_secs(5);

/// Starts a 10 s `queue_wait` in a task, waits until the store shows it blocked, runs `act`,
/// and answers the wake-up and how long after `act` began it came.
async fn woken_by<F>(h: &Harness, k: &Kit, act: F) -> CaseResult<(Wakeup, Duration)>
where
    F: AsyncFnOnce() -> CaseResult,
{
    let store = k.store.clone();
    let request = wait_for(k, Duration::from_secs(10));
    let mut waiter = tokio::spawn(async move { store.queue_wait(request).await });
    tokio::select! {
        early = &mut waiter => bail!("the wait answered {early:?} before it blocked"),
        blocked = h.until_blocked(1) => blocked?,
    }
    let started = Instant::now();
    act().await?;
    let woke = tokio::time::timeout(WAIT, waiter)
        .await
        .map_err(|_| TestError::msg("the waiter did not return"))?
        .map_err(|e| TestError::msg(e.to_string()))??;
    Ok((woke, started.elapsed()))
}

fn expect_ready(woke: Wakeup, took: Duration, what: &str) -> CaseResult {
    ensure_eq!(woke, Wakeup::JobsReady, "the wake-up after {what}");
    ensure!(took < PROMPT, "woken {took:?} after {what}");
    Ok(())
}

/// On an empty queue the wait lasts its timeout and answers `TimedOut`.
pub async fn queue_wait_times_out_on_an_empty_queue(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let woke = k.store.queue_wait(wait_for(&k, timeout)).await?;
    let took = started.elapsed();
    ensure_eq!(woke, Wakeup::TimedOut, "the answer");
    // 10 ms of tolerance: a server may round its block time to its own timer.
    ensure!(
        took + Duration::from_millis(10) >= timeout,
        "returned after {took:?}"
    );
    Ok(())
}

/// With a job ready the wait answers `JobsReady` at once.
pub async fn queue_wait_answers_at_once_when_jobs_are_ready(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let started = Instant::now();
    let woke = k
        .store
        .queue_wait(wait_for(&k, Duration::from_secs(10)))
        .await?;
    expect_ready(woke, started.elapsed(), "a ready job")
}

/// An add wakes a blocked waiter.
pub async fn an_add_wakes_a_blocked_waiter(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let (woke, took) = woken_by(h, &k, async || {
        k.add("a", JobOptions::new()).await.map(|_| ())
    })
    .await?;
    expect_ready(woke, took, "an add")
}

/// Takes a wake-up the store may still hold for a job a fetch already took (Redis keeps the
/// marker of the add), so the next wait blocks: answers `JobsReady` for it, or times out.
async fn take_stale_wakeup(k: &Kit) -> CaseResult {
    let stale = k
        .store
        .queue_wait(wait_for(k, Duration::from_millis(100)))
        .await?;
    ensure!(
        matches!(stale, Wakeup::JobsReady | Wakeup::TimedOut),
        "the wait on a queue with nothing to run answered {stale:?}"
    );
    Ok(())
}

/// A failed attempt retried now wakes a blocked waiter.
pub async fn a_retry_wakes_a_blocked_waiter(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new().attempts(2)).await?;
    let fetched = k.fetch("t", 1, k.t0).await?;
    let job = &fetched.jobs[0];
    take_stale_wakeup(&k).await?;
    let (woke, took) = woken_by(h, &k, async || {
        k.finish(job, "t", failed(oxq_core::backend::Retry::Now), now_ms())
            .await
    })
    .await?;
    expect_ready(woke, took, "a retry")
}

/// Promoting a delayed job wakes a blocked waiter.
pub async fn a_promote_wakes_a_blocked_waiter(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k
        .add_at(
            "d",
            JobOptions::new().delay(Duration::from_secs(60)),
            now_ms(),
        )
        .await?;
    let due = k.get(&id).await?.due_at;
    // A store may hint the delayed job's due time to the first wait; take that hint first.
    let hint = k
        .store
        .queue_wait(wait_for(&k, Duration::from_millis(100)))
        .await?;
    ensure!(
        hint == Wakeup::TimedOut || Some(hint) == due.map(Wakeup::DueAt),
        "the wait before the promotion answered {hint:?}"
    );
    let (woke, took) = woken_by(h, &k, async || {
        let at = JobAt {
            queue: k.queue.clone(),
            job_id: id.clone(),
            now: now_ms(),
        };
        Ok(k.store.job_promote(at).await?)
    })
    .await?;
    expect_ready(woke, took, "a promotion")
}

/// A paused queue never answers `JobsReady`, even holding jobs; resuming it wakes a blocked
/// waiter.
pub async fn resume_wakes_a_waiter_blocked_on_a_paused_queue(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let set = |paused| SetPaused {
        queue: k.queue.clone(),
        paused,
        now: now_ms(),
    };
    k.store.queue_set_paused(set(true)).await?;
    let woke = k
        .store
        .queue_wait(wait_for(&k, Duration::from_millis(200)))
        .await?;
    ensure_eq!(woke, Wakeup::TimedOut, "a wait on the paused queue");
    k.add("b", JobOptions::new()).await?;
    let woke = k
        .store
        .queue_wait(wait_for(&k, Duration::from_millis(200)))
        .await?;
    ensure_eq!(
        woke,
        Wakeup::TimedOut,
        "a wait after an add to the paused queue"
    );
    let (woke, took) = woken_by(h, &k, async || {
        Ok(k.store.queue_set_paused(set(false)).await?)
    })
    .await?;
    expect_ready(woke, took, "a resume")
}

/// A delayed job added while a waiter blocks wakes it with the job's due time, once: the next
/// wait (ending before that time) times out instead of answering it again. The job runs when
/// due.
pub async fn a_delayed_add_wakes_a_waiter_with_its_due_time_once(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let mut id = None;
    let (woke, took) = woken_by(h, &k, async || {
        let added = k
            .add_at(
                "d",
                JobOptions::new().delay(Duration::from_secs(5)),
                now_ms(),
            )
            .await?;
        id = Some(added);
        Ok(())
    })
    .await?;
    let id = id.ok_or_else(|| TestError::msg("the delayed job was not added"))?;
    let due = k
        .get(&id)
        .await?
        .due_at
        .ok_or_else(|| TestError::msg("the delayed job has no due time"))?;
    ensure_eq!(woke, Wakeup::DueAt(due), "the wake-up");
    ensure!(took < PROMPT, "woken {took:?} after the add");
    let again = k
        .store
        .queue_wait(wait_for(&k, Duration::from_millis(300)))
        .await?;
    ensure_eq!(
        again,
        Wakeup::TimedOut,
        "the next wait (the hint is not repeated)"
    );
    ensure_eq!(
        k.fetch_ids("t", 1, due).await?,
        vec![id.0],
        "fetched when due"
    );
    Ok(())
}

/// A delayed job due at or before the wait's `now` is ready: the wait answers `JobsReady` at
/// once (no real time passes), and a fetch at that `now` takes the job.
pub async fn a_delayed_job_due_at_the_waits_now_is_ready(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    let id = k
        .add("d", JobOptions::new().delay(Duration::from_secs(60)))
        .await?;
    let due = k.t0 + 60_000;
    let mut request = wait_for(&k, Duration::from_secs(10));
    request.now = due;
    let started = Instant::now();
    let woke = k.store.queue_wait(request).await?;
    expect_ready(woke, started.elapsed(), "a wait at the due time")?;
    ensure_eq!(
        k.fetch_ids("t", 1, due).await?,
        vec![id.0],
        "fetched at the due time"
    );
    Ok(())
}

/// A delayed job that falls due after the wait's timeout is not reported: `DueAt` only hints
/// a due time within the wait (the contract of [`Wakeup::DueAt`]).
pub async fn a_due_time_after_the_timeout_is_not_reported(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add_at(
        "d",
        JobOptions::new().delay(Duration::from_secs(60)),
        now_ms(),
    )
    .await?;
    let woke = k
        .store
        .queue_wait(wait_for(&k, Duration::from_millis(300)))
        .await?;
    ensure_eq!(
        woke,
        Wakeup::TimedOut,
        "a wait of 300 ms with a job due in 60 s"
    );
    Ok(())
}

/// Dropping a wait loses no wake-up, whether it is dropped before or after the change that
/// would have woken it: the next wait answers `JobsReady` and the job is fetched.
pub async fn a_dropped_wait_loses_no_wakeup(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for (round, drop_first) in [(1, false), (2, true)] {
        let mut waiter = Box::pin(k.store.queue_wait(wait_for(&k, Duration::from_secs(10))));
        tokio::select! {
            woke = &mut waiter => bail!("round {round}: the wait returned {woke:?} before any change"),
            blocked = h.until_blocked(1) => blocked?,
        }
        if drop_first {
            drop(waiter);
            k.add_at(&format!("j{round}"), JobOptions::new(), now_ms())
                .await?;
        } else {
            // The add lands while the waiter is blocked; it is dropped without being polled again.
            k.add_at(&format!("j{round}"), JobOptions::new(), now_ms())
                .await?;
            drop(waiter);
        }
        let started = Instant::now();
        let next: StoreResult<Wakeup> = k
            .store
            .queue_wait(wait_for(&k, Duration::from_secs(10)))
            .await;
        expect_ready(
            next?,
            started.elapsed(),
            &format!("round {round}'s dropped wait"),
        )?;
        ensure_eq!(
            fetched_ids(&k.fetch("t", 10, now_ms()).await?),
            ids(&[&round.to_string()]),
            "round {round}: fetched"
        );
    }
    Ok(())
}
