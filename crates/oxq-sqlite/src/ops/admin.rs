//! Queue administration: pause, resume, drain, clean, obliterate, and removing one job.
//!
//! * pause/resume flip the queue's flag and emit `paused`/`resumed` (every call, as BullMQ).
//!   Jobs keep arriving as `waiting` while paused; fetches take none (BullMQ 6).
//! * drain deletes waiting and prioritized jobs (and delayed ones when asked), never active
//!   ones, with their logs; no events.
//! * clean deletes up to `limit` (0: no limit) jobs of one state, oldest first: finished states
//!   by `finished_on <= now - grace`, other states by the time they were added; active jobs
//!   only once their lock has expired. One `cleaned{count}` event; returns the ids.
//! * obliterate refuses ([`Error::Conflict`]) while jobs are active unless forced, then deletes
//!   the queue's jobs, logs, events and row. The event counter is remembered so that a queue
//!   created again under the same name continues the ids (old cursors stay valid).
//! * remove refuses ([`Error::Conflict`]) a job that is active with an unexpired lock; it emits
//!   `removed{prev}` and deletes the job's logs. The lock's expiry is judged, and the event
//!   stamped, at the caller's `now`. A parent goes with its whole subtree (refused while any
//!   job of it is held).
//!
//! A child deleted by any of these leaves its parent's pending dependencies, which releases
//! the parent when it was the last (see [`flows`](crate::ops::flows)); drain, clean and
//! obliterate find the children among the jobs they delete by `jobs.flow`.

use oxq_core::backend::{
    CleanQueue, CleanedJobs, DrainQueue, DrainedJobs, JobRemoved, ObliterateQueue, RemoveJob,
    SetPaused,
};
use oxq_core::clock::{millis, now_ms};
use oxq_core::flow::{ChildKey, ParentLink};
use oxq_core::{Error, JobId};
use rusqlite::{Connection, params};

use crate::codec::{ACTIVE, KEY_MAX, ms, row_key, state_code};
use crate::error::StoreResult;
use crate::ops::dedup;
use crate::ops::event_log::Kind;
use crate::ops::find_job;
use crate::ops::flows::{self, OtherQueues, links};
use crate::ops::moves::sql_limit;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

pub(crate) fn set_paused(ctx: &mut WriteCtx<'_>, req: SetPaused) -> StoreResult<()> {
    let mut row = QueueRow::load_or_create(ctx.conn, &req.queue)?;
    row.paused = req.paused;
    let kind = if req.paused {
        Kind::Paused
    } else {
        Kind::Resumed
    };
    row.emit(req.now, kind, None, None);
    row.save(ctx)
}

/// Excludes each job scheduler's pending run (`repeat:<id>:<next_run>`) from a drain or a
/// clean of unfinished jobs, as BullMQ does: removing it would stop the scheduler.
const NOT_A_PENDING_ITERATION: &str = "id NOT IN (SELECT 'repeat:' || s.id || ':' || s.next_run \
    FROM job_schedulers s WHERE s.qid = ?1 AND s.next_run IS NOT NULL)";

pub(crate) fn drain(ctx: &mut WriteCtx<'_>, req: DrainQueue) -> StoreResult<DrainedJobs> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(DrainedJobs::default());
    };
    let states = if req.include_delayed {
        "(0, 1, 2)"
    } else {
        "(0, 1)"
    };
    let children = children_among(
        conn,
        &queue,
        &format!("state IN {states} AND {NOT_A_PENDING_ITERATION}"),
    )?;
    dedup::on_drained(
        conn,
        queue.qid,
        &format!("state IN {states} AND {NOT_A_PENDING_ITERATION}"),
    )?;
    conn.prepare_cached(&format!(
        "DELETE FROM logs WHERE jid IN (SELECT jid FROM jobs WHERE qid = ?1 AND state IN {states} \
         AND {NOT_A_PENDING_ITERATION})"
    ))?
    .execute([queue.qid])?;
    let removed = conn
        .prepare_cached(&format!(
            "DELETE FROM jobs WHERE qid = ?1 AND state IN {states} AND {NOT_A_PENDING_ITERATION}"
        ))?
        .execute([queue.qid])?;
    let mut others = OtherQueues::default();
    // A drain carries no `now`: a released parent's event is stamped with the store's clock.
    detach_all(conn, &mut queue, &mut others, children, now_ms())?;
    queue.save(ctx)?;
    others.save(ctx)?;
    Ok(DrainedJobs {
        count: u64::try_from(removed).unwrap_or(u64::MAX),
    })
}

