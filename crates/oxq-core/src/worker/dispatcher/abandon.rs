//! A close past its deadline (or a second signal, or too many permanent store errors): the
//! running attempts are dropped and their jobs handed back in one store call, bounded by
//! [`RELEASE_BUDGET`], together with the outcomes still waiting to be recorded.
//!
//! Each job goes back under its lock token as `AttemptEnd::Delayed { until: now }`: its lock is
//! released, no attempt is used, and another worker runs it at once. Calls in flight get the
//! same budget to answer; jobs they fetched are handed back without running.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::backend::{AttemptEnd, Finish, FinishJobs, StoreMemo};
use crate::ids::{JobId, LockToken};
use crate::worker::maintenance::{Held, lock_held, notify};
use crate::worker::shutdown::{Closed, RELEASE_BUDGET};

use super::calls::{Call, CallDone};
use super::running::Returned;
use super::{FetchLoop, LoopState};

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    /// Drops the running attempts and, in one store call bounded by [`RELEASE_BUDGET`], hands
    /// their jobs back (and records the outcomes still pending).
    pub(super) async fn abandon(
        &self,
        mut state: LoopState,
        mut calls: FuturesUnordered<Call>,
        mut done_rx: mpsc::UnboundedReceiver<Returned>,
    ) -> Closed {
        let budget = Instant::now() + RELEASE_BUDGET;
        state.running.abort_all();
        // the renewer must not report the locks this hands back as lost
        for held in lock_held(&self.locks).values_mut() {
            held.finishing = true;
        }
        while let Ok(returned) = done_rx.try_recv() {
            state.attempt_returned(returned);
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
                .filter_map(|running| {
                    let token = held.get(&running.job_id)?.token.clone();
                    Some(release(running.job_id, token, running.memo))
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
                            lost: false,
                            cancellation: Default::default(),
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
            metrics: self.options().metrics,
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
