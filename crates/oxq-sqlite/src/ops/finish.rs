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
//! | `Delayed { until }` | unchanged | delayed, due `until`; waiting (front) or prioritized when the job waits for a signal sent already ([`steps`]) | `delayed{due_at: until}`, or `waiting{prev: active}` |
//! | `WaitForChildren` | unchanged | waiting-children with a pending dependency, else waiting (front) | `waiting-children`, or `waiting{prev: active}` |
//! | `RateLimited { duration }` | unchanged | waiting (front) or prioritized; the queue limited for `duration` ([`limits`](crate::ops::limits)) | `waiting{prev: active}` |
//!
//! A job of a flow (`jobs.flow != 0`) also keeps the rules of [`flows`]: the completion of
//! a parent is refused per item while a dependency is pending or failed it
//! (`PendingDependencies`, `FailedDependency`: nothing applied, the job stays active); a
//! child's completion moves its value to its parent, and its final failure applies its
//! policy; a child deleted by its retention leaves its parent's pending dependencies. The
//! common completion is one `UPDATE ... AND flow = 0`: only when it matches nothing does the
//! finish look further, so jobs outside flows pay nothing for them. A job with a deduplication
//! id (the [`dedup::DEDUP`] bit of `flow`) takes the same path and releases its id
//! ([`dedup::on_finished`]) when it completes or fails for good.
//!
//! With [`FinishJobs::metrics`] set, the jobs completed and those failed for good are counted
//! in the queue's per-minute metrics in the same transaction (see [`metrics`]).
//!
//! A failure for good of a queue with a dead letter queue is copied there first, and records
//! `dead-lettered` after its `failed` events (see [`dead_letters`]).
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
use oxq_core::flow::ChildKey;
use oxq_core::{Error, KeepJobs};
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use crate::band::stored_score;
use crate::codec::{ACTIVE, COMPLETED, DELAYED, FAILED, ms};
use crate::error::{StoreError, StoreResult};
use crate::ops::dead_letters;
use crate::ops::dedup;
use crate::ops::event_log::Kind;
use crate::ops::fetch::fetch;
use crate::ops::flows::{self, OtherQueues};
use crate::ops::metrics;
use crate::ops::queue_row::QueueRow;
use crate::ops::{JobRef, candidate_jid, find_job, retention, steps};
use crate::writer::WriteCtx;

/// Completes a job the caller holds (`?1` jid, `?2` id, `?3` token), with an extra condition.
macro_rules! complete_sql {
    ($and:literal) => {
        concat!(
            "UPDATE jobs SET state = 5, score = ?4, return_value = ?5, \
             attempts_made = attempts_made + 1, lock_token = NULL \
             WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3",
            $and
        )
    };
}

/// Completes a held job outside any flow: the common case, one statement.
const COMPLETE: &str = complete_sql!(" AND flow = 0");

/// Completes a held job of a flow, once [`flows::attempt::complete`] allowed it.
const COMPLETE_FLOW: &str = complete_sql!("");

/// Delays a job the caller holds until `?4` (its due time is its score in `delayed`); answers
/// the signal it waits for (durable steps) and its priority.
const DELAY: &str = "UPDATE jobs SET state = 2, score = ?4, lock_token = NULL \
    WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3 RETURNING waits_for, priority";

/// Deletes a job the caller holds (`KeepJobs::None`), outside any flow.
const DELETE_HELD: &str =
    "DELETE FROM jobs WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3 AND flow = 0";

/// A held job of a flow, as [`find_job`] reads it (`?1` jid, `?2` id, `?3` token).
const HELD_FLOW_JOB: &str = "SELECT jid, state, score, priority, lifo, max_attempts, \
    attempts_made, lock_token, flow FROM jobs \
    WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3 AND flow != 0";

/// Ends a failed attempt: retried now (`?2` waiting or prioritized, in the group's band),
/// later (delayed) or never (failed).
const FAIL: &str = concat!(
    "UPDATE jobs SET state = ?2, score = ",
    stored_score!(),
    ", failed_reason = ?4, \
    stacktrace = CASE WHEN json_valid(stacktrace) THEN json_insert(stacktrace, '$[#]', ?4) \
                 ELSE json_array(?4) END, \
    attempts_made = attempts_made + 1, lock_token = NULL, deferred_failure = NULL \
    WHERE jid = ?1"
);

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
    let mut others = OtherQueues::default();
    // the common end, prepared once for the batch
    let mut complete = conn.prepare_cached(COMPLETE)?;
    for item in &req.items {
        let at = (&mut queue, &mut others, &mut complete);
        match finish_one(conn, at, item, req.now, &mut trims) {
            Ok(()) => {
                applied += 1;
                items.push(Ok(()));
            }
            Err(StoreError::Core(refused)) => items.push(Err(refused)),
            Err(failure) => return Err(failure),
        }
    }
    for (state, keep) in trims {
        retention::trim(conn, &mut queue, &mut others, state, keep, req.now)?;
    }
    if let Some(max_points) = req.metrics {
        metrics::record_finish(conn, queue.qid, &req.items, &items, req.now, max_points)?;
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
    others.save(ctx)?;
    Ok(FinishResult { items, fetched })
}

