//! Deduplication ids (BullMQ 6's `deduplication` option), kept in `dedup_keys` (see
//! `migrations/0005_deduplication.sql`): the rules of [`oxq_core::backend::DedupIds`].
//!
//! Where they hook in:
//!
//! | caller | hook |
//! |---|---|
//! | `job_add_bulk` | [`decide`] before a job with a deduplication id is written |
//! | `job_finish` (completed, failed for good) | [`on_finished`], for a job with the [`DEDUP`] bit |
//! | `job_remove`, `queue_clean` | [`on_removed`], for a job with the [`DEDUP`] bit |
//! | `queue_drain` | [`on_drained`], before its bulk delete |
//! | `queue_obliterate` | [`forget_queue`] |
//! | the facet | [`owner`], [`release`] |
//!
//! Windows are judged against each call's `now`, so a moved clock opens them.

use oxq_core::backend::{AddedJob, DeduplicationKey, RemoveDeduplicationKey};
use oxq_core::clock::millis;
use oxq_core::{Deduplication, JobId, JobOptions, JobRecord};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{
    ACTIVE, DELAYED, auto_id_number, encode_options, job_columns, job_from_row, ms, row_key,
};
use crate::error::StoreResult;
use crate::ops::add::{self, JobRow};
use crate::ops::event_log::Kind;
use crate::ops::list::queue_id;
use crate::ops::queue_row::QueueRow;

/// `jobs.flow` bit: the job was added with a deduplication id.
pub(crate) const DEDUP: i64 = 4;

/// The row of a deduplication id, as [`decide`] needs it.
struct Owner {
    job_id: String,
    job_jid: i64,
    expires_at: Option<i64>,
}

/// The job an add would write, as [`decide`] sees it.
pub(crate) struct Candidate<'a> {
    pub id: &'a str,
    pub jid: i64,
    pub name: &'a str,
    pub data: &'a str,
    pub options: &'a JobOptions,
}

/// What an add with a deduplication id does.
pub(crate) enum Decision {
    /// Write the job: it owns the id now.
    Write,
    /// Write nothing; this is the answer.
    Standing(AddedJob),
}

/// Decides the add of `job` with `dedup` on `queue` at `now`: takes the id for it, or answers
/// the owner that stands (emitting `deduplicated`, and for a debounce `removed` of the
/// replaced delayed owner). The caller writes the job on [`Decision::Write`].
pub(crate) fn decide(
    conn: &Connection,
    queue: &mut QueueRow,
    dedup: &Deduplication,
    job: &Candidate<'_>,
    now: u64,
) -> StoreResult<Decision> {
    let qid = queue.qid;
    let window_end = |now: u64| -> Option<i64> {
        match dedup.ttl {
            Some(ttl) if !dedup.keep_last_if_active => Some(ms(now.saturating_add(millis(ttl)))),
            _ => None,
        }
    };
    let Some(owner) = owner_row(conn, qid, &dedup.id, now)? else {
        set_owner(conn, qid, &dedup.id, job, window_end(now))?;
        return Ok(Decision::Write);
    };
    if dedup.replace && job_state(conn, owner.job_jid, &owner.job_id)? == Some(DELAYED) {
        // debounce: the delayed owner goes and this add stands in its place
        crate::ops::delete_job(conn, owner.job_jid)?;
        queue.emit(now, Kind::Removed, Some(&owner.job_id), Some("delayed"));
        emit_deduplicated(queue, now, job.id, &dedup.id, &owner.job_id);
        let expires_at = if dedup.ttl.is_some() && !dedup.extend && !dedup.keep_last_if_active {
            owner.expires_at
        } else {
            window_end(now)
        };
        set_owner(conn, qid, &dedup.id, job, expires_at)?;
        return Ok(Decision::Write);
    }
    if owner.expires_at.is_none() && job_state(conn, owner.job_jid, &owner.job_id)?.is_none() {
        // stale: its owner vanished without releasing it
        set_owner(conn, qid, &dedup.id, job, window_end(now))?;
        return Ok(Decision::Write);
    }
    if dedup.keep_last_if_active && job_state(conn, owner.job_jid, &owner.job_id)? == Some(ACTIVE) {
        conn.prepare_cached(
            "UPDATE dedup_keys SET expires_at = NULL, next_id = ?3, next_name = ?4, \
             next_data = ?5, next_options = ?6 WHERE qid = ?1 AND dedup_id = ?2",
        )?
        .execute(params![
            qid,
            dedup.id,
            job.id,
            job.name,
            job.data,
            encode_options(job.options)
        ])?;
    } else if dedup.extend && !dedup.replace {
        conn.prepare_cached(
            "UPDATE dedup_keys SET expires_at = ?3 WHERE qid = ?1 AND dedup_id = ?2",
        )?
        .execute(params![qid, dedup.id, window_end(now)])?;
    }
    emit_deduplicated(queue, now, &owner.job_id, &dedup.id, job.id);
    Ok(Decision::Standing(AddedJob::Deduplicated {
        id: JobId(owner.job_id.clone()),
        rejected: JobId(job.id.to_owned()),
        standing: record_of(conn, owner.job_jid, &owner.job_id)?.map(Box::new),
    }))
}

