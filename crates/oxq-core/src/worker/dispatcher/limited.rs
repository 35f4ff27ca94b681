//! A rate-limited queue: the loop starts no job before the limit ends.
//!
//! The store answers "rate limited until T" to a fetch (the global limit or a worker limiter
//! reached its `max`, or a processor limited the queue by hand), and a finish records an
//! [`Outcome::RateLimited`](crate::Outcome::RateLimited). Until T by the worker's clock the
//! loop sends no fetch (a finish carries no fetch-next) and does not block in the store's wait
//! either (jobs are waiting, so that wait would answer at once): it sleeps until T, or until a
//! moved clock passes it, then fetches. With a clock moved by hand, the limit's length in real
//! time also ends the sleep: the store judges again (SQLite by the caller's clock, Redis by the
//! `limiter` key's TTL on its own), so the worker asks at most once per limit and never spins.
//! Each new limit is reported once as [`WorkerEvent::RateLimited`].

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::backend::AttemptEnd;
use crate::worker::attempt::FinishedAttempt;
use crate::worker::events::WorkerEvent;
use crate::worker::maintenance::notify;

use super::{FetchLoop, LoopState};

impl LoopState {
    /// Whether a rate limit holds at `now`; one that has ended is forgotten, and the loop
    /// fetches again.
    pub(super) fn rate_limited_at(&mut self, now: u64) -> bool {
        match self.rate_limited_until {
            Some(until) if until > now => true,
            Some(_) => {
                self.rate_limited_until = None;
                self.idle = false;
                false
            }
            None => false,
        }
    }

    /// How long the loop sleeps before it looks again, while limited.
    pub(super) fn rate_limit_left(&self, now: u64) -> Option<Duration> {
        self.rate_limited_until
            .filter(|until| *until > now)
            .map(|until| Duration::from_millis(until - now))
    }
}

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    /// The store answered that the queue is rate limited until `until`.
    pub(super) fn rate_limited(&self, until: u64, state: &mut LoopState) {
        if until <= self.now() {
            return;
        }
        if state.rate_limited_until.is_none_or(|known| until > known) {
            if state.rate_limited_until.is_none() {
                tracing::debug!(queue = %self.queue(), until, "queue rate limited");
                notify(
                    self.options(),
                    &WorkerEvent::RateLimited {
                        job_id: None,
                        until,
                    },
                );
            }
            state.rate_limited_until = Some(until);
        }
    }

    /// A finish call recorded `batch`: a processor's rate limit holds from now on, whatever a
    /// fetch-next answered (its own event, naming the job, is the attempt's).
    pub(super) fn limits_recorded(
        &self,
        batch: &[FinishedAttempt],
        outcomes: &[crate::Result<()>],
        state: &mut LoopState,
    ) {
        let now = self.now();
        for (attempt, outcome) in batch.iter().zip(outcomes) {
            if let (AttemptEnd::RateLimited { duration }, Ok(())) = (&attempt.finish.end, outcome) {
                let until = now.saturating_add(crate::clock::millis(*duration));
                if state.rate_limited_until.is_none_or(|known| until > known) {
                    state.rate_limited_until = Some(until);
                }
            }
        }
    }
}
