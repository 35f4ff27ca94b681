//! The worker's background duties: renewing the locks of running jobs and recovering jobs
//! whose workers died (stalled-job check). Both run on their own timers until the worker
//! closes, and also whenever a [`ManualClock`](crate::clock::ManualClock) is moved; a failed
//! store call is logged (at `ERROR` when it is permanent) and tried again on the next tick.
//!
//! Together they bound crash recovery: a worker killed outright stops renewing, its locks
//! expire at most `lock_duration` later, and the next stalled check (any live worker's, at
//! most `stalled_interval` later) puts those jobs back in line in one pass — every active job
//! whose lock expired, on both stores. What they cost the store does not grow with the number
//! of jobs a worker runs: one bulk renewal call per worker per quarter of `lock_duration`
//! (carrying the jobs it holds at that moment, so a job shorter than the period is seldom in
//! one), and one check per `stalled_interval` per queue, whichever worker runs it.
//!
//! The renewal also carries cancellation: the store answers which of the sent locks were
//! cancelled ([`ExtendedLocks::cancelled`](crate::backend::ExtendedLocks::cancelled)), and the
//! renewer fires those jobs' tokens. That is how a cancel from any process reaches the
//! processor within one renewal period, at no extra store call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, ExtendLocks, RecoverStalled};
use crate::clock::Clock;
use crate::ids::{JobId, LockToken, QueueRef};
use crate::worker::events::WorkerEvent;
use crate::worker::options::WorkerOptions;

/// A job this worker holds.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub token: LockToken,
    /// The attempt ended and its outcome is being recorded: the store may finish the job (and
    /// drop its lock) at any moment, and a lost lock is reported by the finish call instead.
    pub finishing: bool,
    /// The renewer found the lock lost and reported it ([`WorkerEvent::LockLost`]): it is not
    /// renewed again, and the finish call the store refuses reports nothing more.
    pub lost: bool,
    /// Fired when the store says the job was cancelled; the attempt and its processor watch it.
    pub cancellation: CancellationToken,
}

/// Jobs this worker holds, shared by the dispatcher (adds, removes) and the lock renewer.
pub(crate) type HeldLocks = Arc<Mutex<HashMap<JobId, Held>>>;

pub(crate) fn lock_held(locks: &HeldLocks) -> std::sync::MutexGuard<'_, HashMap<JobId, Held>> {
    locks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The locks to renew: every held job's but a cancelled one's (the store deleted that lock)
/// or a lost one's.
pub(crate) fn snapshot(locks: &HeldLocks) -> Vec<(JobId, LockToken)> {
    lock_held(locks)
        .iter()
        .filter(|(_, v)| !v.cancellation.is_cancelled() && !v.lost)
        .map(|(k, v)| (k.clone(), v.token.clone()))
        .collect()
}

/// The ids the store reported lost that are still running under the token that was sent,
/// marked [`lost`](Held::lost): a job that finished (or began finishing) while the renewal was
/// in flight has not lost anything.
fn still_running(locks: &HeldLocks, sent: &[(JobId, LockToken)], lost: Vec<JobId>) -> Vec<JobId> {
    let mut held = lock_held(locks);
    lost.into_iter()
        .filter(|id| {
            let Some(h) = held.get_mut(id) else {
                return false;
            };
            let running = !h.finishing && sent.iter().any(|(i, t)| i == id && *t == h.token);
            h.lost |= running;
            running
        })
        .collect()
}

/// The tokens of the ids the store reported cancelled that are still running under the token
/// that was sent (an attempt that ended meanwhile has nothing to tell).
fn cancelled_running(
    locks: &HeldLocks,
    sent: &[(JobId, LockToken)],
    cancelled: Vec<JobId>,
) -> Vec<(JobId, CancellationToken)> {
    if cancelled.is_empty() {
        return Vec::new();
    }
    let held = lock_held(locks);
    cancelled
        .into_iter()
        .filter_map(|id| {
            let h = held.get(&id)?;
            let sent_now = sent.iter().any(|(i, t)| *i == id && *t == h.token);
            (sent_now && !h.finishing).then(|| (id, h.cancellation.clone()))
        })
        .collect()
}

