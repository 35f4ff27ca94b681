//! A job's progress and log lines.
//!
//! Progress is JSON text on the job row plus a `progress` event. Log lines live in `logs`,
//! keyed by the job's internal row id and a line number, so they go when the job goes;
//! `keep_logs` keeps the newest lines only; adding a line answers how many the job has and
//! writes no event (as BullMQ's `addLog`), so `AddLog.now` is not needed here. Neither checks a
//! lock token (the requests carry none), as BullMQ's `updateProgress` and `addLog` do not. The
//! `progress` event is stamped with the caller's `now`.

use oxq_core::backend::{AddLog, JobLogs, LogAdded, ReadLogs, UpdateProgress};
use oxq_core::{Error, QueueRef};
use rusqlite::{Connection, params};

use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::moves::sql_limit;
use crate::ops::queue_row::QueueRow;
use crate::ops::{find_job, list};
use crate::writer::WriteCtx;

pub(crate) fn update_progress(ctx: &mut WriteCtx<'_>, req: UpdateProgress) -> StoreResult<()> {
    let conn = ctx.conn;
    let not_found = || Error::JobNotFound(req.job_id.to_string());
    let mut queue = QueueRow::load(conn, &req.queue)?.ok_or_else(not_found)?;
    let job = find_job(conn, queue.qid, req.job_id.as_str())?.ok_or_else(not_found)?;
    conn.prepare_cached("UPDATE jobs SET progress = ?2 WHERE jid = ?1")?
        .execute(params![job.jid, req.progress])?;
    queue.emit(
        req.now,
        Kind::Progress,
        Some(req.job_id.as_str()),
        Some(&req.progress),
    );
    queue.save(ctx)
}

pub(crate) fn add(ctx: &mut WriteCtx<'_>, req: AddLog) -> StoreResult<LogAdded> {
    let conn = ctx.conn;
    let not_found = || Error::JobNotFound(req.job_id.to_string());
    let queue = QueueRow::load(conn, &req.queue)?.ok_or_else(not_found)?;
    let job = find_job(conn, queue.qid, req.job_id.as_str())?.ok_or_else(not_found)?;
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(n), 0) FROM logs WHERE jid = ?1")?
        .query_row([job.jid], |r| r.get(0))?;
    let n = last + 1;
    conn.prepare_cached("INSERT INTO logs (jid, n, line) VALUES (?1, ?2, ?3)")?
        .execute(params![job.jid, n, req.line])?;
    if let Some(keep) = req.keep_logs {
        conn.prepare_cached("DELETE FROM logs WHERE jid = ?1 AND n <= ?2")?
            .execute(params![job.jid, n - i64::from(keep)])?;
    }
    Ok(LogAdded {
        total: count(conn, job.jid)?,
    })
}

fn count(conn: &Connection, jid: i64) -> StoreResult<u64> {
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM logs WHERE jid = ?1")?
        .query_row([jid], |r| r.get(0))?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// Reads a page of a job's log, oldest line first; an unknown job has no lines.
pub(crate) fn read(conn: &Connection, req: &ReadLogs) -> StoreResult<JobLogs> {
    let Some(jid) = job_rowid(conn, &req.queue, req.job_id.as_str())? else {
        return Ok(JobLogs::default());
    };
    let offset = i64::try_from(req.offset).unwrap_or(i64::MAX);
    let lines = conn
        .prepare_cached(
            "SELECT line FROM logs WHERE jid = ?1 ORDER BY n LIMIT ?2 + 0 OFFSET ?3 + 0",
        )?
        .query_map(params![jid, sql_limit(req.limit), offset], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(JobLogs {
        lines,
        total: count(conn, jid)?,
    })
}

fn job_rowid(conn: &Connection, queue: &QueueRef, id: &str) -> StoreResult<Option<i64>> {
    let Some(qid) = list::queue_id(conn, queue)? else {
        return Ok(None);
    };
    Ok(find_job(conn, qid, id)?.map(|job| job.jid))
}
