//! `stalled_recover`: gives jobs whose worker stopped renewing their lock back to the line, in
//! one pass: every active job whose lock expired is recovered by the check that finds it (as
//! on Redis; there is no second sighting to wait for, since a fetch makes a job active and
//! locks it in the same transaction).
//!
//! The check runs at most once per `interval` per queue, whichever process asks: the time of
//! the last check lives in the queue's row and is read and written under the write lock. Its
//! cost is an index range (`jobs_by_state`: active jobs by `lock_until`) over the expired jobs
//! only, whatever the number of active jobs.
//! Every active job whose `lock_until < now` goes back to `waiting` at the FRONT of the line
//! (whatever its priority, as BullMQ's `RPUSH` does), loses its lock, gets `stalled_count + 1`
//! and emits `waiting{prev: active}` and `stalled`. A job recovered more than
//! `max_stalled_count` times is marked with `deferred_failure = "job stalled more than
//! allowable limit"`: it stays runnable and the next worker to fetch it fails it (BullMQ ≥ 5.53).
//! A run of a job scheduler that still exists is never marked (BullMQ's exception): failing it
//! for stalling would lose that tick for a worker's fault, not the job's.
//!
//! Caveat: a job may run twice when its worker is alive but could not renew in time.

use oxq_core::JobId;
use oxq_core::backend::{RecoverStalled, RecoveredStalled};
use oxq_core::clock::millis;
use oxq_core::repeat::parse_iteration_job_id;
use rusqlite::params;

use crate::band::stored_score;
use crate::codec::{ACTIVE, ms};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

/// The reason given to a job failed for stalling too often (BullMQ's text, kept exactly).
pub(crate) const STALLED_TOO_OFTEN: &str = "job stalled more than allowable limit";

pub(crate) fn recover(
    ctx: &mut WriteCtx<'_>,
    req: RecoverStalled,
) -> StoreResult<RecoveredStalled> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(RecoveredStalled::default());
    };
    let now = ms(req.now);
    let interval = ms(millis(req.interval));
    if let Some(last) = queue.stalled_checked_at
        && now < last.saturating_add(interval)
        && now >= last
    {
        return Ok(RecoveredStalled::default());
    }
    queue.stalled_checked_at = Some(now);
    let expired: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT jid, id FROM jobs WHERE qid = ?1 AND state = ?2 AND score < ?3 \
             ORDER BY score, jid",
        )?
        .query_map(params![queue.qid, ACTIVE, now], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut requeue = conn.prepare_cached(concat!(
        "UPDATE jobs SET state = ?2, score = ",
        stored_score!(),
        ", lock_token = NULL, stalled_count = stalled_count + 1, \
         deferred_failure = CASE WHEN stalled_count + 1 > ?4 THEN ?5 ELSE deferred_failure END \
         WHERE jid = ?1"
    ))?;
    let mut scheduler_exists =
        conn.prepare_cached("SELECT 1 FROM job_schedulers WHERE qid = ?1 AND id = ?2")?;
    let mut recovered = Vec::with_capacity(expired.len());
    for (jid, id) in expired {
        let scheduled = match parse_iteration_job_id(&id) {
            Some((scheduler, _)) => scheduler_exists.exists(params![queue.qid, scheduler])?,
            None => false,
        };
        let max_stalled = if scheduled {
            i64::MAX
        } else {
            i64::from(req.max_stalled_count)
        };
        let (state, score) = queue.enqueue_slot(0, true);
        requeue.execute(params![jid, state, score, max_stalled, STALLED_TOO_OFTEN])?;
        queue.emit(req.now, Kind::Waiting, Some(&id), Some("active"));
        queue.emit(req.now, Kind::Stalled, Some(&id), None);
        recovered.push(JobId(id));
    }
    drop(requeue);
    drop(scheduler_exists);
    queue.save(ctx)?;
    Ok(RecoveredStalled { job_ids: recovered })
}
