//! Per-minute metrics (see `migrations/0012_metrics.sql` and
//! [`Metrics`](oxq_core::backend::Metrics)): counting a finish call's completions and final
//! failures inside its transaction, and reading a series the way Redis's `LRANGE` does.
//!
//! A call that counts `n` jobs of one kind adds `n` to `count` with one upsert that answers the
//! row; only the first finish of a later minute than `prev_ts` reads and rewrites `data` (the
//! closed point, then a zero per whole minute between, cut to the max points), so a busy queue
//! rewrites its series once a minute. The rules are those of Redis's `finish.lua`, applied
//! to `n` finishes at one `now` as one finish after the other.

use oxq_core::backend::{
    AttemptEnd, Finish, MetricsKind, MetricsMeta, MetricsSeries, ReadMetrics, Retry,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StoreResult;

/// Adds `finished` to a series and reads the row back: `(count, prev_ts, prev_count)`.
const COUNT: &str = "INSERT INTO queue_metrics (qid, kind, count) VALUES (?1, ?2, ?3) \
    ON CONFLICT (qid, kind) DO UPDATE SET count = count + excluded.count \
    RETURNING count, prev_ts, prev_count";

const READ: &str = "SELECT m.count, m.prev_ts, m.prev_count, m.data FROM queue_metrics m \
    JOIN queues q ON q.qid = m.qid WHERE q.prefix = ?1 AND q.name = ?2 AND m.kind = ?3";

const MS_PER_MINUTE: u64 = 60_000;

fn kind_code(kind: MetricsKind) -> i64 {
    match kind {
        MetricsKind::Completed => 0,
        MetricsKind::Failed => 1,
    }
}

/// Points stored as a JSON array; anything else reads as no points.
fn points(data: &str) -> Vec<u64> {
    serde_json::from_str(data).unwrap_or_default()
}

/// Points as the JSON array `data` holds.
fn encode(series: &[u64]) -> String {
    let mut text = String::with_capacity(series.len() * 2 + 2);
    text.push('[');
    for (i, point) in series.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&point.to_string());
    }
    text.push(']');
    text
}

/// Counts the items of a finish call that completed or failed for good (`results` in the
/// order of `items`), at `now`, keeping `max_points`.
pub(crate) fn record_finish(
    conn: &Connection,
    qid: i64,
    items: &[Finish],
    results: &[Result<(), oxq_core::Error>],
    now: u64,
    max_points: u32,
) -> StoreResult<()> {
    let (mut completed, mut failed) = (0u64, 0u64);
    for (item, result) in items.iter().zip(results) {
        if result.is_err() {
            continue;
        }
        match item.end {
            AttemptEnd::Completed { .. } => completed += 1,
            AttemptEnd::Failed {
                retry: Retry::Never { .. },
                ..
            } => failed += 1,
            _ => {}
        }
    }
    record(
        conn,
        qid,
        MetricsKind::Completed,
        completed,
        now,
        max_points,
    )?;
    record(conn, qid, MetricsKind::Failed, failed, now, max_points)
}

/// Counts `finished` jobs of `kind` ending at `now` on queue `qid`, keeping `max_points`.
pub(crate) fn record(
    conn: &Connection,
    qid: i64,
    kind: MetricsKind,
    finished: u64,
    now: u64,
    max_points: u32,
) -> StoreResult<()> {
    if finished == 0 || max_points == 0 {
        return Ok(());
    }
    let code = kind_code(kind);
    let (count, prev_ts, prev_count): (i64, Option<i64>, i64) = conn
        .prepare_cached(COUNT)?
        .query_row(params![qid, code, finished as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let now_ms = now as i64;
    let Some(prev_ts) = prev_ts else {
        conn.prepare_cached(
            "UPDATE queue_metrics SET prev_ts = ?3, prev_count = 0 WHERE qid = ?1 AND kind = ?2",
        )?
        .execute(params![qid, code, now_ms])?;
        return Ok(());
    };
    let minutes = (now / MS_PER_MINUTE) as i64 - (prev_ts.max(0) as u64 / MS_PER_MINUTE) as i64;
    let closed = minutes.min(i64::from(max_points));
    if closed < 1 {
        return Ok(());
    }
    let before = count - finished as i64;
    let data: String = conn
        .prepare_cached("SELECT data FROM queue_metrics WHERE qid = ?1 AND kind = ?2")?
        .query_row(params![qid, code], |r| r.get(0))?;
    let mut series = Vec::with_capacity(max_points as usize);
    // newest first: the zeros of the minutes in between, then the point closed
    series.extend(std::iter::repeat_n(0u64, closed as usize - 1));
    series.push((before - prev_count).max(0) as u64);
    series.extend(points(&data));
    series.truncate(max_points as usize);
    let data = encode(&series);
    conn.prepare_cached(
        "UPDATE queue_metrics SET data = ?3, prev_count = ?4, prev_ts = ?5 \
         WHERE qid = ?1 AND kind = ?2",
    )?
    .execute(params![qid, code, data, before, now_ms])?;
    Ok(())
}

/// A series as [`Metrics::metrics_read`](oxq_core::backend::Metrics::metrics_read) answers it.
pub(crate) fn read(conn: &Connection, req: &ReadMetrics) -> StoreResult<MetricsSeries> {
    let row: Option<(i64, Option<i64>, i64, String)> = conn
        .prepare_cached(READ)?
        .query_row(
            params![req.queue.prefix, req.queue.name, kind_code(req.kind)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((count, prev_ts, prev_count, data)) = row else {
        return Ok(MetricsSeries::default());
    };
    let all = points(&data);
    Ok(MetricsSeries {
        meta: MetricsMeta {
            count: count.max(0) as u64,
            prev_ts: prev_ts.unwrap_or(0).max(0) as u64,
            prev_count: prev_count.max(0) as u64,
        },
        data: MetricsSeries::range(&all, req.start, req.end),
        count: all.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::{encode, points};

    #[test]
    fn points_round_trip_and_bad_text_reads_as_none() {
        assert_eq!(encode(&[]), "[]");
        assert_eq!(points(&encode(&[3, 0, 12])), [3, 0, 12]);
        assert!(points("not json").is_empty());
    }
}
