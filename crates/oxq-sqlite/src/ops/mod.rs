//! Store operations, one module per family. Write operations are plain functions over a
//! [`WriteCtx`](crate::writer::WriteCtx) run on the writer thread; read operations take a
//! read-only `&Connection`. Each write operation is one state transition and appends the
//! events it causes through [`QueueRow::emit`](queue_row::QueueRow::emit) in the same
//! transaction. Domain refusals (job not found, lock lost, wrong state, conflict) are decided
//! before the operation writes anything.
//!
//! SQL conventions: statements are prepared once per connection (`prepare_cached`); a bound
//! `LIMIT`/`OFFSET` is written `?n + 0`, because SQLite's planner reads a bare bound limit and
//! then re-prepares the statement at every new binding.

pub(crate) mod add;
pub(crate) mod admin;
pub(crate) mod bulk_insert;
pub(crate) mod cancel;
pub(crate) mod dead_letters;
pub(crate) mod dedup;
pub(crate) mod event_log;
pub(crate) mod events;
pub(crate) mod fetch;
pub(crate) mod finish;
pub(crate) mod flows;
pub(crate) mod groups;
pub(crate) mod limits;
pub(crate) mod list;
pub(crate) mod locks;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod moves;
pub(crate) mod queue_row;
pub(crate) mod retention;
pub(crate) mod schedulers;
pub(crate) mod stalled;
pub(crate) mod steps;
pub(crate) mod workers;

use oxq_core::{Error, JobState};
use rusqlite::{Connection, OptionalExtension, params};

use crate::band::stored_score;
use crate::codec::{auto_id_number, row_key, state_from_code};
use crate::error::StoreResult;

/// What writes need to know about one job without reading its payload.
#[derive(Debug, Clone)]
pub(crate) struct JobRef {
    pub jid: i64,
    pub state: i64,
    pub score: i64,
    pub priority: i64,
    pub lifo: bool,
    pub max_attempts: i64,
    pub attempts_made: i64,
    pub lock_token: Option<String>,
    /// Its part in a flow: [`flows::CHILD`] and [`flows::PARENT`] bits, 0 for none.
    pub flow: i64,
}

impl JobRef {
    pub(crate) fn state(&self) -> StoreResult<JobState> {
        state_from_code(self.state)
            .ok_or_else(|| Error::store(format!("unknown state code {}", self.state)).into())
    }
}

/// The internal key job `id` of queue `qid` would have: computed for an automatic id (the
/// row may not exist), looked up for a custom one. Statements using it must also check
/// `id = ?`, since the key of an automatic id may belong to a custom-id job added at that
/// counter value.
pub(crate) fn candidate_jid(conn: &Connection, qid: i64, id: &str) -> StoreResult<Option<i64>> {
    if let Some(n) = auto_id_number(id) {
        return Ok(Some(row_key(qid, n)));
    }
    let jid = conn
        .prepare_cached("SELECT jid FROM jobs WHERE qid = ?1 AND id = ?2 AND custom_id = 1")?
        .query_row(params![qid, id], |r| r.get(0))
        .optional()?;
    Ok(jid)
}

/// Looks a job up by its queue and id.
pub(crate) fn find_job(conn: &Connection, qid: i64, id: &str) -> StoreResult<Option<JobRef>> {
    let Some(jid) = candidate_jid(conn, qid, id)? else {
        return Ok(None);
    };
    let job = conn
        .prepare_cached(
            "SELECT jid, state, score, priority, lifo, max_attempts, attempts_made, lock_token, \
             flow FROM jobs WHERE jid = ?1 AND id = ?2",
        )?
        .query_row(params![jid, id], |r| {
            Ok(JobRef {
                jid: r.get(0)?,
                state: r.get(1)?,
                score: r.get(2)?,
                priority: r.get(3)?,
                lifo: r.get(4)?,
                max_attempts: r.get(5)?,
                attempts_made: r.get(6)?,
                lock_token: r.get(7)?,
                flow: r.get(8)?,
            })
        })
        .optional()?;
    Ok(job)
}

/// Deletes a job and its logs.
pub(crate) fn delete_job(conn: &Connection, jid: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM logs WHERE jid = ?1")?
        .execute([jid])?;
    conn.prepare_cached("DELETE FROM jobs WHERE jid = ?1")?
        .execute([jid])?;
    Ok(())
}

/// Moves a job into a runnable state (`waiting` or `prioritized`) at `(state, score)` (in its
/// group's band when it has one, see [`band`](crate::band)).
pub(crate) fn set_runnable(conn: &Connection, jid: i64, slot: (i64, i64)) -> StoreResult<()> {
    conn.prepare_cached(concat!(
        "UPDATE jobs SET state = ?2, score = ",
        stored_score!(),
        " WHERE jid = ?1"
    ))?
    .execute(params![jid, slot.0, slot.1])?;
    Ok(())
}