/// A job with the [`DEDUP`] bit completed or failed for good: the id it owns is released unless
/// a window holds it, and a job kept aside is written (it owns the id from now).
pub(crate) fn on_finished(
    conn: &Connection,
    queue: &mut QueueRow,
    jid: i64,
    now: u64,
) -> StoreResult<()> {
    let row = conn
        .prepare_cached(
            "SELECT dedup_id, expires_at, next_id, next_name, next_data, next_options \
             FROM dedup_keys WHERE job_jid = ?1 AND qid = ?2",
        )?
        .query_row(params![jid, queue.qid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .optional()?;
    let Some((dedup_id, expires_at, next_id, next_name, next_data, next_options)) = row else {
        return Ok(());
    };
    if expires_at.is_some_and(|end| end > ms(now)) {
        return Ok(());
    }
    delete_key(conn, queue.qid, &dedup_id)?;
    if let (Some(next_id), Some(name), Some(data)) = (next_id, next_name, next_data) {
        requeue(
            conn,
            queue,
            &dedup_id,
            next_id,
            name,
            data,
            next_options,
            now,
        )?;
    }
    Ok(())
}

/// Writes the job keepLastIfActive kept aside, under the id it was given at its add, as an add
/// would (delayed, prioritized or waiting; `added` and `waiting`/`delayed`), owning the id.
#[allow(clippy::too_many_arguments)]
fn requeue(
    conn: &Connection,
    queue: &mut QueueRow,
    dedup_id: &str,
    id: String,
    name: String,
    data: String,
    options: Option<String>,
    now: u64,
) -> StoreResult<()> {
    let opts: JobOptions = match options.as_deref() {
        Some(json) => serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::warn!(job_id = %id, error = %e, "kept-aside job options do not decode; using defaults");
            JobOptions::default()
        }),
        None => JobOptions::default(),
    };
    // every add bumps the counter, this one too (as BullMQ's re-queue does)
    let auto = queue.next_id()?;
    // an automatic id keeps the number it was given at its add, which makes its row key (that
    // number was used by no row); a custom id (never a number) takes the new counter value
    let automatic = auto_id_number(&id);
    if automatic.is_none() && add::existing(conn, queue.qid, &id)?.is_some() {
        tracing::warn!(job_id = %id, "a job kept aside by keep_last_if_active has the custom id of a stored job; dropped");
        return Ok(());
    }
    let jid = row_key(queue.qid, automatic.unwrap_or(auto));
    let due_at = opts.delay.map(|d| now.saturating_add(millis(d)));
    let priority = i64::from(opts.priority);
    let (state, score) = match due_at {
        Some(due) => (DELAYED, ms(due)),
        None => queue.enqueue_slot(priority, opts.lifo),
    };
    queue.emit(now, Kind::Added, Some(&id), Some(&name));
    match due_at {
        Some(due) => queue.emit(now, Kind::Delayed, Some(&id), Some(&due.to_string())),
        None => queue.emit(now, Kind::Waiting, Some(&id), None),
    }
    let window_end = opts.deduplication.as_ref().and_then(|d| {
        d.ttl
            .filter(|_| !d.keep_last_if_active)
            .map(|ttl| ms(now.saturating_add(millis(ttl))))
    });
    conn.prepare_cached(
        "INSERT INTO dedup_keys (qid, dedup_id, job_id, job_jid, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![queue.qid, dedup_id, id, jid, window_end])?;
    let row = JobRow {
        jid,
        id,
        state,
        score,
        priority,
        lifo: opts.lifo,
        max_attempts: i64::from(opts.attempts),
        custom: automatic.is_none(),
        name,
        data,
        options: encode_options(&opts).map(Into::into),
        flow: DEDUP,
        group: opts.group.clone(),
    };
    add::insert(conn, queue.qid, ms(now), std::slice::from_ref(&row))
}

/// A job with the [`DEDUP`] bit is being removed (not by retention): the id it owns is
/// released, window or not, with what was kept aside.
pub(crate) fn on_removed(conn: &Connection, qid: i64, jid: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM dedup_keys WHERE job_jid = ?1 AND qid = ?2")?
        .execute(params![jid, qid])?;
    Ok(())
}

/// Before a drain deletes the jobs `filter` selects (SQL over `jobs`, `?1` the qid): the ids
/// they own are released.
pub(crate) fn on_drained(conn: &Connection, qid: i64, filter: &str) -> StoreResult<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM dedup_keys WHERE qid = ?1 AND job_jid IN \
         (SELECT jid FROM jobs WHERE qid = ?1 AND flow & {DEDUP} != 0 AND {filter})"
    ))?
    .execute([qid])?;
    Ok(())
}

