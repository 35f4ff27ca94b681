//! [`Repeat`]: when a job scheduler fires, and the arithmetic of its run times.
//!
//! A schedule is either a cron pattern (5 fields, or 6 with seconds first) read in an IANA time
//! zone (UTC when none is given), or a fixed interval (`every` ms, with an optional offset into
//! each interval). Both may have a start date, an end date, a limit on runs, and "run
//! immediately". [`Repeat::validate`] refuses bad input with an error naming the problem, so a
//! worker never meets an unusable schedule: stores call [`Repeat::first_run`] at upsert and
//! [`Repeat::next_run`] when a worker takes an iteration, and both only fail on a schedule that
//! validation let through.
//!
//! # Crates
//! * `croner` parses patterns and finds the next matching wall-clock time: it is maintained,
//!   takes 5 or 6 fields (seconds optional, as Node's cron-parser does), knows `L`, `#`, `W`
//!   and nicknames (`@daily`), and can work on `jiff`'s civil date-times, so we search in wall
//!   time and decide daylight-saving ourselves (below) instead of inheriting a crate's choice.
//! * `jiff` maps wall times to instants in a zone. Its time-zone database is bundled into the
//!   binary (`tzdb-bundle-always`), so a zone name means the same on every machine, with or
//!   without `/usr/share/zoneinfo`.
//!
//! # Daylight saving
//! Cron times are wall-clock times in the schedule's zone. A wall time that does not exist
//! (spring forward) runs once, shifted forward by the gap: a daily 02:30 job in
//! `America/New_York` runs at 03:30 EDT on the spring-forward day. A wall time that happens
//! twice (fall back) runs once, at its first occurrence: a daily 01:30 job runs at 01:30 EDT and
//! not again at 01:30 EST. (This is `jiff`'s "compatible" disambiguation, the rule of POSIX
//! `mktime`.) Patterns stepping through the repeated hour (`0 * * * *`) therefore also run once
//! per wall-clock time there.
//!
//! # No burst after downtime
//! The next run is always computed from `max(now, the run just taken)`: a scheduler whose
//! workers were down for a day does not run the missed ticks when they return; its pending run
//! runs once, late, and the run after it is the next tick in the future.

use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::clock::millis;
use crate::error::{Error, Result};

/// Searches for a matching time stop after this many candidates that fall before `after`
/// (each candidate moves the search forward, so this only bounds a pathological zone).
const MAX_CANDIDATES: usize = 8;

/// Longest scheduler id, in bytes.
pub const MAX_SCHEDULER_ID_BYTES: usize = 256;

/// How a scheduler's runs are spaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RepeatRule {
    /// A cron pattern (5 fields, or 6 with seconds first) read in `tz` (UTC when `None`).
    Cron { pattern: String, tz: Option<String> },
    /// Every `every_ms` milliseconds, at `offset_ms` into each interval.
    Every {
        every_ms: u64,
        offset_ms: Option<u64>,
    },
}

/// When a job scheduler fires. Build with [`Repeat::cron`] or [`Repeat::every`].
///
/// ```
/// use std::time::Duration;
/// use oxq_core::Repeat;
/// let daily = Repeat::cron("0 9 * * *").tz("Asia/Seoul");
/// assert!(daily.validate().is_ok());
/// let often = Repeat::every(Duration::from_secs(30)).limit(10);
/// assert!(often.validate().is_ok());
/// assert!(Repeat::cron("61 * * * *").validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Repeat {
    pub rule: RepeatRule,
    /// No run before this time (ms since the epoch).
    pub start_at: Option<u64>,
    /// No run after this time (ms since the epoch).
    pub end_at: Option<u64>,
    /// At most this many runs in all.
    pub limit: Option<u64>,
    /// The first run is at the upsert, not at the first tick.
    pub immediately: bool,
}

