//! Durable steps: a job's step entries and signals in `job_steps` (see
//! `migrations/0009_steps.sql`), deleted with the job by a trigger.
//!
//! * `steps_read` (a reader): the job's entries and signals, each by name.
//! * `step_save`: one entry, only while the job is active under the caller's token
//!   (`LockLost` otherwise), and the signal it waits for set or cleared; answers that signal's
//!   payload when it was sent already. No event.
//! * `job_signal`: stores the payload; a delayed job waiting for that signal becomes runnable
//!   at the back of its line (or prioritized), `waiting{prev: delayed}`, as a promote.
//! * [`run_if_signalled`], from the finish of a delayed end: a job that waits for a signal
//!   sent while it was active is not parked but runs again at once (front of its line, or
//!   prioritized), `waiting{prev: active}`. With `job_signal` that closes the race between a
//!   wait's look for its signal and the park: both run in the one writer, so a signal is stored
//!   either before the park (found here) or after it (the job is delayed and woken).

use oxq_core::backend::{JobStepEntries, ReadSteps, SaveStep, SavedStep, SendSignal, SignalSent};
use oxq_core::{Error, JobId, QueueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{ACTIVE, DELAYED};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::ops::{JobRef, find_job, set_runnable};
use crate::writer::WriteCtx;

const ENTRY: i64 = 0;
const SIGNAL: i64 = 1;

fn load(conn: &Connection, queue: &QueueRef, id: &JobId) -> StoreResult<(QueueRow, JobRef)> {
    let not_found = || Error::JobNotFound(id.to_string());
    let row = QueueRow::load(conn, queue)?.ok_or_else(not_found)?;
    let job = find_job(conn, row.qid, id.as_str())?.ok_or_else(not_found)?;
    Ok((row, job))
}

pub(crate) fn read(conn: &Connection, req: &ReadSteps) -> StoreResult<Option<JobStepEntries>> {
    let Some(queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(None);
    };
    let Some(job) = find_job(conn, queue.qid, req.job_id.as_str())? else {
        return Ok(None);
    };
    let mut stored = JobStepEntries::default();
    let mut statement = conn.prepare_cached(
        "SELECT kind, name, value FROM job_steps WHERE jid = ?1 ORDER BY kind, name",
    )?;
    let rows = statement.query_map([job.jid], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
    })?;
    for row in rows {
        let (kind, name, value) = row?;
        if kind == SIGNAL {
            stored.signals.push((name, value));
        } else {
            stored.entries.push((name, value));
        }
    }
    Ok(Some(stored))
}

pub(crate) fn save(ctx: &mut WriteCtx<'_>, req: SaveStep) -> StoreResult<SavedStep> {
    let conn = ctx.conn;
    let (_, job) = load(conn, &req.queue, &req.job_id)?;
    if job.state != ACTIVE || job.lock_token.as_deref() != Some(req.token.as_str()) {
        return Err(Error::LockLost(req.job_id.to_string()).into());
    }
    conn.prepare_cached(
        "INSERT INTO job_steps (jid, kind, name, value) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (jid, kind, name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![job.jid, ENTRY, req.name, req.entry])?;
    conn.prepare_cached("UPDATE jobs SET steps = 1, waits_for = ?2 WHERE jid = ?1")?
        .execute(params![job.jid, req.waits_for])?;
    let signal = match &req.waits_for {
        Some(name) => conn
            .prepare_cached(
                "SELECT value FROM job_steps WHERE jid = ?1 AND kind = ?2 AND name = ?3",
            )?
            .query_row(params![job.jid, SIGNAL, name], |r| r.get(0))
            .optional()?,
        None => None,
    };
    Ok(SavedStep { signal })
}

pub(crate) fn signal(ctx: &mut WriteCtx<'_>, req: SendSignal) -> StoreResult<SignalSent> {
    let conn = ctx.conn;
    let (mut queue, job) = load(conn, &req.queue, &req.job_id)?;
    conn.prepare_cached(
        "INSERT INTO job_steps (jid, kind, name, value) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (jid, kind, name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![job.jid, SIGNAL, req.name, req.payload])?;
    let waits_for: Option<String> = conn
        .prepare_cached("UPDATE jobs SET steps = 1 WHERE jid = ?1 RETURNING waits_for")?
        .query_row([job.jid], |r| r.get(0))?;
    if job.state != DELAYED || waits_for.as_deref() != Some(req.name.as_str()) {
        return Ok(SignalSent { woke: false });
    }
    let slot = queue.enqueue_slot(job.priority, false);
    set_runnable(conn, job.jid, slot)?;
    conn.prepare_cached("UPDATE jobs SET waits_for = NULL WHERE jid = ?1")?
        .execute([job.jid])?;
    queue.emit(
        req.now,
        Kind::Waiting,
        Some(req.job_id.as_str()),
        Some("delayed"),
    );
    queue.save(ctx)?;
    Ok(SignalSent { woke: true })
}

/// The park of the job `jid` (just delayed by a finish, still in this transaction) that waits
/// for `signal`: when that signal was sent already, the job is made runnable at once (front of
/// its line, or prioritized), stops waiting and `waiting{prev: active}` is recorded. Answers
/// whether it was.
pub(crate) fn run_if_signalled(
    conn: &Connection,
    queue: &mut QueueRow,
    jid: i64,
    id: &str,
    signal: &str,
    priority: i64,
    now: u64,
) -> StoreResult<bool> {
    let sent = conn
        .prepare_cached("SELECT 1 FROM job_steps WHERE jid = ?1 AND kind = ?2 AND name = ?3")?
        .exists(params![jid, SIGNAL, signal])?;
    if !sent {
        return Ok(false);
    }
    set_runnable(conn, jid, queue.enqueue_slot(priority, true))?;
    conn.prepare_cached("UPDATE jobs SET waits_for = NULL WHERE jid = ?1")?
        .execute([jid])?;
    queue.emit(now, Kind::Waiting, Some(id), Some("active"));
    Ok(true)
}