/// The queue is obliterated: every id goes.
pub(crate) fn forget_queue(conn: &Connection, qid: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM dedup_keys WHERE qid = ?1")?
        .execute([qid])?;
    Ok(())
}

/// The facet's read: the owner at `now`.
pub(crate) fn owner(conn: &Connection, req: &DeduplicationKey) -> StoreResult<Option<JobId>> {
    let Some(qid) = queue_id(conn, &req.queue)? else {
        return Ok(None);
    };
    Ok(owner_row(conn, qid, &req.dedup_id, req.now)?.map(|o| JobId(o.job_id)))
}

/// The facet's release (only while `job_id` owns it, when given).
pub(crate) fn release(
    ctx: &mut crate::writer::WriteCtx<'_>,
    req: RemoveDeduplicationKey,
) -> StoreResult<bool> {
    let conn = ctx.conn;
    let Some(qid) = queue_id(conn, &req.queue)? else {
        return Ok(false);
    };
    let Some(owner) = owner_row(conn, qid, &req.dedup_id, req.now)? else {
        return Ok(false);
    };
    if req
        .job_id
        .as_ref()
        .is_some_and(|id| id.as_str() != owner.job_id)
    {
        return Ok(false);
    }
    delete_key(conn, qid, &req.dedup_id)?;
    Ok(true)
}

/// The row of `dedup_id` unless its window has passed at `now`.
fn owner_row(conn: &Connection, qid: i64, dedup_id: &str, now: u64) -> StoreResult<Option<Owner>> {
    let owner = conn
        .prepare_cached(
            "SELECT job_id, job_jid, expires_at FROM dedup_keys WHERE qid = ?1 AND dedup_id = ?2",
        )?
        .query_row(params![qid, dedup_id], |r| {
            Ok(Owner {
                job_id: r.get(0)?,
                job_jid: r.get(1)?,
                expires_at: r.get(2)?,
            })
        })
        .optional()?;
    Ok(owner.filter(|o| o.expires_at.is_none_or(|end| end > ms(now))))
}

/// Makes `job` the owner of `dedup_id` until `expires_at` (none: until released), forgetting
/// anything kept aside.
fn set_owner(
    conn: &Connection,
    qid: i64,
    dedup_id: &str,
    job: &Candidate<'_>,
    expires_at: Option<i64>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO dedup_keys (qid, dedup_id, job_id, job_jid, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![qid, dedup_id, job.id, job.jid, expires_at])?;
    Ok(())
}

fn delete_key(conn: &Connection, qid: i64, dedup_id: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM dedup_keys WHERE qid = ?1 AND dedup_id = ?2")?
        .execute(params![qid, dedup_id])?;
    Ok(())
}

/// The state code of job `id` at `jid`, if it exists.
fn job_state(conn: &Connection, jid: i64, id: &str) -> StoreResult<Option<i64>> {
    let state = conn
        .prepare_cached("SELECT state FROM jobs WHERE jid = ?1 AND id = ?2")?
        .query_row(params![jid, id], |r| r.get(0))
        .optional()?;
    Ok(state)
}

fn record_of(conn: &Connection, jid: i64, id: &str) -> StoreResult<Option<JobRecord>> {
    let record = conn
        .prepare_cached(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE jid = ?1 AND id = ?2"
        ))?
        .query_row(params![jid, id], job_from_row)
        .optional()?;
    Ok(record)
}

fn emit_deduplicated(queue: &mut QueueRow, now: u64, kept: &str, dedup_id: &str, dropped: &str) {
    let value = serde_json::json!({
        "deduplicationId": dedup_id,
        "deduplicatedJobId": dropped,
    })
    .to_string();
    queue.emit(now, Kind::Deduplicated, Some(kept), Some(&value));
}
