//! A queue's rate limits and global concurrency (table `queue_limits`, see
//! `migrations/0004_rate_limits.sql`): the [`Limits`](oxq_core::backend::Limits) calls, and
//! the gate every fetch passes (BullMQ's rules, `bullmq-v5-model.md` §4.4-4.5).
//!
//! * Global concurrency: no job starts while `concurrency` jobs of the queue are active.
//! * Rate limit: one counter per queue counts the starts of the current window, whichever
//!   limit is in force: the queue's global `rate_max` wins for the max, the fetching worker's
//!   limiter for the window's length. The first start of a window opens it (`now` + the window);
//!   while it is open and its count has reached the max, the fetch starts nothing and answers
//!   the window's end.
//! * A manual limit sets the count to [`MANUAL_RATE_LIMIT`] until its end: every fetch stops,
//!   with or without a max.
//! * A queue without a row, fetched by a worker without a limiter, pays one primary-key lookup.

use oxq_core::backend::{
    ChangeLimits, FetchedJob, GetLimits, LimitChange, QueueLimits, RateLimit, RateLimitQueue,
};
use oxq_core::clock::millis;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

use crate::codec::{ACTIVE, ms, ms_from};
use crate::error::StoreResult;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

/// The window count of a manual limit: past any max (2^53 − 1, the value BullMQ writes).
const MANUAL_RATE_LIMIT: i64 = 9_007_199_254_740_991;

/// A queue's `queue_limits` row.
#[derive(Debug, Default, Clone, Copy)]
struct LimitRow {
    rate_max: Option<i64>,
    rate_duration: Option<i64>,
    concurrency: Option<i64>,
    window_count: i64,
    window_end: i64,
}

fn load(conn: &Connection, qid: i64) -> StoreResult<Option<LimitRow>> {
    let row = conn
        .prepare_cached(
            "SELECT rate_max, rate_duration, concurrency, window_count, window_end \
             FROM queue_limits WHERE qid = ?1",
        )?
        .query_row([qid], |r| {
            Ok(LimitRow {
                rate_max: r.get(0)?,
                rate_duration: r.get(1)?,
                concurrency: r.get(2)?,
                window_count: r.get(3)?,
                window_end: r.get(4)?,
            })
        })
        .optional()?;
    Ok(row)
}

fn active_count(conn: &Connection, qid: i64) -> StoreResult<i64> {
    let n = conn
        .prepare_cached("SELECT count(*) FROM jobs WHERE qid = ?1 AND state = ?2")?
        .query_row(params![qid, ACTIVE], |r| r.get(0))?;
    Ok(n)
}

/// What a fetch may start under the queue's limits at `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gate {
    /// Jobs the fetch may start.
    pub max: usize,
    /// The queue is rate limited until then (ms): start nothing.
    pub limited_until: Option<u64>,
    /// The starts count against a rate limit: the count so far and the window's end.
    counting: Option<(i64, i64)>,
}

/// The gate of a fetch of up to `max` jobs by a worker with `limiter`.
pub(crate) fn gate(
    conn: &Connection,
    qid: i64,
    limiter: Option<RateLimit>,
    now: u64,
    max: usize,
) -> StoreResult<Gate> {
    let open = Gate {
        max,
        limited_until: None,
        counting: None,
    };
    let row = load(conn, qid)?;
    if row.is_none() && limiter.is_none() {
        return Ok(open);
    }
    let row = row.unwrap_or_default();
    let mut gate = open;
    if let Some(cap) = row.concurrency {
        let free = cap.saturating_sub(active_count(conn, qid)?).max(0);
        gate.max = gate.max.min(usize::try_from(free).unwrap_or(usize::MAX));
    }
    let now = ms(now);
    let rate_max = row.rate_max.or(limiter.map(|limit| i64::from(limit.max)));
    let window = limiter
        .map(|limit| ms(millis(limit.duration)))
        .or(row.rate_duration)
        .unwrap_or(1)
        .max(1);
    let open_window = row.window_end > now;
    let used = if open_window { row.window_count } else { 0 };
    if open_window && used >= rate_max.unwrap_or(MANUAL_RATE_LIMIT) {
        gate.max = 0;
        gate.limited_until = Some(ms_from(row.window_end));
        return Ok(gate);
    }
    if let Some(rate_max) = rate_max {
        let left = usize::try_from(rate_max.saturating_sub(used).max(0)).unwrap_or(usize::MAX);
        gate.max = gate.max.min(left);
        let end = if open_window {
            row.window_end
        } else {
            now.saturating_add(window)
        };
        gate.counting = Some((used, end));
    }
    Ok(gate)
}