impl Repeat {
    /// Runs at the times a cron pattern matches (5 fields, or 6 with seconds first), in UTC
    /// unless [`Repeat::tz`] names a zone.
    pub fn cron(pattern: impl Into<String>) -> Self {
        Self::with_rule(RepeatRule::Cron {
            pattern: pattern.into(),
            tz: None,
        })
    }

    /// Runs every `every` (whole milliseconds); the first run is at the upsert unless a start
    /// date or an offset is given.
    pub fn every(every: Duration) -> Self {
        Self::with_rule(RepeatRule::Every {
            every_ms: millis(every),
            offset_ms: None,
        })
    }

    fn with_rule(rule: RepeatRule) -> Self {
        Self {
            rule,
            start_at: None,
            end_at: None,
            limit: None,
            immediately: false,
        }
    }

    /// The IANA time zone a cron pattern is read in (ignored by `every`).
    pub fn tz(mut self, zone: impl Into<String>) -> Self {
        if let RepeatRule::Cron { tz, .. } = &mut self.rule {
            *tz = Some(zone.into());
        }
        self
    }

    /// For `every`: run at this offset into each interval (e.g. every hour at :15).
    pub fn offset(mut self, offset: Duration) -> Self {
        if let RepeatRule::Every { offset_ms, .. } = &mut self.rule {
            *offset_ms = Some(millis(offset));
        }
        self
    }

    pub fn start_at(mut self, at_ms: u64) -> Self {
        self.start_at = Some(at_ms);
        self
    }

    pub fn end_at(mut self, at_ms: u64) -> Self {
        self.end_at = Some(at_ms);
        self
    }

    pub fn limit(mut self, runs: u64) -> Self {
        self.limit = Some(runs);
        self
    }

    pub fn immediately(mut self, yes: bool) -> Self {
        self.immediately = yes;
        self
    }

    /// Checks the schedule; the error names the first problem.
    pub fn validate(&self) -> Result<()> {
        match &self.rule {
            RepeatRule::Cron { pattern, tz } => {
                parse_cron(pattern)?;
                if let Some(tz) = tz {
                    zone(Some(tz))?;
                }
            }
            RepeatRule::Every {
                every_ms,
                offset_ms,
            } => {
                if *every_ms == 0 {
                    return Err(bad("every must be at least 1 ms"));
                }
                if offset_ms.is_some_and(|o| o >= *every_ms) {
                    return Err(bad("offset must be shorter than every"));
                }
            }
        }
        if let (Some(start), Some(end)) = (self.start_at, self.end_at)
            && end < start
        {
            return Err(bad(format!("end date {end} is before start date {start}")));
        }
        if self.limit == Some(0) {
            return Err(bad("limit must be at least 1 run"));
        }
        if self.immediately && self.start_at.is_some() {
            return Err(bad("immediately and a start date exclude each other"));
        }
        // A pattern that never matches (30 February) is refused here, not in a worker.
        if let RepeatRule::Cron { .. } = &self.rule {
            self.cron_after(self.start_at.unwrap_or(0))?;
        }
        Ok(())
    }

    /// The first run of a schedule upserted at `now`. `replaced` is the time of the pending run
    /// the upsert replaces, if the rule (pattern, zone, interval, offset) is unchanged: that
    /// time is kept, so re-upserting never adds a run between two ticks. `None` when the end
    /// date leaves no run.
    pub fn first_run(&self, now: u64, replaced: Option<u64>) -> Result<Option<u64>> {
        let at = match (replaced, &self.rule) {
            (Some(prev), _) if self.start_at.is_none_or(|s| prev >= s) => prev,
            (
                _,
                RepeatRule::Every {
                    every_ms,
                    offset_ms,
                },
            ) => match (self.start_at, offset_ms) {
                (Some(start), _) => start.max(now),
                (None, Some(offset)) if *offset > 0 && !self.immediately => {
                    let slot = floor_to(now, *every_ms).saturating_add(*offset);
                    if slot > now {
                        slot
                    } else {
                        slot.saturating_add(*every_ms)
                    }
                }
                _ => now,
            },
            (_, RepeatRule::Cron { .. }) if self.immediately => now,
            (_, RepeatRule::Cron { .. }) => {
                let from = self.start_at.map_or(now, |s| s.saturating_sub(1).max(now));
                self.cron_after(from)?
            }
        };
        Ok(self.within_end(at))
    }

