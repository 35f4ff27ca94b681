//! The benchmark's shared timing and statistics: a [`Meter`] that times one scenario (wall
//! time, this process's CPU, the Redis server's CPU), medians over runs, percentiles of
//! latency samples, and the clock the latency scenarios stamp jobs with.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// What one timed scenario cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    /// Wall-clock seconds.
    pub seconds: f64,
    /// CPU seconds (user + system) of this process, when the platform tells
    /// (`/proc/self/stat`).
    pub process_cpu: Option<f64>,
    /// CPU seconds (user + system) of the Redis server (`INFO cpu`), for a Redis store.
    pub server_cpu: Option<f64>,
}

/// A scenario's start: its instant and the CPU counters read then.
#[derive(Debug)]
pub struct Meter {
    started: Instant,
    process_cpu: Option<f64>,
    server_cpu: Option<f64>,
}

impl Meter {
    /// Starts timing; `server_cpu` is the server's CPU counter now, when there is a server.
    pub fn start(server_cpu: Option<f64>) -> Self {
        Self {
            process_cpu: process_cpu_seconds(),
            server_cpu,
            started: Instant::now(),
        }
    }

    /// Stops timing; `server_cpu` is the server's CPU counter now.
    pub fn stop(self, server_cpu: Option<f64>) -> Measure {
        let seconds = self.started.elapsed().as_secs_f64();
        let delta = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
        Measure {
            seconds,
            process_cpu: delta(self.process_cpu, process_cpu_seconds()),
            server_cpu: delta(self.server_cpu, server_cpu),
        }
    }
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux); `None`
/// where that file does not exist.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // clock ticks: 100 per second on every Linux (USER_HZ)
    Some((utime + stime) / 100.0)
}

/// The median of `values` (the mean of the middle two for an even count); `None` for none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[mid]),
        _ => Some((sorted[mid - 1] + sorted[mid]) / 2.0),
    }
}

/// Percentiles of a set of samples (nearest rank), sorted once.
#[derive(Debug, Clone)]
pub struct Percentiles {
    sorted: Vec<f64>,
}

impl Percentiles {
    pub fn new(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        Self { sorted: samples }
    }

    pub fn count(&self) -> usize {
        self.sorted.len()
    }

    /// The `p`-th percentile (0 < p ≤ 100): the smallest sample with at least p% of the
    /// samples at or below it; `None` without samples.
    pub fn at(&self, p: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        Some(self.sorted[rank.clamp(1, n) - 1])
    }

    pub fn max(&self) -> Option<f64> {
        self.sorted.last().copied()
    }
}

/// Microseconds since the Unix epoch: the stamp a latency scenario puts in a job's data and
/// compares with when the processor starts (the same host's clock on both ends).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let p = Percentiles::new((1..=100).rev().map(f64::from).collect());
        assert_eq!(p.at(50.0), Some(50.0));
        assert_eq!(p.at(95.0), Some(95.0));
        assert_eq!(p.at(99.0), Some(99.0));
        assert_eq!(p.at(100.0), Some(100.0));
        assert_eq!(p.max(), Some(100.0));
        let one = Percentiles::new(vec![7.0]);
        assert_eq!(one.at(1.0), Some(7.0));
        assert_eq!(Percentiles::new(Vec::new()).at(50.0), None);
    }

    #[test]
    fn a_meter_counts_wall_time_and_this_process_cpu() {
        let meter = Meter::start(Some(1.0));
        // burn some CPU so the process counter can move (it ticks every 10 ms)
        let mut x = 0u64;
        let until = Instant::now() + std::time::Duration::from_millis(30);
        while Instant::now() < until {
            x = x.wrapping_add(1);
        }
        let m = meter.stop(Some(1.5));
        assert!(x > 0);
        assert!(m.seconds >= 0.03, "{m:?}");
        assert_eq!(m.server_cpu, Some(0.5));
        if cfg!(target_os = "linux") {
            assert!(m.process_cpu.is_some_and(|cpu| cpu >= 0.0), "{m:?}");
        }
    }
}
