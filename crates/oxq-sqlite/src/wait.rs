//! Blocking waits: `queue_wait` and `events_read` with a block time.
//!
//! A waiter registers with the queue's in-process [`Notify`](tokio::sync::Notify) *before* it
//! checks the file, so a commit by this process between the check and the sleep still wakes it.
//! Commits by other processes are found by re-checking every `poll_interval` (a tiny indexed
//! query on a reader connection). Nothing is written while waiting, so dropping a waiting
//! future at any point loses nothing (cancel-safe).
//!
//! `queue_wait` answers:
//! * `JobsReady` when the queue is not paused and holds a waiting or prioritized job, or a
//!   delayed job that is already due (the next fetch promotes it);
//! * `DueAt(t)` as soon as it sees a delayed job due at `t` before the wait would end (a
//!   caller that then waits until `t` is not answered `DueAt(t)` again at once, so the
//!   runtime's loop "wait until the next due time" never spins);
//! * `TimedOut` otherwise. A paused queue only ever times out (or wakes on resume).
//!
//! "Due" is judged on the caller's clock: its `now`, moved on by the real time spent waiting.

use std::sync::Arc;
use std::time::Duration;

use oxq_core::StoredEvent;
use oxq_core::backend::{ReadEvents, WaitForJobs, Wakeup};
use oxq_core::clock::millis;
use tokio::time::Instant;

use crate::error::StoreResult;
use crate::ops::{events, groups, list};
use crate::readers::Readers;
use crate::signals::Signals;

pub(crate) async fn queue_wait(
    readers: &Arc<Readers>,
    signals: &Signals,
    poll: Duration,
    req: WaitForJobs,
) -> StoreResult<Wakeup> {
    let started = Instant::now();
    let deadline = started + req.timeout;
    // the caller's time (its clock may be a test's), moving on with real time while we wait
    let caller_now = || req.now.saturating_add(millis(started.elapsed()));
    let deadline_ms = req.now.saturating_add(millis(req.timeout));
    let notify = signals.get(&req.queue);
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let queue = req.queue.clone();
        let now = caller_now();
        let ready = readers
            .run(move |conn| {
                let mut ready = list::readiness(conn, &queue)?;
                if ready.runnable && !ready.paused {
                    // runnable jobs may all sit in paused or full groups
                    ready.runnable = groups::queue_runnable(conn, &queue, now)?;
                }
                Ok(ready)
            })
            .await?;
        if !ready.paused {
            if ready.runnable {
                return Ok(Wakeup::JobsReady);
            }
            if let Some(due) = ready.next_due_at {
                if due <= caller_now() {
                    return Ok(Wakeup::JobsReady);
                }
                if due < deadline_ms {
                    return Ok(Wakeup::DueAt(due));
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Wakeup::TimedOut);
        }
        let nap = poll.min(deadline - now);
        let _parked = signals.park(&req.queue);
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}

pub(crate) async fn events_read(
    readers: &Arc<Readers>,
    signals: &Signals,
    poll: Duration,
    req: ReadEvents,
) -> StoreResult<Vec<StoredEvent>> {
    let mut after = match &req.after {
        Some(id) => events::parse_event_id(id)?,
        None => 0,
    };
    if req.max == 0 {
        return Ok(Vec::new());
    }
    let deadline = Instant::now() + req.block;
    let notify = signals.get(&req.queue);
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let queue = req.queue.clone();
        let max = req.max;
        let (found, last) = readers
            .run(move |conn| events::read_after(conn, &queue, after, max))
            .await?;
        if !found.is_empty() {
            return Ok(found);
        }
        if let Some(last) = last {
            // Only undecodable rows: move past them and look again at once.
            after = last;
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(found);
        }
        let nap = poll.min(deadline - now);
        let _parked = signals.park(&req.queue);
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}
