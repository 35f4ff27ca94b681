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
//! An idle worker blocks in [`Backend::queue_wait`] (never a busy poll). Store errors never drop
//! an outcome: the batch is kept and retried with capped exponential backoff (reset by any
//! successful store call, a wait included), while the lock renewer keeps the jobs' locks alive.
//! The backoff is a timer inside the loop, not a sleep of it: attempts keep reporting and a
//! close is seen at once. After a failed wait the worker fetches before it waits again, since
//! wake-ups can be lost with the store (an outage of any length ends with a fetch, not with a
//! wait for a wake-up).
//!
//! Closing (see [`shutdown`](crate::worker::shutdown)): once it begins no fetch goes out; at
//! [`Closing::Abandon`] the loop drops the running attempts and hands their jobs back.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::backend::{
    AttemptEnd, Backend, Fetch, FetchJobs, Fetched, Finish, FinishJobs, FinishResult, StoreMemo,
    WaitForJobs, Wakeup,
};
use crate::ids::{JobId, LockToken, QueueRef};
use crate::worker::attempt::{AttemptContext, FinishedAttempt, run_attempt};
use crate::worker::events::WorkerEvent;
use crate::worker::maintenance::{Held, HeldLocks, lock_held, notify};
use crate::worker::options::WorkerOptions;
use crate::worker::refused;
use crate::worker::shutdown::{Closed, Closing, RELEASE_BUDGET};

const FIRST_ERROR_BACKOFF: Duration = Duration::from_millis(100);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);
/// How many times the loop yields to running attempts before recording a partial batch.
const BATCH_YIELDS: usize = 1;
/// Store calls (fetches, finishes) one worker keeps in flight at once.
const MAX_CALLS_IN_FLIGHT: usize = 4;
/// While other calls are in flight, a finish call carries at least 1/MIN_BATCH_SHARE of
/// `concurrency` outcomes (or every outcome there is, when no job is running).
const MIN_BATCH_SHARE: usize = 8;

pub(crate) struct Dispatcher<T> {
    /// The store, queue, processor, settings and clock every attempt gets.
    pub attempts: AttemptContext<T>,
    pub locks: HeldLocks,
    pub worker_id: String,
    pub close: watch::Receiver<Closing>,
}

/// An attempt whose processor has not returned: what abandoning it needs.
struct Running {
    abort: AbortHandle,
    /// Handed back with the job if it is abandoned (its lock token is in the held-locks map).
    memo: StoreMemo,
}

struct LoopState {
    /// Attempts whose processor has not returned yet.
    running: HashMap<JobId, Running>,
    /// Outcomes not yet sent to the store.
    pending: Vec<FinishedAttempt>,
    /// Jobs the calls in flight may bring back (each holds a slot until its call returns).
    requested: usize,
    closing: Closing,
    /// The last fetch found nothing: wait in the store before fetching again.
    idle: bool,
    next_due_at: Option<u64>,
    error_backoff: Duration,
    /// A store call failed: no call goes out before this instant.
    retry_at: Option<Instant>,
    /// Store calls failed with a permanent error since the last one that succeeded.
    permanent_errors: u32,
    /// `stop_after_permanent_errors` was reached: the worker stops with this error.
    gave_up: Option<crate::Error>,
    fetches: u64,
}

/// A fetch that went out with a store call: its lock token and how many jobs it asked for.
struct FetchSent {
    token: LockToken,
    max_jobs: usize,
}

/// What a store call in flight resolves to.
enum CallDone {
    Fetch {
        sent: FetchSent,
        result: crate::Result<Fetched>,
    },
    Finish {
        batch: Vec<FinishedAttempt>,
        fetch: Option<FetchSent>,
        result: crate::Result<FinishResult>,
    },
}

type Call = Pin<Box<dyn Future<Output = CallDone> + Send>>;

impl LoopState {
    /// An attempt's processor returned: its slot is free, its outcome waits to be recorded.
    fn attempt_returned(&mut self, done: FinishedAttempt) {
        self.running.remove(&done.finish.job_id);
        self.pending.push(done);
    }

