//! Moves an operator asks for: promote delayed jobs, retry finished jobs (one or in bulk).
//!
//! * `job_promote` / `jobs_promote`: delayed → runnable now, at the back of the line (or
//!   `prioritized` when the job has a priority); `waiting{prev: delayed}`.
//! * `job_retry`: completed/failed → runnable (front when the job is LIFO); attempt counters
//!   and the stacktrace are kept, `finished_on`, `processed_on`, `return_value` and
//!   `failed_reason` are cleared; `waiting{prev}`.
//! * `jobs_retry`: the same for up to `limit` jobs of one finished state, finished at or before
//!   `finished_before`, oldest first, at the back of the line.
//!
//! A retried child is a pending dependency of its parent again (see
//! [`flows`](crate::ops::flows)); the parent is not moved back.
//!
//! A `limit` of 0 means no limit, as BullMQ's `clean` reads it.

use oxq_core::backend::{JobAt, MovedJobs, PromoteJobs, RetryJobs};
use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobId, JobState};
use rusqlite::{Connection, params};

use crate::band::stored_score;
use crate::codec::{COMPLETED, DELAYED, FAILED, ms, state_code};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::flows::{self, links};
use crate::ops::queue_row::QueueRow;
use crate::ops::{JobRef, find_job, set_runnable};
use crate::writer::WriteCtx;

/// SQLite reads a negative LIMIT as "no limit".
pub(crate) fn sql_limit(limit: u64) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

fn load_job(conn: &Connection, req: &JobAt) -> StoreResult<(QueueRow, JobRef)> {
    let not_found = || Error::JobNotFound(req.job_id.to_string());
    let queue = QueueRow::load(conn, &req.queue)?.ok_or_else(not_found)?;
    let job = find_job(conn, queue.qid, req.job_id.as_str())?.ok_or_else(not_found)?;
    Ok((queue, job))
}

pub(crate) fn promote(ctx: &mut WriteCtx<'_>, req: JobAt) -> StoreResult<()> {
    let conn = ctx.conn;
    let (mut queue, job) = load_job(conn, &req)?;
    if job.state != DELAYED {
        return Err(Error::JobNotInState {
            job_id: req.job_id.to_string(),
            expected: "delayed",
        }
        .into());
    }
    let slot = queue.enqueue_slot(job.priority, false);
    set_runnable(conn, job.jid, slot)?;
    queue.emit(
        req.now,
        Kind::Waiting,
        Some(req.job_id.as_str()),
        Some("delayed"),
    );
    queue.save(ctx)
}

pub(crate) fn promote_many(ctx: &mut WriteCtx<'_>, req: PromoteJobs) -> StoreResult<MovedJobs> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(MovedJobs::default());
    };
    let jobs: Vec<(i64, String, i64)> = conn
        .prepare_cached(
            "SELECT jid, id, priority FROM jobs WHERE qid = ?1 AND state = ?2 \
             ORDER BY score, jid LIMIT ?3 + 0",
        )?
        .query_map(params![queue.qid, DELAYED, sql_limit(req.limit)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (jid, id, priority) in &jobs {
        let slot = queue.enqueue_slot(*priority, false);
        set_runnable(conn, *jid, slot)?;
        queue.emit(req.now, Kind::Waiting, Some(id), Some("delayed"));
    }
    queue.save(ctx)?;
    Ok(moved(jobs.len()))
}

pub(crate) fn retry(ctx: &mut WriteCtx<'_>, req: JobAt) -> StoreResult<()> {
    let conn = ctx.conn;
    let (mut queue, job) = load_job(conn, &req)?;
    let prev = match job.state {
        COMPLETED => JobState::Completed,
        FAILED => JobState::Failed,
        _ => {
            return Err(Error::JobNotInState {
                job_id: req.job_id.to_string(),
                expected: "completed or failed",
            }
            .into());
        }
    };
    let target = (job.jid, job.priority, job.flow);
    requeue_finished(
        conn,
        &mut queue,
        target,
        req.job_id.as_str(),
        prev,
        job.lifo,
        req.now,
    )?;
    queue.save(ctx)
}

pub(crate) fn retry_many(ctx: &mut WriteCtx<'_>, req: RetryJobs) -> StoreResult<MovedJobs> {
    if !req.state.is_finished() {
        return Err(Error::invalid(format!(
            "only completed or failed jobs can be retried, not {}",
            req.state
        ))
        .into());
    }
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(MovedJobs::default());
    };
    let jobs: Vec<(i64, String, i64, i64)> = conn
        .prepare_cached(
            "SELECT jid, id, priority, flow FROM jobs WHERE qid = ?1 AND state = ?2 \
             AND score <= ?3 ORDER BY score, jid LIMIT ?4 + 0",
        )?
        .query_map(
            params![
                queue.qid,
                state_code(req.state),
                ms(req.finished_before),
                sql_limit(req.limit)
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?
        .collect::<Result<_, _>>()?;
    for (jid, id, priority, flow) in &jobs {
        requeue_finished(
            conn,
            &mut queue,
            (*jid, *priority, *flow),
            id,
            req.state,
            false,
            req.now,
        )?;
    }
    queue.save(ctx)?;
    Ok(moved(jobs.len()))
}

fn moved(count: usize) -> MovedJobs {
    MovedJobs {
        count: u64::try_from(count).unwrap_or(u64::MAX),
    }
}

/// Moves finished job `(jid, priority, flow)` back to run; a child is pending again.
fn requeue_finished(
    conn: &Connection,
    queue: &mut QueueRow,
    (jid, priority, flow): (i64, i64, i64),
    id: &str,
    prev: JobState,
    front: bool,
    now: u64,
) -> StoreResult<()> {
    if flow & flows::CHILD != 0
        && let Some(link) = links::link_of(conn, jid)?
    {
        let child = ChildKey::new(queue.queue_ref(), JobId(id.to_owned()));
        links::child_retried(conn, &child, &link)?;
    }
    let (state, score) = queue.enqueue_slot(priority, front);
    conn.prepare_cached(concat!(
        "UPDATE jobs SET state = ?2, score = ",
        stored_score!(),
        ", processed_on = NULL, return_value = NULL, failed_reason = NULL WHERE jid = ?1"
    ))?
    .execute(params![jid, state, score])?;
    queue.emit(now, Kind::Waiting, Some(id), Some(prev.as_str()));
    Ok(())
}
