//! A failed store call: its report, and the pause before the loop's next call.
//!
//! Store errors never drop an outcome: the batch is kept and retried with capped exponential
//! backoff (reset by any successful store call, a wait included), while the lock renewer keeps
//! the jobs' locks alive. The backoff is a timer inside the loop, not a sleep of it: attempts
//! keep reporting and a close is seen at once. After a failed wait the worker fetches before it
//! waits again, since wake-ups can be lost with the store (an outage of any length ends with a
//! fetch, not with a wait for a wake-up). A permanent error counts towards
//! `stop_after_permanent_errors`.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::worker::events::WorkerEvent;
use crate::worker::maintenance::notify;

use super::{FetchLoop, LoopState};

const FIRST_ERROR_BACKOFF: Duration = Duration::from_millis(100);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// The loop's record of failed store calls.
pub(super) struct ErrorPause {
    backoff: Duration,
    /// A store call failed: no call goes out before this instant.
    retry_at: Option<Instant>,
    /// Store calls failed with a permanent error since the last one that succeeded.
    permanent_errors: u32,
    /// `stop_after_permanent_errors` was reached: the worker stops with this error.
    pub gave_up: Option<crate::Error>,
}

impl Default for ErrorPause {
    fn default() -> Self {
        Self {
            backoff: FIRST_ERROR_BACKOFF,
            retry_at: None,
            permanent_errors: 0,
            gave_up: None,
        }
    }
}

impl ErrorPause {
    /// A store call succeeded: the next failure backs off from the start again.
    pub(super) fn succeeded(&mut self) {
        self.backoff = FIRST_ERROR_BACKOFF;
        self.permanent_errors = 0;
    }

    /// A store call failed a moment ago: wait before the next one.
    pub(super) fn backing_off(&self) -> bool {
        self.retry_at.is_some_and(|at| at > Instant::now())
    }

    /// When the pause ends, if one is under way.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        self.retry_at.filter(|at| *at > Instant::now())
    }

    /// The pause is over.
    pub(super) fn retry_now(&mut self) {
        self.retry_at = None;
    }
}

impl<T: DeserializeOwned + Send + 'static> FetchLoop<T> {
    /// Logs and reports a failed store call, and holds the next call back for the backoff. A
    /// permanent error is an `ERROR` (the message says what to fix) and counts towards
    /// `stop_after_permanent_errors`.
    pub(super) fn pause_after_error(&self, error: crate::Error, state: &mut LoopState) {
        let errors = &mut state.errors;
        let retry_in_ms = errors.backoff.as_millis() as u64;
        if error.is_permanent() {
            errors.permanent_errors += 1;
            let consecutive = errors.permanent_errors;
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
                errors.gave_up = Some(crate::Error::Store {
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
        errors.retry_at = Some(Instant::now() + errors.backoff);
        errors.backoff = (errors.backoff * 2).min(MAX_ERROR_BACKOFF);
    }
}

/// Resolves at `at`, or never without one.
pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
