//! Deduplication of adds ([`Deduplication`], BullMQ 6's `deduplication` job option).
//!
//! A job added with a deduplication id *owns* that id until it is released; an add with the
//! same id while it is owned creates nothing and answers the job that owns it
//! ([`AddedJob::Deduplicated`](crate::backend::AddedJob::Deduplicated)), with a `deduplicated`
//! event naming both jobs. The modes, as BullMQ 6 has them:
//!
//! * **simple** ([`Deduplication::new`]): owned until the owning job finishes (completes or
//!   fails for good) or is removed.
//! * **throttle** ([`Deduplication::throttle`]): owned for a time window from the add,
//!   whatever the job does meanwhile (a job that finishes inside its window keeps it owned).
//! * **extend** ([`Deduplication::extend`]): a deduplicated add restarts the window.
//! * **debounce** ([`Deduplication::debounce`]: extend + [`replace`](Deduplication::replace),
//!   with a job [`delay`](crate::JobOptions::delay)): an add within the window while the owner
//!   is still delayed removes the owner and stands in its place, with its own data and a fresh
//!   delay; an owner that already started is kept, as without `replace`.
//! * **keep last if active** ([`Deduplication::keep_last_if_active`]): an add while the owner
//!   is *active* is kept aside (the latest one wins) and becomes a new job when the owner
//!   finishes; the id is owned until then, without a time limit.
//!
//! Windows are measured by the store against the `now` of each call, so tests move a clock.
//! [`Queue::get_deduplication_job_id`](crate::Queue::get_deduplication_job_id) reads the owner
//! and [`Queue::remove_deduplication_key`](crate::Queue::remove_deduplication_key) releases an
//! id at once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::options::duration_ms_opt;

/// Longest accepted window (BullMQ keeps it as a Redis `PX`, a signed 64-bit count of ms).
const MAX_TTL_MS: u128 = i64::MAX as u128;

/// How an add is deduplicated. See the [module docs](self) for the modes.
///
/// ```
/// # use std::time::Duration;
/// # use oxq_core::{Deduplication, JobOptions};
/// // at most one "sync" job per user per minute
/// let opts = JobOptions::new().deduplication(Deduplication::throttle("user-7", Duration::from_secs(60)));
/// assert!(opts.validate().is_ok());
/// // run once, 5 s after the last of a burst of adds, with the last add's data
/// let window = Duration::from_secs(5);
/// let opts = JobOptions::new().delay(window).deduplication(Deduplication::debounce("user-7", window));
/// assert!(opts.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Deduplication {
    /// The deduplication id (any non-empty text).
    pub id: String,
    /// How long the id stays owned after the add; `None`: until the job finishes.
    #[serde(with = "duration_ms_opt")]
    pub ttl: Option<Duration>,
    /// A deduplicated add restarts the window (needs a `ttl`).
    pub extend: bool,
    /// An add within the window replaces the owner while the owner is delayed (needs a delay).
    pub replace: bool,
    /// An add while the owner is active becomes a new job once the owner finishes.
    pub keep_last_if_active: bool,
}

impl Default for Deduplication {
    fn default() -> Self {
        Self::new("")
    }
}

