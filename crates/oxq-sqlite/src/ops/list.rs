//! Read-only queries: one job, pages of jobs, counts, queues, the queue's status (paused),
//! and the probe behind `queue_wait`. All run on a reader connection inside one read transaction.
//!
//! `jobs_list` walks the requested states in the order given (duplicates ignored); within a
//! state, ascending means next-to-run first for waiting and prioritized (score order),
//! soonest due for delayed, earliest finished for completed and failed, earliest started for
//! active, earliest added for waiting-children. `offset`/`limit` apply to the concatenation;
//! a `limit` of 0 returns nothing.

use oxq_core::backend::{ListJobs, QueueStatus};
use oxq_core::{JobCounts, JobId, JobRecord, JobState, QueueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{DELAYED, job_columns, job_from_row, ms_from, state_code, state_from_code};
use crate::error::StoreResult;
use crate::ops::candidate_jid;

const QID: &str = "SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2";

pub(crate) fn queue_id(conn: &Connection, queue: &QueueRef) -> StoreResult<Option<i64>> {
    let qid = conn
        .prepare_cached(QID)?
        .query_row(params![queue.prefix, queue.name], |r| r.get(0))
        .optional()?;
    Ok(qid)
}

pub(crate) fn job_get(
    conn: &Connection,
    queue: &QueueRef,
    id: &JobId,
) -> StoreResult<Option<JobRecord>> {
    let Some(qid) = queue_id(conn, queue)? else {
        return Ok(None);
    };
    let Some(jid) = candidate_jid(conn, qid, id.as_str())? else {
        return Ok(None);
    };
    let record = conn
        .prepare_cached(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE jid = ?1 AND id = ?2"
        ))?
        .query_row(params![jid, id.as_str()], job_from_row)
        .optional()?;
    Ok(record)
}

pub(crate) fn jobs_list(conn: &Connection, req: &ListJobs) -> StoreResult<Vec<JobRecord>> {
    let Some(qid) = queue_id(conn, &req.queue)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut skip = req.offset;
    let mut left = req.limit;
    let mut seen = Vec::with_capacity(req.states.len());
    for &state in &req.states {
        if left == 0 {
            break;
        }
        if seen.contains(&state) {
            continue;
        }
        seen.push(state);
        let sql = list_sql(state, req.ascending);
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(
                params![
                    qid,
                    state_code(state),
                    i64::try_from(left).unwrap_or(i64::MAX),
                    i64::try_from(skip).unwrap_or(i64::MAX)
                ],
                job_from_row,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() && skip > 0 {
            skip = skip.saturating_sub(count_state(conn, qid, state)?);
            continue;
        }
        skip = 0;
        left -= rows.len() as u64;
        out.extend(rows);
    }
    Ok(out)
}

fn list_sql(state: JobState, ascending: bool) -> String {
    let dir = if ascending { "ASC" } else { "DESC" };
    let order = match state {
        JobState::Active => format!("processed_on {dir}, jid {dir}"),
        JobState::WaitingChildren => format!("timestamp {dir}, jid {dir}"),
        _ => format!("score {dir}, jid {dir}"),
    };
    format!(
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE qid = ?1 AND state = ?2 ORDER BY {} LIMIT ?3 + 0 OFFSET ?4 + 0"
        ),
        order
    )
}

fn count_state(conn: &Connection, qid: i64, state: JobState) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM jobs WHERE qid = ?1 AND state = ?2")?
        .query_row(params![qid, state_code(state)], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn jobs_count(conn: &Connection, queue: &QueueRef) -> StoreResult<JobCounts> {
    let mut counts = JobCounts::default();
    let Some(qid) = queue_id(conn, queue)? else {
        return Ok(counts);
    };
    let mut stmt =
        conn.prepare_cached("SELECT state, count(*) FROM jobs WHERE qid = ?1 GROUP BY state")?;
    let rows = stmt.query_map([qid], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (code, n) = row?;
        if let Some(state) = state_from_code(code) {
            counts.set(state, u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(counts)
}

pub(crate) fn queue_status(conn: &Connection, queue: &QueueRef) -> StoreResult<QueueStatus> {
    let paused = conn
        .prepare_cached("SELECT paused FROM queues WHERE prefix = ?1 AND name = ?2")?
        .query_row(params![queue.prefix, queue.name], |r| r.get(0))
        .optional()?;
    Ok(QueueStatus::new(paused.unwrap_or(false)))
}

pub(crate) fn queues_list(conn: &Connection, prefix: &str) -> StoreResult<Vec<QueueRef>> {
    let queues = conn
        .prepare_cached("SELECT prefix, name FROM queues WHERE prefix = ?1 ORDER BY name")?
        .query_map([prefix], |r| {
            Ok(QueueRef {
                prefix: r.get(0)?,
                name: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(queues)
}

/// What `queue_wait` needs to decide: paused, anything runnable, earliest delayed due time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Readiness {
    pub paused: bool,
    pub runnable: bool,
    pub next_due_at: Option<u64>,
}

pub(crate) fn readiness(conn: &Connection, queue: &QueueRef) -> StoreResult<Readiness> {
    let probe = conn
        .prepare_cached(
            "SELECT q.paused, \
               EXISTS (SELECT 1 FROM jobs WHERE qid = q.qid AND state BETWEEN 0 AND 1) \
                 AND NOT EXISTS (SELECT 1 FROM queue_limits l WHERE l.qid = q.qid \
                   AND l.concurrency <= (SELECT count(*) FROM jobs WHERE qid = q.qid AND state = 3)), \
               (SELECT score FROM jobs WHERE qid = q.qid AND state = ?3 ORDER BY score LIMIT 1) \
             FROM queues q WHERE q.prefix = ?1 AND q.name = ?2",
        )?
        .query_row(params![queue.prefix, queue.name, DELAYED], |r| {
            Ok(Readiness {
                paused: r.get(0)?,
                runnable: r.get(1)?,
                next_due_at: r.get::<_, Option<i64>>(2)?.map(ms_from),
            })
        })
        .optional()?;
    Ok(probe.unwrap_or_default())
}
