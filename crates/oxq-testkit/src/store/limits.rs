//! The [`Limits`](oxq_core::backend::Limits) facet and its rules on the worker's path: global
//! rate limit and concurrency set, read and removed; a fetch takes no more than the limits
//! allow and answers until when a rate-limited queue is limited; a worker limiter counts for
//! every worker; a processor's rate limit puts its job back without using an attempt and
//! limits the whole queue; a manual limit stops every fetch.
//!
//! Windows: SQLite judges a window by the caller's `now`, Redis by the `limiter` key's TTL on
//! its own clock, so a case that needs a window to end lets the real time pass (a window of
//! [`SHORT`]) and passes the real `now` (see [`outlive_lock`], which does exactly that).

use std::time::Duration;

use oxq_core::backend::{
    AttemptEnd, ChangeLimits, Fetch, FetchJobs, Fetched, GetLimits, LimitChange, Limits,
    QueueLimits, RateLimit, RateLimitQueue,
};
use oxq_core::clock::now_ms;
use oxq_core::{Error, Event, JobOptions, JobState};

use super::kit::{Kit, completed, fetched_ids, outlive_lock};
use crate::{CaseResult, Harness, TestError, ensure, ensure_eq};

/// A window long enough never to end inside a case.
const LONG: Duration = Duration::from_secs(60);
/// A window a case waits out in real time (Redis expires the `limiter` key on its own clock).
const SHORT: Duration = Duration::from_millis(300);

fn facet(k: &Kit) -> CaseResult<&dyn Limits> {
    k.store
        .limits()
        .ok_or_else(|| TestError::msg(format!("the {} store has no Limits facet", k.store.kind())))
}

async fn change(k: &Kit, change: LimitChange) -> oxq_core::Result<()> {
    facet(k)
        .map_err(|e| Error::store(e.to_string()))?
        .limits_change(ChangeLimits {
            queue: k.queue.clone(),
            change,
        })
        .await
}

async fn read(k: &Kit, now: u64) -> CaseResult<QueueLimits> {
    Ok(facet(k)?
        .limits_get(GetLimits {
            queue: k.queue.clone(),
            now,
        })
        .await?)
}

/// A fetch by a worker with `limiter`.
async fn fetch_limited(
    k: &Kit,
    token: &str,
    max: u32,
    limiter: Option<RateLimit>,
    now: u64,
) -> CaseResult<Fetched> {
    let fetch = Fetch {
        limiter,
        ..Kit::fetch_spec(token, max, super::kit::LOCK)
    };
    Ok(k.store
        .job_move_to_active(FetchJobs {
            queue: k.queue.clone(),
            fetch,
            now,
        })
        .await?)
}

/// `until` is a limit's end seen at `now` for a window of `window`: after now, at most the
/// window later (Redis answers now + the key's TTL).
fn ends_within(until: Option<u64>, now: u64, window: Duration, what: &str) -> CaseResult {
    let Some(until) = until else {
        return Err(TestError::msg(format!("{what}: no rate limit answered")));
    };
    let latest = now + oxq_core::clock::millis(window);
    ensure!(
        until > now && until <= latest,
        "{what}: the limit ends at {until}, expected in ({now}, {latest}]"
    );
    Ok(())
}