/// What both duties need: the store, the queue, the worker's settings and its clock.
#[derive(Clone)]
pub(crate) struct Duties {
    pub backend: Arc<dyn Backend>,
    pub queue: QueueRef,
    pub options: Arc<WorkerOptions>,
    pub clock: Arc<dyn Clock>,
}

/// Resolves when the clock is moved by hand; never for a clock that only flows.
async fn clock_moved(moves: &mut Option<watch::Receiver<u64>>) {
    let alive = match moves {
        Some(rx) => rx.changed().await.is_ok(),
        None => false,
    };
    if !alive {
        *moves = None;
        std::future::pending::<()>().await;
    }
}

/// Renews every held lock each quarter of the lock duration (and whenever the clock is moved),
/// so a lock survives three missed renewals before it expires.
pub(crate) async fn renew_locks(duties: Duties, locks: HeldLocks, mut stop: watch::Receiver<bool>) {
    let Duties {
        backend,
        queue,
        options,
        clock,
    } = duties;
    let period = (options.lock_duration / 4).max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut moves = clock.moves();
    let mut refused = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = clock_moved(&mut moves) => {}
            _ = stop.changed() => return,
        }
        let held = snapshot(&locks);
        if held.is_empty() {
            continue;
        }
        let request = ExtendLocks {
            queue: queue.clone(),
            locks: held.clone(),
            duration: options.lock_duration,
            now: clock.now_ms(),
        };
        match backend.locks_extend(request).await {
            Ok(extended) => {
                refused = 0;
                for (job_id, cancellation) in cancelled_running(&locks, &held, extended.cancelled) {
                    tracing::info!(queue = %queue, job_id = %job_id, "job cancelled while running; its processor's token fired");
                    cancellation.cancel();
                    notify(&options, &WorkerEvent::Cancelled { job_id });
                }
                for job_id in still_running(&locks, &held, extended.lost) {
                    tracing::warn!(queue = %queue, job_id = %job_id, "lock lost while the job was running; another worker may run it again");
                    notify(&options, &WorkerEvent::LockLost { job_id });
                }
            }
            Err(e) => {
                if e.is_permanent() {
                    tracing::error!(queue = %queue, error = %e, "could not renew locks: the store refuses the call");
                } else {
                    tracing::warn!(queue = %queue, error = %e, "could not renew locks");
                }
                report(&options, &e, &mut refused);
            }
        }
    }
}

/// The once-per-interval gate the worker asks the store to keep: a tenth shorter than
/// `stalled_interval`. With a gate as long as the interval, a tick that comes a few ms early
/// against the last check (timer jitter, or the previous call's latency, which moves the
/// gate's start) finds it still shut, and the check, with any recovery, waits a whole interval
/// more. Workers out of phase then check at most every nine tenths of the interval.
fn check_gate(stalled_interval: Duration) -> Duration {
    stalled_interval - stalled_interval / 10
}

/// Runs the stalled-job check at start, then every `stalled_interval` and whenever the clock
/// is moved.
pub(crate) async fn check_stalled(duties: Duties, mut stop: watch::Receiver<bool>) {
    let Duties {
        backend,
        queue,
        options,
        clock,
    } = duties;
    let mut ticker = tokio::time::interval(options.stalled_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut moves = clock.moves();
    let mut refused = 0;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = clock_moved(&mut moves) => {}
            _ = stop.changed() => return,
        }
        let request = RecoverStalled {
            queue: queue.clone(),
            max_stalled_count: options.max_stalled_count,
            interval: check_gate(options.stalled_interval),
            now: clock.now_ms(),
        };
        match backend.stalled_recover(request).await {
            Ok(recovered) if recovered.job_ids.is_empty() => refused = 0,
            Ok(recovered) => {
                refused = 0;
                tracing::warn!(queue = %queue, count = recovered.job_ids.len(), "recovered stalled jobs");
                notify(
                    &options,
                    &WorkerEvent::Stalled {
                        job_ids: recovered.job_ids,
                    },
                );
            }
            Err(e) => {
                if e.is_permanent() {
                    tracing::error!(queue = %queue, error = %e, "stalled-job check failed: the store refuses the call");
                } else {
                    tracing::warn!(queue = %queue, error = %e, "stalled-job check failed");
                }
                report(&options, &e, &mut refused);
            }
        }
    }
}