/// Counts the jobs a fetch started through `gate`.
pub(crate) fn count_starts(
    conn: &Connection,
    qid: i64,
    gate: &Gate,
    started: &[FetchedJob],
) -> StoreResult<()> {
    let Some((used, end)) = gate.counting else {
        return Ok(());
    };
    if started.is_empty() {
        return Ok(());
    }
    let count = used.saturating_add(i64::try_from(started.len()).unwrap_or(i64::MAX));
    conn.prepare_cached(
        "INSERT INTO queue_limits (qid, window_count, window_end) VALUES (?1, ?2, ?3) \
         ON CONFLICT (qid) DO UPDATE SET window_count = excluded.window_count, \
         window_end = excluded.window_end",
    )?
    .execute(params![qid, count, end])?;
    Ok(())
}

/// Limits the queue `qid` by hand until `until` (ms): no fetch starts a job before then.
pub(crate) fn limit_until(conn: &Connection, qid: i64, until: u64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO queue_limits (qid, window_count, window_end) VALUES (?1, ?2, ?3) \
         ON CONFLICT (qid) DO UPDATE SET window_count = excluded.window_count, \
         window_end = excluded.window_end",
    )?
    .execute(params![qid, MANUAL_RATE_LIMIT, ms(until)])?;
    Ok(())
}

/// The queue's limits at the caller's `now`.
pub(crate) fn get(conn: &Connection, req: &GetLimits) -> StoreResult<QueueLimits> {
    let row = conn
        .prepare_cached("SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2")?
        .query_row(params![req.queue.prefix, req.queue.name], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(|qid| load(conn, qid))
        .transpose()?
        .flatten();
    let Some(row) = row else {
        return Ok(QueueLimits::default());
    };
    let rate_limit = row.rate_max.map(|max| {
        RateLimit::new(
            u32::try_from(max).unwrap_or(u32::MAX),
            Duration::from_millis(ms_from(row.rate_duration.unwrap_or(1))),
        )
    });
    let limited = row.window_end > ms(req.now)
        && row.window_count >= row.rate_max.unwrap_or(MANUAL_RATE_LIMIT);
    Ok(QueueLimits::new(
        rate_limit,
        row.concurrency
            .map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        limited.then(|| ms_from(row.window_end)),
    ))
}

/// Sets or removes one limit (creating the queue's row as needed); waiters look again.
pub(crate) fn change(ctx: &mut WriteCtx<'_>, req: ChangeLimits) -> StoreResult<()> {
    req.change.validate()?;
    let queue = QueueRow::load_or_create(ctx.conn, &req.queue)?;
    let conn = ctx.conn;
    let qid = queue.qid;
    match req.change {
        LimitChange::SetRateLimit(limit) => conn
            .prepare_cached(
                "INSERT INTO queue_limits (qid, rate_max, rate_duration) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (qid) DO UPDATE SET rate_max = ?2, rate_duration = ?3",
            )?
            .execute(params![
                qid,
                i64::from(limit.max),
                ms(millis(limit.duration))
            ])?,
        LimitChange::RemoveRateLimit => conn
            .prepare_cached(
                "UPDATE queue_limits SET rate_max = NULL, rate_duration = NULL WHERE qid = ?1",
            )?
            .execute([qid])?,
        LimitChange::SetConcurrency(n) => conn
            .prepare_cached(
                "INSERT INTO queue_limits (qid, concurrency) VALUES (?1, ?2) \
                 ON CONFLICT (qid) DO UPDATE SET concurrency = ?2",
            )?
            .execute(params![qid, i64::from(n)])?,
        LimitChange::RemoveConcurrency => conn
            .prepare_cached("UPDATE queue_limits SET concurrency = NULL WHERE qid = ?1")?
            .execute([qid])?,
    };
    queue.save(ctx)
}

/// BullMQ's `queue.rateLimit(ms)`.
pub(crate) fn rate_limit(ctx: &mut WriteCtx<'_>, req: RateLimitQueue) -> StoreResult<()> {
    req.validate()?;
    let queue = QueueRow::load_or_create(ctx.conn, &req.queue)?;
    limit_until(
        ctx.conn,
        queue.qid,
        req.now.saturating_add(millis(req.duration)),
    )?;
    queue.save(ctx)
}