pub async fn limits_are_set_read_and_removed(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    ensure_eq!(
        read(&k, k.t0).await?,
        QueueLimits::default(),
        "a new queue's limits"
    );
    let limit = RateLimit::new(5, Duration::from_millis(1500));
    change(&k, LimitChange::SetRateLimit(limit)).await?;
    change(&k, LimitChange::SetConcurrency(3)).await?;
    let limits = read(&k, k.t0).await?;
    ensure_eq!(limits.rate_limit, Some(limit), "the rate limit read back");
    ensure_eq!(limits.concurrency, Some(3), "the concurrency read back");
    ensure_eq!(
        limits.rate_limited_until,
        None,
        "a queue that started nothing"
    );
    change(&k, LimitChange::RemoveRateLimit).await?;
    let limits = read(&k, k.t0).await?;
    ensure_eq!(limits.rate_limit, None, "the rate limit after its removal");
    ensure_eq!(
        limits.concurrency,
        Some(3),
        "the concurrency is left as it was"
    );
    change(&k, LimitChange::RemoveConcurrency).await?;
    ensure_eq!(
        read(&k, k.t0).await?,
        QueueLimits::default(),
        "after both removals"
    );
    for bad in [
        LimitChange::SetRateLimit(RateLimit::new(0, LONG)),
        LimitChange::SetRateLimit(RateLimit::new(3, Duration::ZERO)),
        LimitChange::SetConcurrency(0),
    ] {
        match change(&k, bad).await {
            Err(Error::InvalidOptions(_)) => {}
            other => return Err(TestError::msg(format!("{bad:?} answered {other:?}"))),
        }
    }
    ensure_eq!(
        read(&k, k.t0).await?,
        QueueLimits::default(),
        "after refused changes"
    );
    Ok(())
}

pub async fn a_global_rate_limit_caps_starts_per_window(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..5 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    change(&k, LimitChange::SetRateLimit(RateLimit::new(2, SHORT))).await?;
    let started = now_ms();
    let first = k.fetch("a", 10, started).await?;
    ensure_eq!(
        fetched_ids(&first),
        vec!["1", "2"],
        "the first window's starts"
    );
    let now = now_ms();
    let second = k.fetch("b", 10, now).await?;
    ensure!(
        second.jobs.is_empty(),
        "a full window handed out {:?}",
        fetched_ids(&second)
    );
    ends_within(second.rate_limited_until, now, SHORT, "a full window")?;
    let limits = read(&k, now).await?;
    ends_within(limits.rate_limited_until, now, SHORT, "the limits read")?;
    // (the window opened during the first fetch, which ended by `now`)
    outlive_lock(now, SHORT).await;
    let third = k.fetch("c", 10, now_ms()).await?;
    ensure_eq!(
        fetched_ids(&third),
        vec!["3", "4"],
        "the next window's starts"
    );
    ensure_eq!(third.rate_limited_until, None, "a fetch that started jobs");
    Ok(())
}

pub async fn a_worker_limiter_counts_for_every_worker(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..6 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    let limiter = Some(RateLimit::new(2, LONG));
    let now = now_ms();
    let a = fetch_limited(&k, "a", 1, limiter, now).await?;
    let b = fetch_limited(&k, "b", 10, limiter, now).await?;
    ensure_eq!(
        (a.jobs.len(), b.jobs.len()),
        (1, 1),
        "two workers sharing a limiter of 2"
    );
    let c = fetch_limited(&k, "c", 10, limiter, now).await?;
    ensure!(
        c.jobs.is_empty(),
        "a third worker went past the shared limiter"
    );
    ends_within(c.rate_limited_until, now, LONG, "the shared limiter")?;
    // A worker without a limiter knows no max (BullMQ's rule): the counter does not stop it.
    let free = k.fetch("d", 1, now).await?;
    ensure_eq!(free.jobs.len(), 1, "a worker without a limiter");
    // A global max wins over the worker's.
    change(&k, LimitChange::SetRateLimit(RateLimit::new(4, LONG))).await?;
    let more = fetch_limited(&k, "e", 10, limiter, now).await?;
    ensure_eq!(more.jobs.len(), 2, "jobs left under the global max of 4");
    Ok(())
}