impl Deduplication {
    /// Simple mode: deduplicated while the job that owns `id` has not finished.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ttl: None,
            extend: false,
            replace: false,
            keep_last_if_active: false,
        }
    }

    /// Throttle mode: deduplicated for `window` after the add that took `id`.
    pub fn throttle(id: impl Into<String>, window: Duration) -> Self {
        Self::new(id).ttl(window)
    }

    /// Debounce mode: every add within `window` of the previous one replaces the pending
    /// (delayed) job and restarts the window. The job needs a [`delay`](crate::JobOptions::delay),
    /// usually `window`.
    pub fn debounce(id: impl Into<String>, window: Duration) -> Self {
        Self::new(id).ttl(window).extend(true).replace(true)
    }

    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    pub fn extend(mut self, extend: bool) -> Self {
        self.extend = extend;
        self
    }

    pub fn replace(mut self, replace: bool) -> Self {
        self.replace = replace;
        self
    }

    pub fn keep_last_if_active(mut self, keep: bool) -> Self {
        self.keep_last_if_active = keep;
        self
    }

    /// Checks the combination; `delayed` says whether the job has a delay.
    pub(crate) fn validate(&self, delayed: bool) -> Result<()> {
        if self.id.is_empty() {
            return Err(Error::invalid("deduplication id must not be empty"));
        }
        if let Some(ttl) = self.ttl {
            if ttl.is_zero() {
                return Err(Error::invalid(
                    "deduplication ttl must be greater than zero (leave it unset for \
                     \"until the job finishes\")",
                ));
            }
            if ttl.as_millis() > MAX_TTL_MS {
                return Err(Error::invalid("deduplication ttl is too large"));
            }
            if self.keep_last_if_active {
                return Err(Error::invalid(
                    "deduplication ttl cannot be combined with keep_last_if_active (the id is \
                     then owned until the job finishes, without a time limit)",
                ));
            }
        }
        if self.extend && self.ttl.is_none() {
            return Err(Error::invalid(
                "deduplication extend needs a ttl (it restarts the ttl window)",
            ));
        }
        if self.replace && !delayed {
            return Err(Error::invalid(
                "deduplication replace needs a job delay (only a job still delayed is replaced)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobOptions;

    fn reason(opts: JobOptions) -> String {
        match opts.validate() {
            Err(Error::InvalidOptions(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn bad_combinations_are_refused_with_a_named_reason() {
        let secs = Duration::from_secs;
        assert!(reason(JobOptions::new().deduplication(Deduplication::new(""))).contains("id"));
        assert!(
            reason(JobOptions::new().deduplication(Deduplication::throttle("a", secs(0))))
                .contains("ttl")
        );
        assert!(
            reason(JobOptions::new().deduplication(Deduplication::new("a").extend(true)))
                .contains("extend needs a ttl")
        );
        assert!(
            reason(JobOptions::new().deduplication(Deduplication::debounce("a", secs(1))))
                .contains("delay")
        );
        assert!(
            reason(
                JobOptions::new()
                    .deduplication(Deduplication::throttle("a", secs(1)).keep_last_if_active(true))
            )
            .contains("keep_last_if_active")
        );
        let parent = crate::ParentLink::new(
            crate::QueueRef::new("p").expect("queue"),
            crate::JobId::from("1"),
        );
        assert!(
            reason(
                JobOptions::new()
                    .parent(parent)
                    .deduplication(Deduplication::new("a"))
            )
            .contains("parent")
        );
    }

    #[test]
    fn each_mode_is_accepted() {
        let secs = Duration::from_secs;
        for opts in [
            JobOptions::new().deduplication(Deduplication::new("a")),
            JobOptions::new().deduplication(Deduplication::throttle("a", secs(5))),
            JobOptions::new().deduplication(Deduplication::throttle("a", secs(5)).extend(true)),
            JobOptions::new()
                .delay(secs(5))
                .deduplication(Deduplication::debounce("a", secs(5))),
            JobOptions::new().deduplication(Deduplication::new("a").keep_last_if_active(true)),
            JobOptions::new().delay(secs(5)).deduplication(
                Deduplication::new("a")
                    .replace(true)
                    .keep_last_if_active(true),
            ),
        ] {
            assert!(opts.validate().is_ok(), "{opts:?}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        let opts = JobOptions::new()
            .delay(Duration::from_secs(2))
            .deduplication(Deduplication::debounce("k", Duration::from_millis(1500)));
        let json = serde_json::to_string(&opts).expect("encode");
        let back: JobOptions = serde_json::from_str(&json).expect("decode");
        assert_eq!(back, opts);
    }
}
