//! The worker's main loop: keeps up to `concurrency` jobs running, records their outcomes in
//! batches, and fetches the next jobs in the same store call that records the last ones.
//!
//! One task owns all the bookkeeping (no locks but the held-locks map the renewer reads):
//! attempts run in their own tasks and report back over a channel; while a store call is in
//! flight, finished attempts pile up in the channel and go out together in the next call. An
//! idle worker blocks in [`Backend::queue_wait`] (never a busy poll). Store errors never drop
//! an outcome: the batch is kept and retried with capped exponential backoff (reset by any
//! successful store call, a wait included), while the lock renewer keeps the jobs' locks alive.
//! After a failed wait the worker fetches before it waits again, since wake-ups can be lost
//! with the store (an outage of any length ends with a fetch, not with a wait for a wake-up).

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::backend::{Backend, FetchJobs, Fetched, FinishJobs, WaitForJobs, Wakeup};
use crate::clock::now_ms;
use crate::ids::{LockToken, QueueRef};
use crate::worker::attempt::{FinishedAttempt, run_attempt};
use crate::worker::events::WorkerEvent;
use crate::worker::maintenance::{Held, HeldLocks, lock_held, notify};
use crate::worker::options::WorkerOptions;
use crate::worker::processor::ErasedProcessor;

const FIRST_ERROR_BACKOFF: Duration = Duration::from_millis(100);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);
/// How many times the loop yields to running attempts before recording a partial batch.
const BATCH_YIELDS: usize = 1;

pub(crate) struct Dispatcher<T> {
    pub backend: Arc<dyn Backend>,
    pub queue: QueueRef,
    pub options: Arc<WorkerOptions>,
    pub processor: ErasedProcessor<T>,
    /// The queue handle's `max_payload_bytes`: larger stored payloads fail without running.
    pub max_payload_bytes: usize,
    pub locks: HeldLocks,
    pub worker_id: String,
    pub close: watch::Receiver<bool>,
}

struct LoopState {
    in_flight: usize,
    pending: Vec<FinishedAttempt>,
    closing: bool,
    /// The last fetch found nothing: wait in the store before fetching again.
    idle: bool,
    next_due_at: Option<u64>,
    error_backoff: Duration,
    fetches: u64,
}

