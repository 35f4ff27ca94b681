//! `job_finish`: ends attempts of held jobs, then optionally fetches more of the same queue,
//! in one transaction.
//!
//! Per item (each answered on its own in `FinishResult.items`): the job must exist
//! (`JobNotFound`) and be active under the caller's token (`LockLost`, nothing applied; an
//! expired lock that nobody took over is still honoured). Then the lock is released and:
//!
//! | attempt end | attempts made | new state | events |
//! |---|---|---|---|
//! | `Completed` | + 1 | completed (`finished_on`, `return_value`) or deleted by `KeepJobs::None` | `completed` |
//! | `Failed { retry: Now }` | + 1 | waiting (front when LIFO) or prioritized | `waiting{prev: active}` |
//! | `Failed { retry: After(d) }` | + 1 | delayed, due `now + d` | `delayed{due_at}` |
//! | `Failed { retry: Never }` | + 1 | failed (`finished_on`) or deleted by `KeepJobs::None` | `failed`, and `retries-exhausted` when `attempts_made >= attempts` |
//! | `Delayed { until }` | unchanged | delayed, due `until` | `delayed{due_at: until}` |
//!
//! Every failure records `failed_reason`, appends it to the stacktrace and clears
//! `deferred_failure`. A delay (the processor asked to run again at `until`) records no error:
//! the job waits in delayed like any other, and one due already (`until <= now`) is promoted by
//! the next fetch, this call's fetch-next included. Retention trims run once per call and
//! (state, policy). Then `fetch_next` runs on the same queue (see
//! [`fetch`](crate::ops::fetch)), and `drained` is emitted once when no waiting, prioritized or
//! active job is left and at least one item was applied.

use oxq_core::backend::{AttemptEnd, Fetched, Finish, FinishJobs, FinishResult, Retry};
use oxq_core::clock::millis;
use oxq_core::{Error, KeepJobs};
use rusqlite::{Connection, params};

use crate::codec::{ACTIVE, COMPLETED, DELAYED, FAILED, ms};
use crate::error::{StoreError, StoreResult};
use crate::ops::event_log::Kind;
use crate::ops::fetch::fetch;
use crate::ops::queue_row::QueueRow;
use crate::ops::{candidate_jid, delete_job, find_job, retention};
use crate::writer::WriteCtx;

/// Completes a job the caller holds (`?1` jid, `?2` id, `?3` token).
const COMPLETE: &str = "UPDATE jobs SET state = 5, score = ?4, return_value = ?5, \
    attempts_made = attempts_made + 1, lock_token = NULL \
    WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3";

/// Delays a job the caller holds until `?4` (its due time is its score in `delayed`).
const DELAY: &str = "UPDATE jobs SET state = 2, score = ?4, lock_token = NULL \
    WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3";

/// Deletes a job the caller holds (`KeepJobs::None`).
const DELETE_HELD: &str =
    "DELETE FROM jobs WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3";

const FAIL: &str = "UPDATE jobs SET state = ?2, score = ?3, failed_reason = ?4, \
    stacktrace = CASE WHEN json_valid(stacktrace) THEN json_insert(stacktrace, '$[#]', ?4) \
                 ELSE json_array(?4) END, \
    attempts_made = attempts_made + 1, lock_token = NULL, deferred_failure = NULL \
    WHERE jid = ?1";

pub(crate) fn finish(ctx: &mut WriteCtx<'_>, req: FinishJobs) -> StoreResult<FinishResult> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        let items = req
            .items
            .iter()
            .map(|item| Err(Error::JobNotFound(item.job_id.to_string())))
            .collect();
        return Ok(FinishResult {
            items,
            fetched: Fetched::default(),
        });
    };
    let mut items = Vec::with_capacity(req.items.len());
    let mut trims: Vec<(i64, KeepJobs)> = Vec::new();
    let mut applied = 0usize;
    for item in &req.items {
        match finish_one(conn, &mut queue, item, req.now, &mut trims) {
            Ok(()) => {
                applied += 1;
                items.push(Ok(()));
            }
            Err(StoreError::Core(refused)) => items.push(Err(refused)),
            Err(failure) => return Err(failure),
        }
    }
    for (state, keep) in trims {
        retention::trim(conn, queue.qid, state, keep, req.now)?;
    }
    let fetched = match &req.fetch_next {
        Some(next) => fetch(conn, &mut queue, next, req.now)?,
        None => Fetched::default(),
    };
    // Jobs just fetched are active: no need to look for pending work then.
    if applied > 0 && fetched.jobs.is_empty() && !has_pending_work(conn, queue.qid)? {
        queue.emit(req.now, Kind::Drained, None, None);
    }
    queue.save(ctx)?;
    Ok(FinishResult { items, fetched })
}

