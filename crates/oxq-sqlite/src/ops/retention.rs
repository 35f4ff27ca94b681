//! Retention of finished jobs (`removeOnComplete` / `removeOnFail`): [`KeepJobs`] applied to a
//! queue's completed or failed jobs, oldest (by `finished_on`) removed first.
//!
//! `KeepJobs::None` is handled by the finish itself (the job is deleted at once). `Count(n)`
//! keeps the newest `n`; `Age { max_age, count }` removes jobs finished at or before
//! `now - max_age`, then applies `count`. As in BullMQ, trimming only happens when a job
//! finishes into that state; there is no timer. One trim removes at most [`TRIM_LIMIT`] jobs
//! so a sudden policy change cannot stall the writer; later finishes remove the rest. A child
//! removed so leaves its parent's pending dependencies (see [`flows`](crate::ops::flows)).

use oxq_core::KeepJobs;
use oxq_core::clock::millis;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::ms;
use crate::error::StoreResult;
use crate::ops::flows::{OtherQueues, links};
use crate::ops::queue_row::QueueRow;

/// Jobs removed by one trim at most.
pub(crate) const TRIM_LIMIT: i64 = 10_000;

/// A job to remove: its key, id and flow bits.
type Doomed = (i64, String, i64);

/// Applies `keep` to the jobs of `queue` in finished `state`; returns how many were removed.
pub(crate) fn trim(
    conn: &Connection,
    queue: &mut QueueRow,
    others: &mut OtherQueues,
    state: i64,
    keep: KeepJobs,
    now: u64,
) -> StoreResult<usize> {
    let qid = queue.qid;
    let mut remove = |jobs: Vec<Doomed>| -> StoreResult<usize> {
        for (jid, id, flow) in &jobs {
            links::delete_job(conn, queue, others, *jid, id, *flow, now)?;
        }
        Ok(jobs.len())
    };
    match keep {
        KeepJobs::All | KeepJobs::None => Ok(0),
        KeepJobs::Count(n) => remove(beyond_count(conn, qid, state, n)?),
        KeepJobs::Age { max_age, count } => {
            let cutoff = now.saturating_sub(millis(max_age));
            let mut removed = remove(older_than(conn, qid, state, cutoff)?)?;
            if let Some(n) = count {
                removed += remove(beyond_count(conn, qid, state, n)?)?;
            }
            Ok(removed)
        }
    }
}

/// The jobs beyond the newest `keep`, oldest first.
fn beyond_count(conn: &Connection, qid: i64, state: i64, keep: u32) -> StoreResult<Vec<Doomed>> {
    // The newest job beyond the ones kept: it and everything older goes.
    let boundary: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT score, jid FROM jobs WHERE qid = ?1 AND state = ?2 \
             ORDER BY score DESC, jid DESC LIMIT 1 OFFSET ?3 + 0",
        )?
        .query_row(params![qid, state, i64::from(keep)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((score, jid)) = boundary else {
        return Ok(Vec::new());
    };
    let jobs = conn
        .prepare_cached(
            "SELECT jid, id, flow FROM jobs WHERE qid = ?1 AND state = ?2 \
             AND (score, jid) <= (?3, ?4) ORDER BY score, jid LIMIT ?5 + 0",
        )?
        .query_map(params![qid, state, score, jid, TRIM_LIMIT], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(jobs)
}

/// The jobs finished at or before `cutoff`, oldest first.
fn older_than(conn: &Connection, qid: i64, state: i64, cutoff: u64) -> StoreResult<Vec<Doomed>> {
    let jobs = conn
        .prepare_cached(
            "SELECT jid, id, flow FROM jobs WHERE qid = ?1 AND state = ?2 AND score <= ?3 \
             ORDER BY score, jid LIMIT ?4 + 0",
        )?
        .query_map(params![qid, state, ms(cutoff), TRIM_LIMIT], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(jobs)
}