impl<T: DeserializeOwned + Send + 'static> Dispatcher<T> {
    pub(crate) async fn run(mut self) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<FinishedAttempt>();
        let mut state = LoopState {
            in_flight: 0,
            pending: Vec::new(),
            closing: *self.close.borrow(),
            idle: false,
            next_due_at: None,
            error_backoff: FIRST_ERROR_BACKOFF,
            fetches: 0,
        };
        loop {
            while let Ok(done) = done_rx.try_recv() {
                state.pending.push(done);
            }
            if !state.pending.is_empty() {
                // Let attempts that are about to end (short jobs) join this batch: one store
                // call for many outcomes is the cheapest way to record them.
                for _ in 0..BATCH_YIELDS {
                    if state.pending.len() >= state.in_flight {
                        break;
                    }
                    tokio::task::yield_now().await;
                    while let Ok(done) = done_rx.try_recv() {
                        state.pending.push(done);
                    }
                }
                self.flush(&mut state, &done_tx).await;
                continue;
            }
            if state.closing && state.in_flight == 0 {
                break;
            }
            let free = self.options.concurrency.saturating_sub(state.in_flight);
            if !state.closing && free > 0 && !state.idle {
                let request = self.fetch_request(free, &mut state);
                match self.backend.job_move_to_active(request.clone()).await {
                    Ok(fetched) => {
                        state.error_backoff = FIRST_ERROR_BACKOFF;
                        self.start_jobs(fetched, &request.token, &mut state, &done_tx);
                    }
                    Err(e) => self.pause_after_error(&e, &mut state).await,
                }
                continue;
            }
            let wait_timeout = self.wait_timeout(&state);
            let can_wait = !state.closing && free > 0 && state.idle;
            tokio::select! {
                done = done_rx.recv() => {
                    if let Some(done) = done {
                        state.pending.push(done);
                    }
                }
                changed = self.close.changed(), if !state.closing => {
                    state.closing = changed.is_err() || *self.close.borrow();
                }
                woke = self.backend.queue_wait(WaitForJobs { queue: self.queue.clone(), timeout: wait_timeout }), if can_wait => {
                    match woke {
                        Ok(wakeup) => {
                            state.error_backoff = FIRST_ERROR_BACKOFF;
                            match wakeup {
                                Wakeup::DueAt(at) if at > now_ms() => state.next_due_at = Some(at),
                                _ => state.idle = false,
                            }
                        }
                        Err(e) => {
                            self.pause_after_error(&e, &mut state).await;
                            // A wake-up may have been lost with the store (popped by a wait whose
                            // answer never came, or never persisted): look before waiting again.
                            state.idle = false;
                        }
                    }
                }
            }
        }
    }

    fn fetch_request(&self, max_jobs: usize, state: &mut LoopState) -> FetchJobs {
        state.fetches += 1;
        FetchJobs {
            queue: self.queue.clone(),
            token: LockToken(format!("{}:{}", self.worker_id, state.fetches)),
            lock_duration: self.options.lock_duration,
            max_jobs: u32::try_from(max_jobs).unwrap_or(u32::MAX),
            worker_name: self.options.name.clone(),
            now: now_ms(),
        }
    }

    /// How long to block in the store: until the next delayed job is due, at most `drain_delay`.
    fn wait_timeout(&self, state: &LoopState) -> Duration {
        let drain = self.options.drain_delay;
        match state.next_due_at {
            Some(due) => Duration::from_millis(due.saturating_sub(now_ms())).min(drain),
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
        for record in fetched.jobs {
            state.in_flight += 1;
            lock_held(&self.locks).insert(
                record.id.clone(),
                Held {
                    token: token.clone(),
                    finishing: false,
                },
            );
            let attempt = run_attempt(
                record,
                token.clone(),
                self.backend.clone(),
                self.queue.clone(),
                self.processor.clone(),
                self.options.clone(),
                self.max_payload_bytes,
            );
            let done_tx = done_tx.clone();
            tokio::spawn(async move {
                let finished = attempt.await;
                // The receiver lives as long as the dispatcher, which waits for every attempt.
                let _ = done_tx.send(finished);
            });
        }
    }

    /// Records every pending outcome in one store call, fetching more jobs in the same call.
    async fn flush(&self, state: &mut LoopState, done_tx: &mpsc::UnboundedSender<FinishedAttempt>) {
        {
            let mut held = lock_held(&self.locks);
            for attempt in &state.pending {
                if let Some(job) = held.get_mut(&attempt.finish.job_id) {
                    job.finishing = true;
                }
            }
        }
        let finishing = state.pending.len();
        let free_after = self
            .options
            .concurrency
            .saturating_sub(state.in_flight - finishing);
        let fetch_next =
            (!state.closing && free_after > 0).then(|| self.fetch_request(free_after, state));
        let token = fetch_next.as_ref().map(|f| f.token.clone());
        let request = FinishJobs {
            queue: self.queue.clone(),
            now: now_ms(),
            items: state.pending.iter().map(|p| p.finish.clone()).collect(),
            fetch_next,
        };
        let result = match self.backend.job_finish(request).await {
            Ok(result) => result,
            Err(e) => {
                self.pause_after_error(&e, state).await;
                return;
            }
        };
        state.error_backoff = FIRST_ERROR_BACKOFF;
        let done = std::mem::take(&mut state.pending);
        {
            let mut map = lock_held(&self.locks);
            for attempt in &done {
                map.remove(&attempt.finish.job_id);
            }
        }
        state.in_flight -= done.len();
        for (attempt, outcome) in done.into_iter().zip(result.items) {
            match outcome {
                Ok(()) => notify(&self.options, &attempt.event),
                Err(e) => {
                    tracing::warn!(queue = %self.queue, job_id = %attempt.finish.job_id, error = %e, "the store refused the job's outcome");
                    notify(
                        &self.options,
                        &WorkerEvent::LockLost {
                            job_id: attempt.finish.job_id,
                        },
                    );
                }
            }
        }
        if let Some(token) = token {
            self.start_jobs(result.fetched, &token, state, done_tx);
        }
    }

    async fn pause_after_error(&self, error: &crate::Error, state: &mut LoopState) {
        tracing::warn!(queue = %self.queue, error = %error, retry_in_ms = state.error_backoff.as_millis() as u64, "store call failed; retrying");
        notify(
            &self.options,
            &WorkerEvent::Error {
                message: error.to_string(),
            },
        );
        tokio::time::sleep(state.error_backoff).await;
        state.error_backoff = (state.error_backoff * 2).min(MAX_ERROR_BACKOFF);
    }
}