/// Reports a failed duty call: [`WorkerEvent::StoreFailing`] with the duty's own count of
/// permanent errors in a row, or [`WorkerEvent::Error`].
fn report(options: &WorkerOptions, error: &crate::Error, refused: &mut u32) {
    let message = error.to_string();
    let event = if error.is_permanent() {
        *refused += 1;
        WorkerEvent::StoreFailing {
            message,
            consecutive: *refused,
        }
    } else {
        WorkerEvent::Error { message }
    };
    notify(options, &event);
}

pub(crate) fn notify(options: &WorkerOptions, event: &WorkerEvent) {
    if let Some(listener) = &options.listener {
        listener(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_gate_is_a_tenth_shorter_than_the_interval() {
        assert_eq!(
            check_gate(Duration::from_secs(3)),
            Duration::from_millis(2700)
        );
        assert_eq!(
            check_gate(Duration::from_millis(100)),
            Duration::from_millis(90)
        );
    }

    #[test]
    fn only_jobs_still_running_under_the_sent_token_count_as_lost() {
        let locks: HeldLocks = Arc::default();
        let held = |token: &str, finishing| Held {
            token: LockToken(token.to_owned()),
            finishing,
            lost: false,
            cancellation: CancellationToken::new(),
        };
        lock_held(&locks).insert(JobId::from("running"), held("t1", false));
        lock_held(&locks).insert(JobId::from("finishing"), held("t1", true));
        lock_held(&locks).insert(JobId::from("refetched"), held("t2", false));
        let sent: Vec<_> = ["running", "finishing", "refetched", "finished"]
            .into_iter()
            .map(|id| (JobId::from(id), LockToken("t1".to_owned())))
            .collect();
        let lost = sent.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(
            still_running(&locks, &sent, lost),
            vec![JobId::from("running")]
        );
        // reported once: the lost lock is renewed no more
        let renewed: Vec<_> = snapshot(&locks).into_iter().map(|(id, _)| id).collect();
        assert!(!renewed.contains(&JobId::from("running")), "{renewed:?}");
        assert_eq!(renewed.len(), 2);
    }

    #[test]
    fn a_cancelled_job_still_running_gets_its_token_and_leaves_the_renewals() {
        let locks: HeldLocks = Arc::default();
        let running = CancellationToken::new();
        let held = |token: &str, finishing, cancellation: &CancellationToken| Held {
            token: LockToken(token.to_owned()),
            finishing,
            lost: false,
            cancellation: cancellation.clone(),
        };
        lock_held(&locks).insert(JobId::from("running"), held("t1", false, &running));
        lock_held(&locks).insert(
            JobId::from("finishing"),
            held("t1", true, &CancellationToken::new()),
        );
        lock_held(&locks).insert(
            JobId::from("refetched"),
            held("t2", false, &CancellationToken::new()),
        );
        let sent: Vec<_> = ["running", "finishing", "refetched"]
            .into_iter()
            .map(|id| (JobId::from(id), LockToken("t1".to_owned())))
            .collect();
        let cancelled = sent.iter().map(|(id, _)| id.clone()).collect();
        let told = cancelled_running(&locks, &sent, cancelled);
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].0, JobId::from("running"));
        told[0].1.cancel();
        assert!(running.is_cancelled());
        let renewed: Vec<_> = snapshot(&locks).into_iter().map(|(id, _)| id).collect();
        assert!(!renewed.contains(&JobId::from("running")), "{renewed:?}");
        assert_eq!(renewed.len(), 2);
    }
}
