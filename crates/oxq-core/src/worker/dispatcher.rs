//! The worker's main loop: keeps up to `concurrency` jobs running, records their outcomes in
//! batches, and fetches the next jobs in the same store call that records the last ones.
//!
//! One task owns all the bookkeeping (no locks but the held-locks map the renewer reads):
//! attempts run in their own tasks and report back over a channel; outcomes that arrive while
//! store calls are in flight pile up and go out together in the next call. Up to
//! [`MAX_CALLS_IN_FLIGHT`] store calls run at once, so the worker records and starts jobs
//! while the store executes the previous call (with Redis, the server and the worker work in
//! parallel instead of taking turns). A slot of `concurrency` is taken by a running job or by a
//! job a call in flight may bring back; a job whose processor returned frees its slot at once.
//! An idle worker blocks in [`Backend::queue_wait`](crate::backend::Backend::queue_wait) (never
//! a busy poll).
//!
//! This module decides what happens next; its parts do it:
//! * [`running`]: the attempts whose processors have not returned (starting them, their slots);
//! * [`calls`]: the store calls (fetches, finishes that fetch the next jobs) and their answers;
//! * [`backoff`]: a failed store call: its report and the pause before the next call;
//! * [`abandon`]: a close past its deadline: dropping the running attempts, handing jobs back.
//!
//! Closing (see [`shutdown`](crate::worker::shutdown)): once it begins no fetch goes out; at
//! [`Closing::Abandon`] the loop drops the running attempts and hands their jobs back.

mod abandon;
mod backoff;
mod calls;
mod limited;
mod running;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::backend::{Backend, WaitForJobs, Wakeup};
use crate::worker::attempt::{AttemptContext, FinishedAttempt};
use crate::worker::maintenance::{HeldLocks, lock_held};
use crate::worker::options::WorkerOptions;
use crate::worker::shutdown::{Closed, Closing};

use backoff::ErrorPause;
use calls::Call;
use running::{Returned, RunningSet};

/// How many times the loop yields to running attempts before recording a partial batch.
const BATCH_YIELDS: usize = 1;
/// Store calls (fetches, finishes) one worker keeps in flight at once.
const MAX_CALLS_IN_FLIGHT: usize = 4;
/// While other calls are in flight, a finish call carries at least 1/MIN_BATCH_SHARE of
/// `concurrency` outcomes (or every outcome there is, when no job is running).
const MIN_BATCH_SHARE: usize = 8;

/// What a worker starts its loop with.
pub(crate) struct Dispatcher<T> {
    /// The store, queue, processor, settings and clock every attempt gets.
    pub attempts: AttemptContext<T>,
    pub locks: HeldLocks,
    pub worker_id: String,
    pub close: watch::Receiver<Closing>,
}

impl<T: DeserializeOwned + Send + 'static> Dispatcher<T> {
    /// Runs until the worker is closed and every held job is recorded (or abandoned); or until
    /// `stop_after_permanent_errors` store calls in a row failed for good, which abandons the
    /// running jobs and answers the error.
    pub(crate) async fn run(self) -> crate::Result<Closed> {
        let Dispatcher {
            attempts,
            locks,
            worker_id,
            close,
        } = self;
        FetchLoop {
            attempts: Arc::new(attempts),
            locks,
            worker_id,
            close,
        }
        .run()
        .await
    }
}

/// The running loop: the dispatcher's parts, with the attempts' context shared by every
/// attempt task (one reference count per job, not a copy).
struct FetchLoop<T> {
    attempts: Arc<AttemptContext<T>>,
    locks: HeldLocks,
    worker_id: String,
    close: watch::Receiver<Closing>,
}

/// Everything the loop tracks between two turns.
struct LoopState {
    running: RunningSet,
    /// Outcomes not yet sent to the store.
    pending: Vec<FinishedAttempt>,
    /// Cancelled jobs whose attempts ended: nothing to record, only to stop holding.
    cancelled: Vec<crate::ids::JobId>,
    /// Jobs the calls in flight may bring back (each holds a slot until its call returns).
    requested: usize,
    closing: Closing,
    /// The last fetch found nothing: wait in the store before fetching again.
    idle: bool,
    next_due_at: Option<u64>,
    /// The queue is rate limited until then (ms, by the worker's clock): no fetch before it.
    rate_limited_until: Option<u64>,
    errors: ErrorPause,
    fetches: u64,
}