    /// A store call succeeded: the next failure backs off from the start again.
    fn succeeded(&mut self) {
        self.error_backoff = FIRST_ERROR_BACKOFF;
        self.permanent_errors = 0;
    }

    fn closing(&self) -> bool {
        self.closing != Closing::No
    }

    /// A store call failed a moment ago: wait before the next one.
    fn backing_off(&self) -> bool {
        self.retry_at.is_some_and(|at| at > Instant::now())
    }
}

impl<T: DeserializeOwned + Send + 'static> Dispatcher<T> {
    fn backend(&self) -> &Arc<dyn Backend> {
        &self.attempts.backend
    }

    fn queue(&self) -> &QueueRef {
        &self.attempts.queue
    }

    fn options(&self) -> &WorkerOptions {
        &self.attempts.options
    }

    fn now(&self) -> u64 {
        self.attempts.clock.now_ms()
    }

    /// Runs until the worker is closed and every held job is recorded (or abandoned); or until
    /// `stop_after_permanent_errors` store calls in a row failed for good, which abandons the
    /// running jobs and answers the error.
    pub(crate) async fn run(mut self) -> crate::Result<Closed> {
        let mut clock_moves = self.attempts.clock.moves();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<FinishedAttempt>();
        let mut calls: FuturesUnordered<Call> = FuturesUnordered::new();
        let mut state = LoopState {
            running: HashMap::new(),
            pending: Vec::new(),
            requested: 0,
            closing: *self.close.borrow(),
            idle: false,
            next_due_at: None,
            error_backoff: FIRST_ERROR_BACKOFF,
            retry_at: None,
            permanent_errors: 0,
            gave_up: None,
            fetches: 0,
        };
        let mut close_open = true;
        loop {
            // Seen here, not only when the select below polls the channel: no call may start
            // after a close was asked, even when another branch won the last select.
            state.closing = state.closing.max(*self.close.borrow());
            if let Some(error) = state.gave_up.take() {
                self.abandon(state, calls, done_rx).await;
                return Err(error);
            }
            if state.closing == Closing::Abandon {
                return Ok(self.abandon(state, calls, done_rx).await);
            }
            while let Ok(done) = done_rx.try_recv() {
                state.attempt_returned(done);
            }
            let can_call = calls.len() < MAX_CALLS_IN_FLIGHT && !state.backing_off();
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
                    while let Ok(done) = done_rx.try_recv() {
                        state.attempt_returned(done);
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
            // (pending outcomes fetch with their finish call)
            if !state.closing() && free > 0 && !state.idle && can_call && state.pending.is_empty() {
                calls.push(self.fetch_call(free, &mut state));
                continue;
            }
            let wait_timeout = self.wait_timeout(&state);
            let can_wait = !state.closing()
                && free > 0
                && state.idle
                && calls.is_empty()
                && !state.backing_off();
            let retry_at = state.retry_at.filter(|at| *at > Instant::now());
            tokio::select! {
                done = done_rx.recv() => {
                    if let Some(done) = done {
                        state.attempt_returned(done);
                    }
                }
                Some(call) = calls.next(), if !calls.is_empty() => {
                    self.call_returned(call, &mut state, &done_tx);
                }
                changed = self.close.changed(), if close_open => match changed {
                    Ok(()) => state.closing = state.closing.max(*self.close.borrow_and_update()),
                    Err(_) => {
                        // the worker handle is gone: finish what runs, start nothing
                        close_open = false;
                        if state.closing == Closing::No {
                            state.closing = Closing::Graceful;
                        }
                    }
                },
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    state.retry_at = None;
                }
                moved = moved(&mut clock_moves), if clock_moves.is_some() => {
                    // a test moved the clock: delayed jobs may be due now
                    match moved {
                        Ok(()) => state.idle = false,
                        Err(_) => clock_moves = None,
                    }
                }
                woke = self.attempts.backend.queue_wait(WaitForJobs { queue: self.attempts.queue.clone(), timeout: wait_timeout, now: self.attempts.clock.now_ms() }), if can_wait => {
                    match woke {
                        Ok(wakeup) => {
                            state.succeeded();
                            match wakeup {
                                Wakeup::DueAt(at) if at > self.now() => state.next_due_at = Some(at),
                                _ => state.idle = false,
                            }
                        }
                        Err(e) => {
                            self.pause_after_error(e, &mut state);
                            // A wake-up may have been lost with the store (popped by a wait whose
                            // answer never came, or never persisted): look before waiting again.
                            state.idle = false;
                        }
                    }
                }
            }
        }
    }

    /// A fetch-only store call for up to `max_jobs` jobs.
    fn fetch_call(&self, max_jobs: usize, state: &mut LoopState) -> Call {
        let (fetch, sent) = self.reserve_fetch(max_jobs, state);
        let request = FetchJobs {
            queue: self.queue().clone(),
            fetch,
            now: self.now(),
        };
        let backend = self.backend().clone();
        Box::pin(async move {
            let result = backend.job_move_to_active(request).await;
            CallDone::Fetch { sent, result }
        })
    }

    /// Records every pending outcome in one store call, fetching more jobs in the same call.
    fn finish_call(&self, state: &mut LoopState) -> Call {
        let batch = std::mem::take(&mut state.pending);
        {
            let mut held = lock_held(&self.locks);
            for attempt in &batch {
                if let Some(job) = held.get_mut(&attempt.finish.job_id) {
                    job.finishing = true;
                }
            }
        }
        let free = self.free_slots(state);
        let (fetch_next, fetch) = if !state.closing() && free > 0 {
            let (request, sent) = self.reserve_fetch(free, state);
            (Some(request), Some(sent))
        } else {
            (None, None)
        };
        let request = FinishJobs {
            queue: self.queue().clone(),
            now: self.now(),
            items: batch.iter().map(|p| p.finish.clone()).collect(),
            fetch_next,
        };
        let backend = self.backend().clone();
        Box::pin(async move {
            let result = backend.job_finish(request).await;
            CallDone::Finish {
                batch,
                fetch,
                result,
            }
        })
    }

    fn call_returned(
        &self,
        call: CallDone,
        state: &mut LoopState,
        done_tx: &mpsc::UnboundedSender<FinishedAttempt>,
    ) {
        match call {
            CallDone::Fetch { sent, result } => {
                state.requested -= sent.max_jobs;
                match result {
                    Ok(fetched) => {
                        state.succeeded();
                        self.start_jobs(fetched, &sent.token, state, done_tx);
                    }
                    Err(e) => self.pause_after_error(e, state),
                }
            }
            CallDone::Finish {
                batch,
                fetch,
                result,
            } => {
                if let Some(sent) = &fetch {
                    state.requested -= sent.max_jobs;
                }
                match result {
                    Ok(result) => {
                        state.succeeded();
                        self.finished(batch, result.items);
                        if let Some(sent) = fetch {
                            self.start_jobs(result.fetched, &sent.token, state, done_tx);
                        }
                    }
                    Err(e) => {
                        // nothing of the call was applied: its outcomes go out again
                        let mut retry = batch;
                        retry.append(&mut state.pending);
                        state.pending = retry;
                        self.pause_after_error(e, state);
                    }
                }
            }
        }
    }

    /// The store answered a finish call: the jobs are no longer held; report each outcome.
    fn finished(&self, batch: Vec<FinishedAttempt>, outcomes: Vec<crate::Result<()>>) {
        {
            let mut map = lock_held(&self.locks);
            for attempt in &batch {
                map.remove(&attempt.finish.job_id);
            }
        }
        for (attempt, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Ok(()) => notify(self.options(), &attempt.event),
                Err(e) if refused::is_dependency_refusal(&e) => {
                    tokio::spawn(refused::fail_refused_completion(
                        self.attempts.backend.clone(),
                        self.queue().clone(),
                        self.attempts.clock.clone(),
                        self.attempts.options.clone(),
                        attempt.finish,
                        e,
                    ));
                }
                Err(e) => {
                    tracing::warn!(queue = %self.queue(), job_id = %attempt.finish.job_id, error = %e, "the store refused the job's outcome");
                    notify(
                        self.options(),
                        &WorkerEvent::LockLost {
                            job_id: attempt.finish.job_id,
                        },
                    );
                }
            }
        }
    }

    /// Slots of `concurrency` taken neither by a running job nor by a call in flight.
    fn free_slots(&self, state: &LoopState) -> usize {
        self.options()
            .concurrency
            .saturating_sub(state.running.len() + state.requested)
    }

    /// A fetch of up to `max_jobs` jobs under a new lock token; its slots count as taken until
    /// the call that carries it returns.
    fn reserve_fetch(&self, max_jobs: usize, state: &mut LoopState) -> (Fetch, FetchSent) {
        state.fetches += 1;
        state.requested += max_jobs;
        let request = Fetch {
            token: LockToken(format!("{}:{}", self.worker_id, state.fetches)),
            lock_duration: self.options().lock_duration,
            max_jobs: u32::try_from(max_jobs).unwrap_or(u32::MAX),
            worker_name: self.options().name.clone(),
        };
        let sent = FetchSent {
            token: request.token.clone(),
            max_jobs,
        };
        (request, sent)
    }

    /// How long to block in the store: until the next delayed job is due, at most `drain_delay`.
    fn wait_timeout(&self, state: &LoopState) -> Duration {
        let drain = self.options().drain_delay;
        match state.next_due_at {
            Some(due) => Duration::from_millis(due.saturating_sub(self.now())).min(drain),
            None => drain,
        }
    }

    fn start_jobs(
        &self,
        fetched: Fetched,
        token: &LockToken,
        state: &mut LoopState,
        done_tx: &mpsc::UnboundedSender<FinishedAttempt>,
    ) {
        state.next_due_at = fetched.next_due_at;
        state.idle = fetched.jobs.is_empty();
        for job in fetched.jobs {
            let job_id = job.record.id.clone();
            lock_held(&self.locks).insert(
                job_id.clone(),
                Held {
                    token: token.clone(),
                    finishing: false,
                },
            );
            let memo = job.memo.clone();
            let attempt = run_attempt(job, token.clone(), self.attempts.clone());
            let done_tx = done_tx.clone();
            let task = tokio::spawn(async move {
                let finished = attempt.await;
                // The receiver lives as long as the dispatcher, which waits for every attempt
                // (or aborts it).
                let _ = done_tx.send(finished);
            });
            let running = Running {
                abort: task.abort_handle(),
                memo,
            };
            state.running.insert(job_id, running);
        }
    }

    /// Logs and reports a failed store call, and holds the next call back for the backoff. A
    /// permanent error is an `ERROR` (the message says what to fix) and counts towards
    /// `stop_after_permanent_errors`.
    fn pause_after_error(&self, error: crate::Error, state: &mut LoopState) {
        let retry_in_ms = state.error_backoff.as_millis() as u64;
        if error.is_permanent() {
            state.permanent_errors += 1;
            let consecutive = state.permanent_errors;
            tracing::error!(queue = %self.queue(), error = %error, consecutive, retry_in_ms, "the store refuses the worker's calls; retrying until the cause is fixed");
            notify(
                self.options(),
                &WorkerEvent::StoreFailing {
                    message: error.to_string(),
                    consecutive,
                },
            );
            if self
                .options()
                .stop_after_permanent_errors
                .is_some_and(|limit| consecutive >= limit)
            {
                tracing::error!(queue = %self.queue(), error = %error, consecutive, "stopping the worker: too many permanent store errors in a row (stop_after_permanent_errors)");
                state.gave_up = Some(crate::Error::Store {
                    message: format!(
                        "worker stopped after {consecutive} permanent store errors in a row; the last: {error}"
                    ),
                    source: Some(Box::new(error)),
                });
            }
        } else {
            tracing::warn!(queue = %self.queue(), error = %error, retry_in_ms, "store call failed; retrying");
            notify(
                self.options(),
                &WorkerEvent::Error {
                    message: error.to_string(),
                },
            );
        }
        state.retry_at = Some(Instant::now() + state.error_backoff);
        state.error_backoff = (state.error_backoff * 2).min(MAX_ERROR_BACKOFF);
    }

    /// The close deadline passed (or a second signal came): drops the running attempts and, in
    /// one store call bounded by [`RELEASE_BUDGET`], hands their jobs back (and records the
    /// outcomes still pending). Calls in flight get the same budget to answer; jobs they
    /// fetched are handed back without running.
    async fn abandon(
        &self,
        mut state: LoopState,
        mut calls: FuturesUnordered<Call>,
        mut done_rx: mpsc::UnboundedReceiver<FinishedAttempt>,
    ) -> Closed {
        let budget = Instant::now() + RELEASE_BUDGET;
        for running in state.running.values() {
            running.abort.abort();
        }
        // the renewer must not report the locks this hands back as lost
        for held in lock_held(&self.locks).values_mut() {
            held.finishing = true;
        }
        while let Ok(done) = done_rx.try_recv() {
            state.attempt_returned(done);
        }
        let now = self.now();
        let release = |job_id: JobId, token: LockToken, memo: StoreMemo| Finish {
            job_id,
            token,
            end: AttemptEnd::Delayed { until: now },
            memo,
        };
        let mut releases: Vec<Finish> = {
            let held = lock_held(&self.locks);
            state
                .running
                .drain()
                .filter_map(|(job_id, r)| {
                    let token = held.get(&job_id)?.token.clone();
                    Some(release(job_id, token, r.memo))
                })
                .collect()
        };
        while !calls.is_empty() {
            let Ok(Some(call)) = tokio::time::timeout_at(budget, calls.next()).await else {
                break;
            };
            let fetched = match call {
                CallDone::Fetch { sent, result } => result.ok().map(|f| (f, sent.token)),
                CallDone::Finish {
                    batch,
                    fetch,
                    result,
                } => match result {
                    Ok(result) => {
                        self.finished(batch, result.items);
                        fetch.map(|sent| (result.fetched, sent.token))
                    }
                    Err(_) => {
                        state.pending.extend(batch);
                        None
                    }
                },
            };
            if let Some((fetched, token)) = fetched {
                for job in fetched.jobs {
                    lock_held(&self.locks).insert(
                        job.record.id.clone(),
                        Held {
                            token: token.clone(),
                            finishing: true,
                        },
                    );
                    releases.push(release(job.record.id, token.clone(), job.memo));
                }
            }
        }
        let outcomes = std::mem::take(&mut state.pending);
        let abandoned_running = releases.len();
        let mut items: Vec<Finish> = outcomes.iter().map(|o| o.finish.clone()).collect();
        items.extend(releases);
        if items.is_empty() {
            return Closed::default();
        }
        let request = FinishJobs {
            queue: self.queue().clone(),
            now,
            items,
            fetch_next: None,
        };
        let answer = tokio::time::timeout_at(budget, self.backend().job_finish(request)).await;
        let answers = match answer {
            Ok(Ok(result)) => result.items,
            Ok(Err(e)) => {
                tracing::warn!(queue = %self.queue(), error = %e, "could not hand back abandoned jobs; they run again when their locks expire");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(queue = %self.queue(), "the store did not answer in time to hand back abandoned jobs; they run again when their locks expire");
                Vec::new()
            }
        };
        let mut answers = answers.into_iter();
        let mut closed = Closed::default();
        for outcome in outcomes {
            match answers.next() {
                Some(Ok(())) => notify(self.options(), &outcome.event),
                _ => closed.abandoned += 1,
            }
        }
        closed.abandoned += abandoned_running;
        closed.released = answers.filter(Result::is_ok).count();
        lock_held(&self.locks).clear();
        tracing::warn!(queue = %self.queue(), abandoned = closed.abandoned, released = closed.released, "closed before every running job finished; abandoned jobs run again elsewhere");
        closed
    }
}

/// Resolves at `at`, or never without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
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