    /// The run after the one at `current`, taken at `now`: never in the past (no burst of
    /// missed runs), `None` when the end date leaves none. The limit is the store's to count.
    pub fn next_run(&self, current: u64, now: u64) -> Result<Option<u64>> {
        let at = match &self.rule {
            RepeatRule::Every {
                every_ms,
                offset_ms,
            } => {
                // Without an offset, the first run's place in its interval is kept (BullMQ's).
                let offset = offset_ms.unwrap_or(current % (*every_ms).max(1));
                every_after(current, now, *every_ms, offset)
            }
            RepeatRule::Cron { .. } => self.cron_after(current.max(now))?,
        };
        Ok(self.within_end(at))
    }

    /// The same rule: re-upserting it keeps the pending run's time.
    pub fn same_rule(&self, other: &Repeat) -> bool {
        self.rule == other.rule
    }

    fn within_end(&self, at: u64) -> Option<u64> {
        match self.end_at {
            Some(end) if at > end => None,
            _ => Some(at),
        }
    }

    /// The first instant strictly after `after` whose wall time in the zone matches the
    /// pattern, with the daylight-saving rule of the module docs.
    fn cron_after(&self, after: u64) -> Result<u64> {
        let RepeatRule::Cron { pattern, tz } = &self.rule else {
            return Err(bad("not a cron schedule"));
        };
        let cron = parse_cron(pattern)?;
        let tz = zone(tz.as_deref())?;
        next_cron_instant(&cron, &tz, after)
    }
}

/// The first instant strictly after `after` (ms) whose wall time in `tz` matches `cron`.
fn next_cron_instant(cron: &Cron, tz: &TimeZone, after: u64) -> Result<u64> {
    let after_i = i64::try_from(after).map_err(|_| bad("time is out of range"))?;
    let start = Timestamp::from_millisecond(after_i).map_err(|e| bad(e.to_string()))?;
    let mut wall: DateTime = start.to_zoned(tz.clone()).datetime();
    for _ in 0..MAX_CANDIDATES {
        let candidate: DateTime = cron
            .find_next_occurrence(&wall, false)
            .map_err(|e| bad(format!("cron pattern has no next run: {e}")))?;
        let ambiguous = tz.to_ambiguous_timestamp(candidate);
        let instant = match ambiguous.offset() {
            // Twice on the wall: the first, unless it is already behind us.
            AmbiguousOffset::Fold {
                before,
                after: later,
            } => {
                let first = before
                    .to_timestamp(candidate)
                    .map_err(|e| bad(e.to_string()))?;
                if first.as_millisecond() > after_i {
                    first
                } else {
                    later
                        .to_timestamp(candidate)
                        .map_err(|e| bad(e.to_string()))?
                }
            }
            // Unambiguous, or skipped by a gap (read with the offset before it, so shifted
            // forward by the gap).
            _ => ambiguous.compatible().map_err(|e| bad(e.to_string()))?,
        };
        let ms = instant.as_millisecond();
        if ms > after_i {
            return u64::try_from(ms).map_err(|_| bad("time is out of range"));
        }
        wall = candidate;
    }
    Err(bad("cron pattern has no next run"))
}

/// The `every` rule (BullMQ's): `current + every`, or, if that is already past, the next slot
/// at `offset` into an interval that is still ahead of `now`.
fn every_after(current: u64, now: u64, every: u64, offset: u64) -> u64 {
    let next = current.saturating_add(every);
    if next >= now {
        return next;
    }
    let slot = floor_to(now, every).saturating_add(offset);
    if slot > now {
        slot
    } else {
        slot.saturating_add(every)
    }
}

