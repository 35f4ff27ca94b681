//! How an attempt ended ([`AttemptEnd`]), as `scripts/finish.lua` reads it: one
//! [`FinishArgs`] per item (kind, value, delay, retention).

use oxq_core::KeepJobs;
use oxq_core::backend::{AttemptEnd, Retry};
use oxq_core::clock::millis;

/// One finish item as the finish script reads it: kind, value, delay ms, keep count, keep age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinishArgs {
    pub kind: &'static str,
    pub value: String,
    pub delay_ms: u64,
    pub keep_count: i64,
    pub keep_age_ms: u64,
}

/// Encodes how an attempt ended, at `now`; `None` for ends this store does not know.
///
/// Kinds: `completed`; `retry` (failed, waiting again now); `delay` (failed, delayed by its
/// backoff, an attempt used); `failed` (for good); `postpone` (the processor asked to run
/// again at `until`: delayed for `until - now` ms, or 0 when `until` has passed, no attempt
/// used; BullMQ's `moveToDelayed` with skip-attempt); `wait-children` (the processor waits for
/// its children, no attempt used; BullMQ's `moveToWaitingChildren`); `rate-limited` (the
/// processor hit a rate limit: back to waiting, no attempt used, the queue limited for
/// `delay_ms`; BullMQ's `rateLimit(ms)` + `moveJobFromActiveToWait`).
pub(crate) fn finish_args(end: &AttemptEnd, now: u64) -> Option<FinishArgs> {
    Some(match end {
        AttemptEnd::Completed { return_value, keep } => {
            let (keep_count, keep_age_ms) = keep_args(*keep);
            FinishArgs {
                kind: "completed",
                value: return_value.clone(),
                delay_ms: 0,
                keep_count,
                keep_age_ms,
            }
        }
        AttemptEnd::Failed { reason, retry } => {
            let (kind, delay_ms, keep) = match retry {
                Retry::Now => ("retry", 0, KeepJobs::All),
                Retry::After(d) if d.is_zero() => ("retry", 0, KeepJobs::All),
                Retry::After(d) => ("delay", millis(*d), KeepJobs::All),
                Retry::Never { keep } => ("failed", 0, *keep),
            };
            let (keep_count, keep_age_ms) = keep_args(keep);
            FinishArgs {
                kind,
                value: reason.clone(),
                delay_ms,
                keep_count,
                keep_age_ms,
            }
        }
        AttemptEnd::Delayed { until } => FinishArgs {
            kind: "postpone",
            value: String::new(),
            delay_ms: until.saturating_sub(now),
            keep_count: -1,
            keep_age_ms: 0,
        },
        AttemptEnd::WaitForChildren => FinishArgs {
            kind: "wait-children",
            value: String::new(),
            delay_ms: 0,
            keep_count: -1,
            keep_age_ms: 0,
        },
        AttemptEnd::RateLimited { duration } => FinishArgs {
            kind: "rate-limited",
            value: String::new(),
            delay_ms: millis(*duration),
            keep_count: -1,
            keep_age_ms: 0,
        },
        _ => return None,
    })
}

/// Retention as the finish script's `(keep count, keep age ms)`: count −1 keeps all, 0 removes.
fn keep_args(keep: KeepJobs) -> (i64, u64) {
    match keep {
        KeepJobs::All => (-1, 0),
        KeepJobs::None => (0, 0),
        KeepJobs::Count(n) => (i64::from(n), 0),
        KeepJobs::Age { max_age, count } => (count.map_or(-1, i64::from), millis(max_age).max(1)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn attempt_ends_encode_for_the_finish_script() {
        let postpone = finish_args(&AttemptEnd::Delayed { until: 10_500 }, 10_000).expect("known");
        assert_eq!((postpone.kind, postpone.delay_ms), ("postpone", 500));
        let overdue = finish_args(&AttemptEnd::Delayed { until: 9_000 }, 10_000).expect("known");
        assert_eq!(overdue.delay_ms, 0, "a time already passed is due now");
        let wait = finish_args(&AttemptEnd::WaitForChildren, 10_000).expect("known");
        assert_eq!((wait.kind, wait.delay_ms), ("wait-children", 0));
        let backoff = AttemptEnd::Failed {
            reason: "boom".into(),
            retry: Retry::After(Duration::from_millis(250)),
        };
        let backoff = finish_args(&backoff, 10_000).expect("known");
        assert_eq!((backoff.kind, backoff.delay_ms), ("delay", 250));
        assert_eq!(backoff.value, "boom");
        let done = AttemptEnd::Completed {
            return_value: "1".into(),
            keep: KeepJobs::Count(3),
        };
        let done = finish_args(&done, 0).expect("known");
        assert_eq!(
            (done.kind, done.keep_count, done.keep_age_ms),
            ("completed", 3, 0)
        );
    }

    #[test]
    fn retention_maps_to_count_and_age() {
        assert_eq!(keep_args(KeepJobs::All), (-1, 0));
        assert_eq!(keep_args(KeepJobs::None), (0, 0));
        let half = KeepJobs::Age {
            max_age: Duration::from_millis(500),
            count: None,
        };
        assert_eq!(keep_args(half), (-1, 500));
    }
}
