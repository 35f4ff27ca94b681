//! The loop's store calls and their answers: a fetch alone, or a finish that records a batch
//! of outcomes and fetches the next jobs in the same call; then starting what came back and
//! reporting each recorded outcome to the listener.
//!
//! A fetch goes out under a new lock token, and the jobs it may bring back hold their slots
//! until its call returns. A finish the store refused as a whole keeps its outcomes: they go
//! out again with the next one.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::backend::{Fetch, FetchJobs, Fetched, FinishJobs, FinishResult};
use crate::ids::LockToken;
use crate::worker::attempt::FinishedAttempt;
use crate::worker::events::WorkerEvent;
use crate::worker::maintenance::{lock_held, notify};
use crate::worker::refused;

use super::running::Returned;
use super::{FetchLoop, LoopState};

/// A fetch that went out with a store call: its lock token and how many jobs it asked for.
pub(super) struct FetchSent {
    pub token: LockToken,
    pub max_jobs: usize,
}

/// What a store call in flight resolves to.
pub(super) enum CallDone {
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

pub(super) type Call = Pin<Box<dyn Future<Output = CallDone> + Send>>;

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    /// A fetch-only store call for up to `max_jobs` jobs.
    pub(super) fn fetch_call(&self, max_jobs: usize, state: &mut LoopState) -> Call {
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
    pub(super) fn finish_call(&self, state: &mut LoopState) -> Call {
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
        let limited = state.rate_limited_at(self.now());
        let (fetch_next, fetch) = if !state.closing() && free > 0 && !limited {
            let (fetch, sent) = self.reserve_fetch(free, state);
            (Some(fetch), Some(sent))
        } else {
            (None, None)
        };
        let request = FinishJobs {
            queue: self.queue().clone(),
            now: self.now(),
            items: batch.iter().map(|p| p.finish.clone()).collect(),
            fetch_next,
            metrics: self.options().metrics,
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

    pub(super) fn call_returned(
        &self,
        call: CallDone,
        state: &mut LoopState,
        done_tx: &mpsc::UnboundedSender<Returned>,
    ) {
        match call {
            CallDone::Fetch { sent, result } => {
                state.requested -= sent.max_jobs;
                match result {
                    Ok(fetched) => {
                        state.errors.succeeded();
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
                        state.errors.succeeded();
                        self.limits_recorded(&batch, &result.items, state);
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

    /// The store answered a finish call: the jobs are no longer held; report each outcome (a
    /// lost lock only when the renewer has not reported it already).
    pub(super) fn finished(&self, batch: Vec<FinishedAttempt>, outcomes: Vec<crate::Result<()>>) {
        // (empty, so never allocated, unless a lock was lost)
        let mut told_lost = Vec::new();
        {
            let mut map = lock_held(&self.locks);
            for (i, attempt) in batch.iter().enumerate() {
                if map.remove(&attempt.finish.job_id).is_some_and(|h| h.lost) {
                    told_lost.push(i);
                }
            }
        }
        for (i, (attempt, outcome)) in batch.into_iter().zip(outcomes).enumerate() {
            match outcome {
                Ok(()) => notify(self.options(), &attempt.event),
                Err(e) if refused::is_dependency_refusal(&e) => {
                    tokio::spawn(refused::fail_refused_completion(
                        self.backend().clone(),
                        self.queue().clone(),
                        self.attempts.clock.clone(),
                        self.attempts.options.clone(),
                        attempt.finish,
                        attempt.event.timing().copied().unwrap_or_default(),
                        e,
                    ));
                }
                Err(_) if told_lost.contains(&i) => {}
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
    pub(super) fn free_slots(&self, state: &LoopState) -> usize {
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
            limiter: self.options().limiter,
        };
        let sent = FetchSent {
            token: request.token.clone(),
            max_jobs,
        };
        (request, sent)
    }
}