fn floor_to(t: u64, every: u64) -> u64 {
    t - t % every.max(1)
}

/// Parses a 5- or 6-field pattern; the error says what is wrong with it.
pub(crate) fn parse_cron(pattern: &str) -> Result<Cron> {
    let fields = pattern.split_whitespace().count();
    if !pattern.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
        return Err(bad(format!(
            "invalid cron pattern {pattern:?}: expected 5 fields (or 6 with seconds), found {fields}"
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(pattern)
        .map_err(|e| bad(format!("invalid cron pattern {pattern:?}: {e}")))
}

fn zone(name: Option<&str>) -> Result<TimeZone> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|_| bad(format!("unknown time zone {name:?}"))),
    }
}

/// Checks a scheduler id: not empty, no `:` (it separates the parts of the iteration ids).
pub fn validate_scheduler_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(bad("scheduler id must not be empty"));
    }
    if id.len() > MAX_SCHEDULER_ID_BYTES {
        return Err(bad(format!(
            "scheduler id must be at most {MAX_SCHEDULER_ID_BYTES} bytes"
        )));
    }
    if id.contains(':') {
        return Err(bad(format!(
            "scheduler id {id:?} must not contain ':' (it separates the parts of job ids)"
        )));
    }
    Ok(())
}

/// The id of a scheduler's iteration due at `millis` (BullMQ's).
pub fn iteration_job_id(scheduler_id: &str, millis: u64) -> String {
    format!("repeat:{scheduler_id}:{millis}")
}

/// The scheduler id and time of an iteration's job id, if it is one.
pub fn parse_iteration_job_id(job_id: &str) -> Option<(&str, u64)> {
    let rest = job_id.strip_prefix("repeat:")?;
    let (id, millis) = rest.rsplit_once(':')?;
    Some((id, millis.parse().ok()?))
}

