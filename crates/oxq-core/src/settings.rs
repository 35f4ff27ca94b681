//! Range checks of [`WorkerOptions`] and [`QueueOptions`], run where they take effect
//! ([`Worker::try_start`](crate::Worker::try_start), [`Queue::with_options`](crate::Queue::with_options)),
//! like [`JobOptions::validate`](crate::JobOptions::validate) at add time. Each error is an
//! [`Error::InvalidOptions`] naming the option, the value given and the valid range.
//!
//! | option | valid range | what goes wrong outside it |
//! |---|---|---|
//! | `concurrency` | 1 or more | no job would ever run |
//! | `lock_duration` | 100 ms ..= 24 h | locks expire before they are renewed: jobs run again as stalled |
//! | `stalled_interval` | 100 ms ..= 24 h | 0 stops the stalled-job check (a Tokio interval of 0 panics) |
//! | `drain_delay` | 10 ms ..= 1 h | 0 polls the store in a busy loop |
//! | `close_timeout` | 100 ms ..= 24 h, or unset (no deadline) | shorter, a close abandons jobs about to finish and they run again elsewhere; longer is no deadline at all: leave it unset |
//! | `stop_after_permanent_errors` | 1 or more, or unset (never stop) | 0 would stop at the first error, as 1 does, when it reads as "never" |
//! | `name` | not empty, when set | an empty `processed_by` |
//! | `metrics` | 1 ..= 525 600 points (a year of minutes), or unset (off) | 0 keeps no point; a finish after a long gap writes up to that many zeros in one step |
//! | `max_payload_bytes` | 1 B ..= 512 MiB | 0 refuses every job; Redis stores no string over 512 MiB |

use std::time::Duration;

use crate::error::{Error, Result};
use crate::queue::QueueOptions;
use crate::worker::WorkerOptions;

/// The shortest lock a worker may take (renewed every quarter of it).
pub const MIN_LOCK_DURATION: Duration = Duration::from_millis(100);
/// The shortest interval between stalled-job checks.
pub const MIN_STALLED_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest idle wait in the store.
pub const MIN_DRAIN_DELAY: Duration = Duration::from_millis(10);
/// The shortest deadline a close may give running jobs.
pub const MIN_CLOSE_TIMEOUT: Duration = Duration::from_millis(100);
/// The longest lock, stalled interval or idle wait accepted.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);
const MAX_DRAIN_DELAY: Duration = Duration::from_secs(60 * 60);
/// The most points (minutes) a worker's `metrics` may keep per series: a year.
pub const MAX_METRICS_POINTS: u32 = 365 * 24 * 60;
/// The largest `max_payload_bytes`: Redis's largest string.
pub const MAX_PAYLOAD_LIMIT: usize = 512 * 1024 * 1024;

fn in_range(option: &str, value: Duration, min: Duration, max: Duration) -> Result<()> {
    in_range_or(option, value, min, max, "")
}

/// [`in_range`] whose error ends with `alternative` (", or leave it unset ...").
fn in_range_or(
    option: &str,
    value: Duration,
    min: Duration,
    max: Duration,
    alternative: &str,
) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "worker option `{option}` is {}; use {} ..= {}{alternative}",
        human(value),
        human(min),
        human(max)
    )))
}

/// `250 ms`, `30 s`, `24 h`: the largest unit that shows the value exactly.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 && !d.is_zero() {
        return format!("{d:?}");
    }
    match ms {
        ms if ms >= 3_600_000 && ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms >= 1000 && ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{ms} ms"),
    }
}

impl WorkerOptions {
    /// Checks every option against the table in [`settings`](crate::settings); the error
    /// names the first one out of range.
    pub fn validate(&self) -> Result<()> {
        if self.concurrency == 0 {
            return Err(Error::invalid(
                "worker option `concurrency` is 0; use 1 or more",
            ));
        }
        in_range(
            "lock_duration",
            self.lock_duration,
            MIN_LOCK_DURATION,
            MAX_INTERVAL,
        )?;
        in_range(
            "stalled_interval",
            self.stalled_interval,
            MIN_STALLED_INTERVAL,
            MAX_INTERVAL,
        )?;
        in_range(
            "drain_delay",
            self.drain_delay,
            MIN_DRAIN_DELAY,
            MAX_DRAIN_DELAY,
        )?;
        if let Some(close_timeout) = self.close_timeout {
            in_range_or(
                "close_timeout",
                close_timeout,
                MIN_CLOSE_TIMEOUT,
                MAX_INTERVAL,
                ", or leave it unset to wait without a deadline",
            )?;
        }
        if self.stop_after_permanent_errors == Some(0) {
            return Err(Error::invalid(
                "worker option `stop_after_permanent_errors` is 0; use 1 or more, or leave it unset to keep retrying",
            ));
        }
        if let Some(problem) = self.limiter.as_ref().and_then(|l| l.problem()) {
            return Err(Error::invalid(format!(
                "worker option `limiter`: {problem}"
            )));
        }
        if let Some(points) = self.metrics
            && !(1..=MAX_METRICS_POINTS).contains(&points)
        {
            return Err(Error::invalid(format!(
                "worker option `metrics` is {points} points; use 1 ..= {MAX_METRICS_POINTS} (a year of minutes), or leave it unset"
            )));
        }
        if self.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid(
                "worker option `name` is empty; give a name or leave it unset",
            ));
        }
        Ok(())
    }
}