fn finish_one(
    conn: &Connection,
    (queue, others, complete): (&mut QueueRow, &mut OtherQueues, &mut CachedStatement<'_>),
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
                complete.execute(params![jid, id, token, ms(now), return_value])?
            };
            if done == 0 {
                // A job of a flow, or a refusal.
                let Some(job) = held_flow_job(conn, jid, id, token)? else {
                    return Err(refusal(conn, jid, id)?);
                };
                flows::attempt::complete(conn, queue, others, &job, id, return_value, now)?;
                complete_flow_job(conn, jid, id, token, return_value, *keep, now)?;
                if job.flow & dedup::DEDUP != 0 {
                    dedup::on_finished(conn, queue, jid, now)?;
                }
            }
            keep_policy(COMPLETED, *keep);
            queue.emit(now, Kind::Completed, Some(id), Some(return_value));
        }
        AttemptEnd::Delayed { until } => {
            let due = ms(*until);
            let held: Option<(Option<String>, i64)> = conn
                .prepare_cached(DELAY)?
                .query_row(params![jid, id, token, due], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((waits_for, priority)) = held else {
                return Err(refusal(conn, jid, id)?);
            };
            // the park path only: a signal that came while the job was active runs it now
            let ran_now = match waits_for {
                Some(signal) => {
                    steps::run_if_signalled(conn, queue, jid, id, &signal, priority, now)?
                }
                None => false,
            };
            if !ran_now {
                queue.emit(now, Kind::Delayed, Some(id), Some(&due.to_string()));
            }
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
                    if job.flow & flows::CHILD != 0
                        && let Some(link) = flows::links::link_of(conn, job.jid)?
                    {
                        let child = ChildKey::new(queue.queue_ref(), item.job_id.clone());
                        flows::links::child_failed(
                            conn, queue, others, &child, &link, reason, now,
                        )?;
                    }
                    let dead =
                        dead_letters::on_failed_for_good(conn, queue, others, job.jid, id, now)?;
                    if job.flow & dedup::DEDUP != 0 {
                        dedup::on_finished(conn, queue, job.jid, now)?;
                    }
                    if *keep == KeepJobs::None {
                        flows::links::delete_job(conn, queue, others, job.jid, id, job.flow, now)?;
                    }
                    keep_policy(FAILED, *keep);
                    queue.emit(now, Kind::Failed, Some(id), Some(reason));
                    let attempts = job.attempts_made + 1;
                    if attempts >= job.max_attempts {
                        let made = attempts.to_string();
                        queue.emit(now, Kind::RetriesExhausted, Some(id), Some(&made));
                    }
                    dead_letters::dead_lettered(queue, id, dead, now);
                }
            }
        }
        AttemptEnd::RateLimited { duration } => {
            let job =
                find_job(conn, queue.qid, id)?.ok_or_else(|| Error::JobNotFound(id.to_owned()))?;
            if job.state != ACTIVE || job.lock_token.as_deref() != Some(token) {
                return Err(Error::LockLost(id.to_owned()).into());
            }
            let (state, score) = queue.enqueue_slot(job.priority, true);
            conn.prepare_cached(concat!(
                "UPDATE jobs SET state = ?2, score = ",
                stored_score!(),
                ", lock_token = NULL WHERE jid = ?1"
            ))?
            .execute(params![job.jid, state, score])?;
            crate::ops::limits::limit_until(
                conn,
                queue.qid,
                now.saturating_add(millis(*duration)),
            )?;
            queue.emit(now, Kind::Waiting, Some(id), Some("active"));
        }
        AttemptEnd::WaitForChildren => {
            let job =
                find_job(conn, queue.qid, id)?.ok_or_else(|| Error::JobNotFound(id.to_owned()))?;
            if job.state != ACTIVE || job.lock_token.as_deref() != Some(token) {
                return Err(Error::LockLost(id.to_owned()).into());
            }
            flows::attempt::wait_for_children(conn, queue, &job, id, now)?;
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

/// The job `jid` when the caller holds it and it is part of a flow.
fn held_flow_job(
    conn: &Connection,
    jid: i64,
    id: &str,
    token: &str,
) -> StoreResult<Option<JobRef>> {
    let job = conn
        .prepare_cached(HELD_FLOW_JOB)?
        .query_row(params![jid, id, token], |r| {
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

/// Writes the completion of a held flow job (kept, or deleted by `KeepJobs::None`; a parent's
/// dependency rows go with it by trigger).
fn complete_flow_job(
    conn: &Connection,
    jid: i64,
    id: &str,
    token: &str,
    return_value: &str,
    keep: KeepJobs,
    now: u64,
) -> StoreResult<()> {
    let done = if keep == KeepJobs::None {
        let deleted = conn
            .prepare_cached(
                "DELETE FROM jobs WHERE jid = ?1 AND id = ?2 AND state = 3 AND lock_token = ?3",
            )?
            .execute(params![jid, id, token])?;
        conn.prepare_cached("DELETE FROM logs WHERE jid = ?1")?
            .execute([jid])?;
        deleted
    } else {
        conn.prepare_cached(COMPLETE_FLOW)?.execute(params![
            jid,
            id,
            token,
            ms(now),
            return_value
        ])?
    };
    if done == 0 {
        return Err(Error::store(format!("held job {id} could not be completed")).into());
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