fn bad(message: impl Into<String>) -> Error {
    Error::InvalidSchedule(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> u64 {
        let ts: Timestamp = text.parse().expect("a timestamp");
        u64::try_from(ts.as_millisecond()).expect("after 1970")
    }

    #[test]
    fn spring_forward_runs_a_0230_job_once_at_0330() {
        // 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT.
        let r = Repeat::cron("30 2 * * *").tz("America/New_York");
        let before = at("2026-03-07T07:30:00Z"); // 02:30 EST the day before
        let run = r.next_run(before, before).expect("next").expect("a run");
        assert_eq!(run, at("2026-03-08T07:30:00Z")); // 03:30 EDT
        let after = r.next_run(run, run).expect("next").expect("a run");
        assert_eq!(after, at("2026-03-09T06:30:00Z")); // 02:30 EDT the next day
    }

    #[test]
    fn fall_back_runs_a_0130_job_once() {
        // 2026-11-01: New York goes back from 02:00 EDT to 01:00 EST.
        let r = Repeat::cron("30 1 * * *").tz("America/New_York");
        let day_before = at("2026-10-31T05:30:00Z");
        let run = r
            .next_run(day_before, day_before)
            .expect("next")
            .expect("a run");
        assert_eq!(run, at("2026-11-01T05:30:00Z")); // 01:30 EDT
        let next = r.next_run(run, run).expect("next").expect("a run");
        assert_eq!(next, at("2026-11-02T06:30:00Z")); // not 01:30 EST the same day
        // Upserted during the repeated hour, after the first 01:30 passed: the second one.
        let inside = at("2026-11-01T06:10:00Z"); // 01:10 EST
        let first = r.first_run(inside, None).expect("first").expect("a run");
        assert_eq!(first, at("2026-11-01T06:30:00Z"));
    }

    #[test]
    fn six_fields_read_seconds_first_and_utc_is_the_default_zone() {
        let r = Repeat::cron("15 * * * * *");
        let t = at("2026-01-01T00:00:20Z");
        assert_eq!(
            r.first_run(t, None).expect("first"),
            Some(at("2026-01-01T00:01:15Z"))
        );
    }

    #[test]
    fn bad_input_is_named() {
        let msg = |r: Repeat| r.validate().expect_err("refused").to_string();
        assert!(msg(Repeat::cron("not a cron")).contains("invalid cron pattern"));
        assert!(msg(Repeat::cron("* * * *")).contains("expected 5 fields"));
        assert!(msg(Repeat::cron("0 9 * * *").tz("Mars/Olympus")).contains("unknown time zone"));
        assert!(msg(Repeat::every(Duration::ZERO)).contains("every must be"));
        assert!(
            msg(Repeat::every(Duration::from_secs(1)).start_at(10).end_at(5))
                .contains("before start")
        );
        assert!(msg(Repeat::cron("0 0 30 2 *")).contains("no next run"));
    }

    #[test]
    fn every_keeps_a_replaced_time_and_honours_offset_and_start() {
        let r = Repeat::every(Duration::from_millis(1000));
        assert_eq!(r.first_run(5_500, None).expect("first"), Some(5_500));
        assert_eq!(r.first_run(5_900, Some(6_500)).expect("first"), Some(6_500));
        let o = Repeat::every(Duration::from_millis(1000)).offset(Duration::from_millis(200));
        assert_eq!(o.first_run(5_500, None).expect("first"), Some(6_200));
        let s = Repeat::every(Duration::from_millis(1000)).start_at(9_000);
        assert_eq!(s.first_run(5_500, None).expect("first"), Some(9_000));
        let e = Repeat::every(Duration::from_millis(1000)).end_at(5_000);
        assert_eq!(e.first_run(5_500, None).expect("first"), None);
    }

    #[test]
    fn iteration_ids_round_trip() {
        let id = iteration_job_id("digest", 1_700_000_000_000);
        assert_eq!(id, "repeat:digest:1700000000000");
        assert_eq!(
            parse_iteration_job_id(&id),
            Some(("digest", 1_700_000_000_000))
        );
        assert_eq!(parse_iteration_job_id("17"), None);
    }

    proptest! {
        #[test]
        fn every_next_is_ahead_of_now_and_of_the_current_run(
            current in 0u64..1_000_000_000,
            late in 0u64..100_000_000,
            every in 1u64..10_000_000,
        ) {
            let now = current + late;
            let next = every_after(current, now, every, 0);
            prop_assert!(next >= now);
            prop_assert!(next > current);
            // No burst: at most one interval ahead of now.
            prop_assert!(next <= now + every);
        }

        #[test]
        fn cron_next_is_strictly_later_and_matches_the_wall_time(
            after in 1_600_000_000_000u64..1_900_000_000_000,
            hour in 0u8..24,
            minute in 0u8..60,
        ) {
            let r = Repeat::cron(format!("{minute} {hour} * * *")).tz("America/New_York");
            let next = r.next_run(after, after).expect("next").expect("a run");
            prop_assert!(next > after);
            // Never more than a day (plus a DST hour) ahead.
            prop_assert!(next - after <= 25 * 3_600_000);
            let wall = Timestamp::from_millisecond(i64::try_from(next).expect("fits"))
                .expect("valid")
                .to_zoned(TimeZone::get("America/New_York").expect("zone"));
            // The wall time matches, or is shifted forward by a spring-forward gap.
            let same = wall.hour() == i8::try_from(hour).expect("fits")
                && wall.minute() == i8::try_from(minute).expect("fits");
            let shifted = wall.hour() == i8::try_from(hour).expect("fits") + 1
                && wall.minute() == i8::try_from(minute).expect("fits");
            prop_assert!(same || shifted);
        }
    }
}