impl QueueOptions {
    /// Checks every option against the table in [`settings`](crate::settings).
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_PAYLOAD_LIMIT).contains(&self.max_payload_bytes) {
            return Err(Error::invalid(format!(
                "queue option `max_payload_bytes` is {}; use 1 ..= {MAX_PAYLOAD_LIMIT} (512 MiB)",
                self.max_payload_bytes
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails unless `result` is `InvalidOptions` naming `option` and the range `range`.
    fn rejected(result: Result<()>, option: &str, range: &str) {
        match result {
            Err(Error::InvalidOptions(message)) => assert!(
                message.contains(&format!("`{option}`")) && message.contains(range),
                "{message:?} should name `{option}` and {range:?}"
            ),
            other => panic!("expected InvalidOptions for {option}, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(WorkerOptions::new().validate().is_ok());
        assert!(QueueOptions::new().validate().is_ok());
    }

    #[test]
    fn metrics_points_out_of_range_are_rejected() {
        for points in [0, MAX_METRICS_POINTS + 1] {
            let options = WorkerOptions::new().metrics(points);
            rejected(options.validate(), "metrics", "use 1 ..= 525600");
        }
        for points in [1, crate::METRICS_ONE_WEEK, MAX_METRICS_POINTS] {
            assert!(WorkerOptions::new().metrics(points).validate().is_ok());
        }
    }

    #[test]
    fn zero_concurrency_is_rejected() {
        let mut options = WorkerOptions::new();
        options.concurrency = 0;
        rejected(options.validate(), "concurrency", "1 or more");
    }

    #[test]
    fn lock_duration_out_of_range_is_rejected() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(99),
            Duration::from_secs(86_401),
        ] {
            let options = WorkerOptions::new().lock_duration(d);
            rejected(options.validate(), "lock_duration", "use 100 ms ..= 24 h");
        }
        assert!(
            WorkerOptions::new()
                .lock_duration(MIN_LOCK_DURATION)
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn stalled_interval_out_of_range_is_rejected() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(50),
            Duration::from_secs(86_401),
        ] {
            let options = WorkerOptions::new().stalled_interval(d);
            rejected(
                options.validate(),
                "stalled_interval",
                "use 100 ms ..= 24 h",
            );
        }
    }

    #[test]
    fn drain_delay_out_of_range_is_rejected() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(9),
            Duration::from_secs(3601),
        ] {
            let options = WorkerOptions::new().drain_delay(d);
            rejected(options.validate(), "drain_delay", "use 10 ms ..= 1 h");
        }
    }

    #[test]
    fn close_timeout_out_of_range_is_rejected() {
        for d in [
            Duration::ZERO,
            Duration::from_millis(99),
            Duration::from_secs(86_401),
        ] {
            let options = WorkerOptions::new().close_timeout(d);
            rejected(
                options.validate(),
                "close_timeout",
                "use 100 ms ..= 24 h, or leave it unset",
            );
        }
        for d in [MIN_CLOSE_TIMEOUT, MAX_INTERVAL] {
            assert!(WorkerOptions::new().close_timeout(d).validate().is_ok());
        }
        let mut unset = WorkerOptions::new();
        unset.close_timeout = None;
        assert!(unset.validate().is_ok(), "no deadline is valid");
    }

    #[test]
    fn zero_permanent_errors_before_stopping_is_rejected() {
        rejected(
            WorkerOptions::new()
                .stop_after_permanent_errors(0)
                .validate(),
            "stop_after_permanent_errors",
            "use 1 or more, or leave it unset",
        );
        for n in [1, u32::MAX] {
            assert!(
                WorkerOptions::new()
                    .stop_after_permanent_errors(n)
                    .validate()
                    .is_ok()
            );
        }
    }

    #[test]
    fn an_empty_name_is_rejected() {
        rejected(
            WorkerOptions::new().name(" ").validate(),
            "name",
            "leave it unset",
        );
    }

    #[test]
    fn max_payload_bytes_out_of_range_is_rejected() {
        for bytes in [0, MAX_PAYLOAD_LIMIT + 1] {
            let options = QueueOptions::new().max_payload_bytes(bytes);
            rejected(
                options.validate(),
                "max_payload_bytes",
                "use 1 ..= 536870912",
            );
        }
    }

    #[test]
    fn durations_read_in_their_largest_exact_unit() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(30)), "30 s");
        assert_eq!(human(Duration::from_secs(7200)), "2 h");
        assert_eq!(human(Duration::from_micros(5)), "5µs");
    }
}
