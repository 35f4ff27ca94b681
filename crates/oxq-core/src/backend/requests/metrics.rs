//! Requests and answers of the [`Metrics`](crate::backend::Metrics) facet: reading a queue's
//! per-minute series of completions or final failures, in BullMQ's shape
//! (`queue.getMetrics(type, start, end)`).

use serde::Serialize;

use crate::ids::QueueRef;

/// Node's preset `MetricsTime.ONE_WEEK`: a week of one-minute data points.
pub const METRICS_ONE_WEEK: u32 = 7 * 24 * 60;

/// Which series: jobs that completed, or jobs that failed for good (a retried attempt counts in
/// neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricsKind {
    Completed,
    Failed,
}

impl MetricsKind {
    /// BullMQ's name of the series (`completed`, `failed`), as in its keys `metrics:<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The kind named `completed` or `failed`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A range of a queue's series, newest minute first, with Redis `LRANGE` indexes: `start` and
/// `end` are inclusive, and a negative index counts from the oldest point (`-1` is the last).
/// BullMQ's defaults are `0` and `-1`: the whole series.
#[derive(Debug, Clone)]
pub struct ReadMetrics {
    pub queue: QueueRef,
    pub kind: MetricsKind,
    pub start: i64,
    pub end: i64,
}

/// The counters behind a series (BullMQ's `meta`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MetricsMeta {
    /// Jobs counted so far, every one.
    pub count: u64,
    /// When the newest data point was closed (ms since the epoch); 0 before the first.
    #[serde(rename = "prevTS")]
    pub prev_ts: u64,
    /// `count` when the newest data point was closed, the finish that closed it not included
    /// (BullMQ counts that finish into the next point).
    #[serde(rename = "prevCount")]
    pub prev_count: u64,
}

/// A queue's series of one kind, in BullMQ's shape: `data` holds one point per minute, newest
/// first (jobs counted in that minute, 0 for a minute with none), `count` is the number of
/// points kept (whatever range was asked for).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSeries {
    pub meta: MetricsMeta,
    pub data: Vec<u64>,
    pub count: u64,
}

impl MetricsSeries {
    /// The points of `all` (the whole series, newest first) between `start` and `end` as Redis
    /// `LRANGE` reads them, for a store that keeps the series in one piece.
    pub fn range(all: &[u64], start: i64, end: i64) -> Vec<u64> {
        let len = i64::try_from(all.len()).unwrap_or(i64::MAX);
        let from = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let to = if end < 0 { len + end } else { end.min(len - 1) };
        if from > to || from >= len {
            return Vec::new();
        }
        let (from, to) = (
            usize::try_from(from).unwrap_or(0),
            usize::try_from(to).unwrap_or(0),
        );
        all[from..=to].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_reads_like_lrange() {
        let all = [5, 4, 3, 2, 1];
        assert_eq!(MetricsSeries::range(&all, 0, -1), all);
        assert_eq!(MetricsSeries::range(&all, 1, 2), [4, 3]);
        assert_eq!(MetricsSeries::range(&all, -2, -1), [2, 1]);
        assert_eq!(MetricsSeries::range(&all, 3, 100), [2, 1]);
        assert_eq!(MetricsSeries::range(&all, -100, 0), [5]);
        assert!(MetricsSeries::range(&all, 4, 2).is_empty());
        assert!(MetricsSeries::range(&all, 9, -1).is_empty());
        assert!(MetricsSeries::range(&[], 0, -1).is_empty());
    }
}
