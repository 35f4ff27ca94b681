//! Worker presence on SQLite: one row per announced worker in `workers` (migration 0008_workers),
//! renewed by its worker, deleted when it leaves or (by the queue's next announcement) once it
//! expired; listing reads the rows that have not expired.

use std::time::Duration;

use oxq_core::backend::{AnnounceWorker, LeaveWorker, ListWorkers, WorkerInfo};
use rusqlite::{Connection, params};

use crate::error::StoreResult;
use crate::writer::WriteCtx;

/// Writes or renews the worker's row, and drops the queue's expired rows.
pub(crate) fn announce(ctx: &mut WriteCtx<'_>, req: &AnnounceWorker) -> StoreResult<()> {
    let (prefix, queue) = (&req.queue.prefix, &req.queue.name);
    let now = to_sql(req.now);
    let expires_at = to_sql(req.now.saturating_add(req.ttl.as_millis() as u64));
    ctx.conn
        .prepare_cached(
            "DELETE FROM workers WHERE prefix = ?1 AND queue = ?2 AND expires_at <= ?3",
        )?
        .execute(params![prefix, queue, now])?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO workers (prefix, queue, worker_id, name, addr, started_at, seen_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
             ON CONFLICT (prefix, queue, worker_id)
             DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at,
                           expires_at = excluded.expires_at",
        )?
        .execute(params![
            prefix,
            queue,
            req.worker_id,
            req.name,
            format!("pid {}", std::process::id()),
            now,
            expires_at
        ])?;
    Ok(())
}

pub(crate) fn leave(ctx: &mut WriteCtx<'_>, req: &LeaveWorker) -> StoreResult<()> {
    ctx.conn
        .prepare_cached("DELETE FROM workers WHERE prefix = ?1 AND queue = ?2 AND worker_id = ?3")?
        .execute(params![req.queue.prefix, req.queue.name, req.worker_id])?;
    Ok(())
}

/// The queue's unexpired workers, oldest first.
pub(crate) fn list(conn: &Connection, req: &ListWorkers) -> StoreResult<Vec<WorkerInfo>> {
    let now = to_sql(req.now);
    let mut stmt = conn.prepare_cached(
        "SELECT name, addr, started_at, seen_at FROM workers
         WHERE prefix = ?1 AND queue = ?2 AND expires_at > ?3
         ORDER BY started_at, worker_id",
    )?;
    let rows = stmt.query_map(params![req.queue.prefix, req.queue.name, now], |row| {
        let since = |at: i64| Duration::from_millis(u64::try_from(now - at).unwrap_or(0));
        Ok(WorkerInfo::new(
            row.get(0)?,
            row.get::<_, String>(1)?,
            since(row.get(2)?),
            since(row.get(3)?),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}