pub async fn global_concurrency_caps_active_jobs(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    for i in 0..4 {
        k.add(&format!("j{i}"), JobOptions::new()).await?;
    }
    change(&k, LimitChange::SetConcurrency(2)).await?;
    let first = k.fetch("a", 10, k.t0).await?;
    ensure_eq!(first.jobs.len(), 2, "jobs started under a concurrency of 2");
    let none = k.fetch("b", 10, k.t0).await?;
    ensure!(none.jobs.is_empty(), "a fetch at the cap started jobs");
    ensure_eq!(none.rate_limited_until, None, "the cap is no rate limit");
    k.finish(&first.jobs[0], "a", completed(), k.t0 + 1).await?;
    let next = k.fetch("c", 10, k.t0 + 1).await?;
    ensure_eq!(next.jobs.len(), 1, "one slot freed by a completion");
    change(&k, LimitChange::RemoveConcurrency).await?;
    let rest = k.fetch("d", 10, k.t0 + 2).await?;
    ensure_eq!(rest.jobs.len(), 1, "the rest once the cap is removed");
    Ok(())
}

pub async fn a_rate_limited_end_puts_the_job_back_and_limits_the_queue(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    k.add("b", JobOptions::new()).await?;
    let taken = now_ms();
    let fetched = k.fetch("t", 1, taken).await?;
    let job = fetched
        .jobs
        .first()
        .ok_or_else(|| TestError::msg("nothing fetched"))?;
    ensure_eq!(job.record.id.as_str(), "1", "the first job");
    k.finish(job, "t", AttemptEnd::RateLimited { duration: SHORT }, taken)
        .await?;
    let back = k.get(&job.record.id).await?;
    ensure_eq!(back.state, JobState::Waiting, "the rate-limited job");
    ensure_eq!(back.attempts_made, 0, "attempts made after a rate limit");
    ensure!(
        matches!(k.last_event(&job.record.id).await?, Event::Waiting { .. }),
        "the job's last event is not `waiting`"
    );
    // (the limit runs from the finish call, which ended by now)
    let now = now_ms();
    let limited = k.fetch("u", 10, now).await?;
    ensure!(
        limited.jobs.is_empty(),
        "a limited queue handed out {:?}",
        fetched_ids(&limited)
    );
    ends_within(
        limited.rate_limited_until,
        now,
        SHORT,
        "after a processor's limit",
    )?;
    outlive_lock(now, SHORT).await;
    let after = k.fetch("v", 1, now_ms()).await?;
    ensure_eq!(
        fetched_ids(&after),
        vec!["1"],
        "the job put back runs first"
    );
    Ok(())
}

pub async fn a_manual_limit_stops_every_fetch_until_it_ends(h: &Harness) -> CaseResult {
    let k = Kit::new(h);
    k.add("a", JobOptions::new()).await?;
    let at = now_ms();
    facet(&k)?
        .queue_rate_limit(RateLimitQueue {
            queue: k.queue.clone(),
            duration: SHORT,
            now: at,
        })
        .await?;
    // (the limit runs from the call, which ended by now)
    let now = now_ms();
    let limited = fetch_limited(&k, "a", 10, Some(RateLimit::new(100, LONG)), now).await?;
    ensure!(
        limited.jobs.is_empty(),
        "a fetch with a limiter during a manual limit"
    );
    let plain = k.fetch("b", 10, now).await?;
    ensure!(
        plain.jobs.is_empty(),
        "a fetch without a limiter during a manual limit"
    );
    ends_within(plain.rate_limited_until, now, SHORT, "a manual limit")?;
    ends_within(
        read(&k, now).await?.rate_limited_until,
        now,
        SHORT,
        "the limits read",
    )?;
    outlive_lock(now, SHORT).await;
    ensure_eq!(
        k.fetch("c", 10, now_ms()).await?.jobs.len(),
        1,
        "after the manual limit"
    );
    let refused = facet(&k)?
        .queue_rate_limit(RateLimitQueue {
            queue: k.queue.clone(),
            duration: Duration::ZERO,
            now: now_ms(),
        })
        .await;
    ensure!(
        matches!(refused, Err(Error::InvalidOptions(_))),
        "a manual limit of 0 ms answered {refused:?}"
    );
    Ok(())
}