pub(crate) fn clean(ctx: &mut WriteCtx<'_>, req: CleanQueue) -> StoreResult<CleanedJobs> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(CleanedJobs::default());
    };
    let cutoff = ms(req.now.saturating_sub(millis(req.grace)));
    let sql = if req.state.is_finished() {
        "SELECT jid, id, flow FROM jobs WHERE qid = ?1 AND state = ?2 AND score <= ?3 \
         ORDER BY score, jid LIMIT ?4 + 0"
    } else if state_code(req.state) == ACTIVE {
        "SELECT jid, id, flow FROM jobs WHERE qid = ?1 AND state = ?2 AND timestamp <= ?3 \
         AND score < ?5 ORDER BY timestamp, jid LIMIT ?4 + 0"
    } else {
        &format!(
            "SELECT jid, id, flow FROM jobs WHERE qid = ?1 AND state = ?2 AND timestamp <= ?3 \
             AND {NOT_A_PENDING_ITERATION} ORDER BY timestamp, jid LIMIT ?4 + 0"
        )
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let code = state_code(req.state);
    let limit = sql_limit(req.limit);
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let rows = if code == ACTIVE {
        stmt.query_map(params![queue.qid, code, cutoff, limit, ms(req.now)], row)?
            .collect::<Result<Vec<(i64, String, i64)>, _>>()?
    } else {
        stmt.query_map(params![queue.qid, code, cutoff, limit], row)?
            .collect::<Result<Vec<(i64, String, i64)>, _>>()?
    };
    drop(stmt);
    let mut ids = Vec::with_capacity(rows.len());
    let mut others = OtherQueues::default();
    for (jid, id, flow) in rows {
        if flow & dedup::DEDUP != 0 {
            dedup::on_removed(conn, queue.qid, jid)?;
        }
        links::delete_job(conn, &mut queue, &mut others, jid, &id, flow, req.now)?;
        ids.push(JobId(id));
    }
    let count = ids.len().to_string();
    queue.emit(req.now, Kind::Cleaned, None, Some(&count));
    queue.save(ctx)?;
    others.save(ctx)?;
    Ok(CleanedJobs { ids })
}

pub(crate) fn obliterate(ctx: &mut WriteCtx<'_>, req: ObliterateQueue) -> StoreResult<()> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(());
    };
    if !req.force {
        let active: i64 = conn
            .prepare_cached("SELECT count(*) FROM jobs WHERE qid = ?1 AND state = ?2")?
            .query_row(params![queue.qid, ACTIVE], |r| r.get(0))?;
        if active > 0 {
            return Err(Error::Conflict(format!(
                "queue {} has {active} active job(s); wait for them to finish or obliterate with force",
                req.queue
            ))
            .into());
        }
    }
    // Children leave parents on other queues (this queue's own jobs all go).
    let children = children_among(conn, &queue, "1")?;
    conn.prepare_cached("DELETE FROM logs WHERE jid IN (SELECT jid FROM jobs WHERE qid = ?1)")?
        .execute([queue.qid])?;
    conn.prepare_cached("DELETE FROM jobs WHERE qid = ?1")?
        .execute([queue.qid])?;
    dedup::forget_queue(conn, queue.qid)?;
    let mut others = OtherQueues::default();
    // As for a drain, the event of a released parent is stamped with the store's clock.
    detach_all(conn, &mut queue, &mut others, children, now_ms())?;
    others.save(ctx)?;
    conn.prepare_cached("DELETE FROM events WHERE eid BETWEEN ?1 AND ?2")?
        .execute(params![row_key(queue.qid, 0), row_key(queue.qid, KEY_MAX)])?;
    queue.retire(ctx)
}