impl LoopState {
    /// An attempt's processor returned: its slot is free, its outcome waits to be recorded.
    fn attempt_returned(&mut self, returned: Returned) {
        let attempt = self.running.returned(returned);
        if attempt.cancelled {
            self.cancelled.push(attempt.finish.job_id);
        } else {
            self.pending.push(attempt);
        }
    }

    fn closing(&self) -> bool {
        self.closing != Closing::No
    }
}

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    fn backend(&self) -> &Arc<dyn Backend> {
        &self.attempts.backend
    }

    fn queue(&self) -> &crate::ids::QueueRef {
        &self.attempts.queue
    }

    fn options(&self) -> &WorkerOptions {
        &self.attempts.options
    }

    fn now(&self) -> u64 {
        self.attempts.clock.now_ms()
    }

    async fn run(mut self) -> crate::Result<Closed> {
        let mut clock_moves = self.attempts.clock.moves();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Returned>();
        let mut calls: FuturesUnordered<Call> = FuturesUnordered::new();
        let mut state = LoopState {
            running: RunningSet::default(),
            pending: Vec::new(),
            cancelled: Vec::new(),
            requested: 0,
            closing: *self.close.borrow(),
            idle: false,
            next_due_at: None,
            rate_limited_until: None,
            errors: ErrorPause::default(),
            fetches: 0,
        };
        let mut close_open = true;
        loop {
            // Seen here, not only when the select below polls the channel: no call may start
            // after a close was asked, even when another branch won the last select.
            state.closing = state.closing.max(*self.close.borrow());
            if let Some(error) = state.errors.gave_up.take() {
                self.abandon(state, calls, done_rx).await;
                return Err(error);
            }
            if state.closing == Closing::Abandon {
                return Ok(self.abandon(state, calls, done_rx).await);
            }
            while let Ok(returned) = done_rx.try_recv() {
                state.attempt_returned(returned);
            }
            if !state.cancelled.is_empty() {
                let mut held = lock_held(&self.locks);
                for job_id in state.cancelled.drain(..) {
                    // (not a later fetch of the same id, after an explicit retry)
                    if held
                        .get(&job_id)
                        .is_some_and(|h| h.cancellation.is_cancelled())
                    {
                        held.remove(&job_id);
                    }
                }
            }
            let can_call = calls.len() < MAX_CALLS_IN_FLIGHT && !state.errors.backing_off();
            // With a call in flight, a finish waits for a worthwhile batch: many small calls
            // cost the store more than a few large ones.
            let worth_a_call = calls.is_empty()
                || state.pending.len() >= self.options().concurrency.div_ceil(MIN_BATCH_SHARE)
                || state.running.is_empty();
            if !state.pending.is_empty() && can_call && worth_a_call {
                // Let attempts that are about to end (short jobs) join this batch: one store
                // call for many outcomes is the cheapest way to record them.
                for _ in 0..BATCH_YIELDS {
                    if state.pending.len() >= state.running.len() {
                        break;
                    }
                    tokio::task::yield_now().await;
                    while let Ok(returned) = done_rx.try_recv() {
                        state.attempt_returned(returned);
                    }
                }
                calls.push(self.finish_call(&mut state));
                continue;
            }
            if state.closing()
                && state.running.is_empty()
                && state.pending.is_empty()
                && calls.is_empty()
            {
                return Ok(Closed::default());
            }
            let free = self.free_slots(&state);
            let now = self.now();
            let limited = state.rate_limited_at(now);
            // (pending outcomes fetch with their finish call)
            if !state.closing()
                && free > 0
                && !state.idle
                && !limited
                && can_call
                && state.pending.is_empty()
            {
                calls.push(self.fetch_call(free, &mut state));
                continue;
            }
            let can_wait = !state.closing()
                && free > 0
                && state.idle
                && !limited
                && calls.is_empty()
                && !state.errors.backing_off();
            // rate limited: sleep until the limit ends (a moved clock looks again too)
            let limit_left = state
                .rate_limit_left(now)
                .filter(|_| !state.closing() && free > 0);
            let retry_at = state.errors.retry_at();
            // A select builds every branch's future each turn, polled or not: the wait's
            // request is made inside its future, only when the wait is polled.
            let (attempts, next_due_at) = (&self.attempts, state.next_due_at);
            let wait = async move {
                let now = attempts.clock.now_ms();
                let request = WaitForJobs {
                    queue: attempts.queue.clone(),
                    timeout: wait_timeout(attempts.options.drain_delay, next_due_at, now),
                    now,
                };
                attempts.backend.queue_wait(request).await
            };
            let selected = tokio::select! {
                returned = done_rx.recv() => Turn::Returned(returned),
                Some(call) = calls.next(), if !calls.is_empty() => Turn::Call(call),
                changed = self.close.changed(), if close_open => Turn::CloseChanged(changed.is_ok()),
                () = backoff::sleep_until(retry_at), if retry_at.is_some() => Turn::RetryDue,
                () = sleep_for(limit_left), if limit_left.is_some() => Turn::LimitOver,
                moved = moved(&mut clock_moves), if clock_moves.is_some() => Turn::ClockMoved(moved.is_ok()),
                woke = wait, if can_wait => Turn::Woke(woke),
            };
            match selected {
                Turn::Returned(returned) => {
                    if let Some(returned) = returned {
                        state.attempt_returned(returned);
                    }
                }
                Turn::Call(call) => self.call_returned(call, &mut state, &done_tx),
                Turn::CloseChanged(true) => {
                    state.closing = state.closing.max(*self.close.borrow_and_update());
                }
                Turn::CloseChanged(false) => {
                    // the worker handle is gone: finish what runs, start nothing
                    close_open = false;
                    if state.closing == Closing::No {
                        state.closing = Closing::Graceful;
                    }
                }
                Turn::RetryDue => state.errors.retry_now(),
                // the limit's time has passed in real time too: ask the store again (it judges)
                Turn::LimitOver => {
                    state.rate_limited_until = None;
                    state.idle = false;
                }
                // a test moved the clock: delayed jobs may be due now
                Turn::ClockMoved(true) => state.idle = false,
                Turn::ClockMoved(false) => clock_moves = None,
                Turn::Woke(Ok(wakeup)) => {
                    state.errors.succeeded();
                    match wakeup {
                        Wakeup::DueAt(at) if at > self.now() => state.next_due_at = Some(at),
                        _ => state.idle = false,
                    }
                }
                Turn::Woke(Err(e)) => {
                    self.pause_after_error(e, &mut state);
                    // A wake-up may have been lost with the store (popped by a wait whose
                    // answer never came, or never persisted): look before waiting again.
                    state.idle = false;
                }
            }
        }
    }
}

/// What woke the loop.
enum Turn {
    Returned(Option<Returned>),
    Call(calls::CallDone),
    /// `false`: the worker handle is gone.
    CloseChanged(bool),
    RetryDue,
    /// A rate limit's time has passed in real time.
    LimitOver,
    /// `false`: the clock is gone.
    ClockMoved(bool),
    Woke(crate::Result<Wakeup>),
}

/// How long to block in the store: until the next delayed job is due, at most `drain`.
fn wait_timeout(drain: Duration, next_due_at: Option<u64>, now: u64) -> Duration {
    match next_due_at {
        Some(due) => Duration::from_millis(due.saturating_sub(now)).min(drain),
        None => drain,
    }
}

/// Resolves after `d`, or never without one.
async fn sleep_for(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Resolves when the clock is moved by hand (`Err` once the clock is gone).
async fn moved(moves: &mut Option<watch::Receiver<u64>>) -> Result<(), watch::error::RecvError> {
    match moves {
        Some(rx) => rx.changed().await,
        None => std::future::pending().await,
    }
}