fn finish_one(
    conn: &Connection,
    queue: &mut QueueRow,
    item: &Finish,
    now: u64,
    trims: &mut Vec<(i64, KeepJobs)>,
) -> StoreResult<()> {
    let id = item.job_id.as_str();
    let token = item.token.as_str();
    let jid =
        candidate_jid(conn, queue.qid, id)?.ok_or_else(|| Error::JobNotFound(id.to_owned()))?;
    let mut keep_policy = |state: i64, keep: KeepJobs| {
        if !matches!(keep, KeepJobs::All | KeepJobs::None) && !trims.contains(&(state, keep)) {
            trims.push((state, keep));
        }
    };
    match &item.end {
        // The common case takes one statement: the lock check is part of the UPDATE.
        AttemptEnd::Completed { return_value, keep } => {
            let done = if *keep == KeepJobs::None {
                let deleted = conn
                    .prepare_cached(DELETE_HELD)?
                    .execute(params![jid, id, token])?;
                if deleted > 0 {
                    conn.prepare_cached("DELETE FROM logs WHERE jid = ?1")?
                        .execute([jid])?;
                }
                deleted
            } else {
                conn.prepare_cached(COMPLETE)?.execute(params![
                    jid,
                    id,
                    token,
                    ms(now),
                    return_value
                ])?
            };
            if done == 0 {
                return Err(refusal(conn, jid, id)?);
            }
            keep_policy(COMPLETED, *keep);
            queue.emit(now, Kind::Completed, Some(id), Some(return_value));
        }
        AttemptEnd::Delayed { until } => {
            let due = ms(*until);
            let done = conn
                .prepare_cached(DELAY)?
                .execute(params![jid, id, token, due])?;
            if done == 0 {
                return Err(refusal(conn, jid, id)?);
            }
            queue.emit(now, Kind::Delayed, Some(id), Some(&due.to_string()));
        }
        AttemptEnd::Failed { reason, retry } => {
            let job =
                find_job(conn, queue.qid, id)?.ok_or_else(|| Error::JobNotFound(id.to_owned()))?;
            if job.state != ACTIVE || job.lock_token.as_deref() != Some(token) {
                return Err(Error::LockLost(id.to_owned()).into());
            }
            let (state, score) = match retry {
                Retry::Now => queue.enqueue_slot(job.priority, job.lifo),
                Retry::After(delay) => (DELAYED, ms(now.saturating_add(millis(*delay)))),
                Retry::Never { .. } => (FAILED, ms(now)),
            };
            conn.prepare_cached(FAIL)?
                .execute(params![job.jid, state, score, reason])?;
            match retry {
                Retry::Now => queue.emit(now, Kind::Waiting, Some(id), Some("active")),
                Retry::After(_) => {
                    queue.emit(now, Kind::Delayed, Some(id), Some(&score.to_string()));
                }
                Retry::Never { keep } => {
                    if *keep == KeepJobs::None {
                        delete_job(conn, job.jid)?;
                    }
                    keep_policy(FAILED, *keep);
                    queue.emit(now, Kind::Failed, Some(id), Some(reason));
                    let attempts = job.attempts_made + 1;
                    if attempts >= job.max_attempts {
                        let made = attempts.to_string();
                        queue.emit(now, Kind::RetriesExhausted, Some(id), Some(&made));
                    }
                }
            }
        }
        _ => {
            return Err(Error::Unsupported {
                store: "sqlite",
                operation: "this attempt end",
            }
            .into());
        }
    }
    Ok(())
}

/// Why a write guarded by the lock touched nothing: the job is gone, or not held by the caller.
fn refusal(conn: &Connection, jid: i64, id: &str) -> StoreResult<StoreError> {
    let exists = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM jobs WHERE jid = ?1 AND id = ?2)")?
        .query_row(params![jid, id], |r| r.get::<_, bool>(0))?;
    Ok(if exists {
        Error::LockLost(id.to_owned()).into()
    } else {
        Error::JobNotFound(id.to_owned()).into()
    })
}

/// True while the queue has a waiting, prioritized or active job.
fn has_pending_work(conn: &Connection, qid: i64) -> StoreResult<bool> {
    let pending = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE qid = ?1 AND state BETWEEN 0 AND 1) \
             OR EXISTS (SELECT 1 FROM jobs WHERE qid = ?1 AND state = 3)",
        )?
        .query_row([qid], |r| r.get(0))?;
    Ok(pending)
}