/// Whether `id` is a job scheduler's pending run (`repeat:<id>:<next_run>`), which BullMQ's
/// `removeJob` refuses (−8): removing it alone would stop the scheduler.
pub(crate) fn is_pending_iteration(conn: &Connection, qid: i64, id: &str) -> StoreResult<bool> {
    let Some((scheduler, at)) = oxq_core::repeat::parse_iteration_job_id(id) else {
        return Ok(false);
    };
    let found = conn
        .prepare_cached(
            "SELECT 1 FROM job_schedulers WHERE qid = ?1 AND id = ?2 AND next_run = ?3",
        )?
        .exists(params![qid, scheduler, ms(at)])?;
    Ok(found)
}

pub(crate) fn remove(ctx: &mut WriteCtx<'_>, req: RemoveJob) -> StoreResult<JobRemoved> {
    let conn = ctx.conn;
    let id = &req.job_id;
    let gone = JobRemoved { existed: false };
    let Some(mut row) = QueueRow::load(conn, &req.queue)? else {
        return Ok(gone);
    };
    let Some(job) = find_job(conn, row.qid, id.as_str())? else {
        return Ok(gone);
    };
    let now = req.now;
    if is_pending_iteration(conn, row.qid, id.as_str())? {
        return Err(Error::Conflict(format!(
            "job {id} is the pending run of a job scheduler and cannot be removed on its own; \
             remove the scheduler instead"
        ))
        .into());
    }
    if job.state == ACTIVE && job.score >= ms(now) {
        return Err(Error::Conflict(format!(
            "job {id} is locked by a worker; it can be removed once it finishes or its lock expires"
        ))
        .into());
    }
    let mut others = OtherQueues::default();
    let (jid, flow) = (job.jid, job.flow);
    if job.flow & flows::PARENT != 0 {
        flows::subtree::remove(conn, &mut row, &mut others, job, id.as_str(), now)?;
    } else {
        let prev = job.state()?;
        links::delete_job(
            conn,
            &mut row,
            &mut others,
            job.jid,
            id.as_str(),
            job.flow,
            now,
        )?;
        row.emit(now, Kind::Removed, Some(id.as_str()), Some(prev.as_str()));
    }
    if flow & dedup::DEDUP != 0 {
        dedup::on_removed(conn, row.qid, jid)?;
    }
    row.save(ctx)?;
    others.save(ctx)?;
    Ok(JobRemoved { existed: true })
}

/// The children (with their parent links) among the jobs of `queue` that `filter` (SQL over
/// `jobs`, `?1` the queue's qid) selects, read before a bulk delete.
fn children_among(
    conn: &Connection,
    queue: &QueueRow,
    filter: &str,
) -> StoreResult<Vec<(ChildKey, ParentLink)>> {
    let (qid, queue) = (queue.qid, queue.queue_ref());
    let found: Vec<(i64, String)> = conn
        .prepare_cached(&format!(
            "SELECT jid, id FROM jobs WHERE qid = ?1 AND flow & {} != 0 AND {filter}",
            flows::CHILD
        ))?
        .query_map([qid], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut children = Vec::with_capacity(found.len());
    for (jid, id) in found {
        if let Some(link) = links::link_of(conn, jid)? {
            children.push((ChildKey::new(queue.clone(), JobId(id)), link));
        }
    }
    Ok(children)
}

/// Tells the parents of deleted `children` (see [`links::child_removed`]).
fn detach_all(
    conn: &Connection,
    queue: &mut QueueRow,
    others: &mut OtherQueues,
    children: Vec<(ChildKey, ParentLink)>,
    now: u64,
) -> StoreResult<()> {
    for (child, link) in children {
        links::child_removed(conn, queue, others, &child, &link, now)?;
    }
    Ok(())
}
