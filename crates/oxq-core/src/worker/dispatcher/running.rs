//! The attempts whose processors have not returned: starting them as tasks, and the slots
//! that track them until they report back.
//!
//! Each running attempt has a slot in a [`RunningSet`] (a vector reusing freed slots: no
//! hashing, no key copied per job), which its task sends back with its outcome. The slot holds
//! what an abandon needs: the task to drop, and the job's id and store memo to hand the job back
//! with (its lock token is in the held-locks map).

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backend::{Fetched, StoreMemo};
use crate::ids::{JobId, LockToken};
use crate::worker::attempt::{Began, FinishedAttempt, run_attempt};
use crate::worker::attempt_span;
use crate::worker::maintenance::{Held, lock_held};

use super::{FetchLoop, LoopState};

/// An attempt whose processor has not returned: what abandoning it needs.
pub(super) struct Running {
    /// An abandon aborts the task; dropping the handle leaves it be.
    pub task: JoinHandle<()>,
    pub job_id: JobId,
    /// Handed back with the job if it is abandoned.
    pub memo: StoreMemo,
    /// The attempt's start, added to its event's timing once it returned.
    pub began: Began,
}

/// What an attempt's task sends back: its slot and its outcome.
#[derive(Debug)]
pub(super) struct Returned {
    slot: usize,
    attempt: FinishedAttempt,
}

/// The running attempts, by slot.
#[derive(Default)]
pub(super) struct RunningSet {
    slots: Vec<Option<Running>>,
    /// Slots free for the next attempts.
    vacant: Vec<usize>,
    len: usize,
}

impl RunningSet {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the attempt `start` makes, given the slot it takes.
    fn start(&mut self, start: impl FnOnce(usize) -> Running) {
        let slot = self.vacant.pop().unwrap_or(self.slots.len());
        let running = Some(start(slot));
        match self.slots.get_mut(slot) {
            Some(vacant) => *vacant = running,
            None => self.slots.push(running),
        }
        self.len += 1;
    }

    /// The attempt in `returned`'s slot reported: the slot is free again; its outcome.
    pub(super) fn returned(&mut self, returned: Returned) -> FinishedAttempt {
        let Returned { slot, mut attempt } = returned;
        // (its task has ended: dropping the handle only releases it)
        if let Some(running) = self.slots.get_mut(slot).and_then(Option::take) {
            running.began.stamp(&mut attempt.event);
            self.vacant.push(slot);
            self.len -= 1;
        }
        attempt
    }

    /// Asks every running attempt's task to stop (one in the middle of a poll stops after it).
    pub(super) fn abort_all(&self) {
        for running in self.slots.iter().flatten() {
            running.task.abort();
        }
    }

    /// Takes every running attempt out of the set.
    pub(super) fn drain(&mut self) -> impl Iterator<Item = Running> + '_ {
        self.len = 0;
        self.vacant.clear();
        self.slots.drain(..).flatten()
    }
}

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    /// Starts an attempt task for each fetched job, held under `token`.
    pub(super) fn start_jobs(
        &self,
        fetched: Fetched,
        token: &LockToken,
        state: &mut LoopState,
        done_tx: &mpsc::UnboundedSender<Returned>,
    ) {
        state.next_due_at = fetched.next_due_at;
        state.idle = fetched.jobs.is_empty();
        if let Some(until) = fetched.rate_limited_until {
            self.rate_limited(until, state);
        }
        if fetched.jobs.is_empty() {
            return;
        }
        // one cancellation token per job: the renewer fires it, the attempt watches it
        let cancellations: Vec<CancellationToken> = {
            let mut held = lock_held(&self.locks);
            fetched
                .jobs
                .iter()
                .map(|job| {
                    let cancellation = CancellationToken::new();
                    held.insert(
                        job.record.id.clone(),
                        Held {
                            token: token.clone(),
                            finishing: false,
                            lost: false,
                            cancellation: cancellation.clone(),
                        },
                    );
                    cancellation
                })
                .collect()
        };
        for (job, cancellation) in fetched.jobs.into_iter().zip(cancellations) {
            let (job_id, memo) = (job.record.id.clone(), job.memo.clone());
            let began = Began::of(&job.record);
            let span = attempt_span::open(&job.record, &self.attempts.queue);
            let attempt = run_attempt(job, token.clone(), cancellation, self.attempts.clone());
            let attempt = attempt_span::traced(span, attempt);
            let done_tx = done_tx.clone();
            state.running.start(|slot| Running {
                task: tokio::spawn(async move {
                    let attempt = attempt.await;
                    // The receiver lives as long as the loop, which waits for every attempt
                    // (or aborts it).
                    let _ = done_tx.send(Returned { slot, attempt });
                }),
                job_id,
                memo,
                began,
            });
        }
    }
}
