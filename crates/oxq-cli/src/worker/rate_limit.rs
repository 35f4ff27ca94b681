//! `--rate-limit MAX/DURATION` (`10/1s`, `100/500ms`, `5/2m`): at most MAX jobs started per
//! DURATION, counted across every worker of the queue (the library's
//! [`WorkerOptions::limiter`](oxq::WorkerOptions::limiter), BullMQ's `limiter`).

use std::str::FromStr;
use std::time::Duration;

/// A parsed `--rate-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitArg {
    pub max: u32,
    pub duration: Duration,
}

impl FromStr for RateLimitArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (max, duration) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not MAX/DURATION, e.g. 10/1s"))?;
        let max: u32 = max
            .trim()
            .parse()
            .ok()
            .filter(|&max| max > 0)
            .ok_or_else(|| format!("{max:?} is not a positive number of jobs"))?;
        let duration = parse_duration(duration.trim())?;
        if duration < Duration::from_millis(1) {
            return Err(format!("{duration:?} is under one millisecond"));
        }
        Ok(Self { max, duration })
    }
}

/// `500ms`, `1s`, `2m`, `1h`: a whole number and its unit.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit (ms, s, m or h)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let millis_per = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => return Err(format!("{other:?} is not a unit: ms, s, m or h")),
    };
    number
        .checked_mul(millis_per)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_over_a_duration_with_its_unit() {
        let parse = |text: &str| text.parse::<RateLimitArg>();
        assert_eq!(
            parse("10/1s"),
            Ok(RateLimitArg {
                max: 10,
                duration: Duration::from_secs(1)
            })
        );
        assert_eq!(
            parse("100/500ms").map(|r| r.duration),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(
            parse("5/2m").map(|r| r.duration),
            Ok(Duration::from_secs(120))
        );
        assert_eq!(
            parse("1/1h").map(|r| r.duration),
            Ok(Duration::from_secs(3600))
        );
        for bad in [
            "10", "0/1s", "-1/1s", "x/1s", "10/1", "10/fast", "10/1d", "10/0ms", "10/s",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
