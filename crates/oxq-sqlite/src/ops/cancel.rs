//! `job_cancel` (the [`Cancellation`](oxq_core::backend::Cancellation) facet): one job failed
//! with the reason `cancelled`, in one transaction.
//!
//! | the job | becomes | answer |
//! |---|---|---|
//! | waiting, prioritized, delayed, waiting-children | failed (`finished_on` now) | `Cancelled { prev }` |
//! | active | failed, lock cleared, `cancelled_lock` = the token it held | `Requested` |
//! | completed, failed | unchanged | `AlreadyFinished` |
//! | none | — | `NotFound` |
//!
//! Attempts made are left as they are; the reason is appended to the stacktrace and any
//! deferred failure is cleared. Events: `failed {reason: cancelled}` then `cancelled {prev}`. A
//! child applies its parent's failure policy as for a final failure. A scheduler's pending run
//! is refused (`Conflict`), as its removal is: it would end the schedule. The holder of an
//! active job finds its lock gone: its finish is refused (`LockLost`) and its renewal answers
//! the id as cancelled ([`locks`](crate::ops::locks)).

use oxq_core::backend::{CANCELLED_REASON, CancelJob, CancelOutcome};
use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobState};
use rusqlite::params;

use crate::codec::{ACTIVE, ms};
use crate::error::StoreResult;
use crate::ops::admin::is_pending_iteration;
use crate::ops::event_log::Kind;
use crate::ops::find_job;
use crate::ops::flows::{self, OtherQueues};
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

/// Fails job `?1` as cancelled at `?2` (`?3` the reason), keeping the lock it held (`'*'` for
/// an active job without one) in `cancelled_lock`.
const CANCEL: &str = "UPDATE jobs SET state = 6, score = ?2, failed_reason = ?3, \
    stacktrace = CASE WHEN json_valid(stacktrace) THEN json_insert(stacktrace, '$[#]', ?3) \
                 ELSE json_array(?3) END, \
    cancelled_lock = CASE WHEN state = 3 THEN coalesce(lock_token, '*') ELSE cancelled_lock END, \
    lock_token = NULL, deferred_failure = NULL \
    WHERE jid = ?1";

pub(crate) fn cancel(ctx: &mut WriteCtx<'_>, req: CancelJob) -> StoreResult<CancelOutcome> {
    let conn = ctx.conn;
    let id = req.job_id.as_str();
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(CancelOutcome::NotFound);
    };
    let Some(job) = find_job(conn, queue.qid, id)? else {
        return Ok(CancelOutcome::NotFound);
    };
    let prev = job.state()?;
    if prev.is_finished() {
        return Ok(CancelOutcome::AlreadyFinished { state: prev });
    }
    if job.state != ACTIVE && is_pending_iteration(conn, queue.qid, id)? {
        return Err(Error::Conflict(format!(
            "job {id} is the pending run of a job scheduler and cannot be cancelled on its own; \
             remove the scheduler instead"
        ))
        .into());
    }
    let now = req.now;
    conn.prepare_cached(CANCEL)?
        .execute(params![job.jid, ms(now), CANCELLED_REASON])?;
    let mut others = OtherQueues::default();
    if job.flow & flows::CHILD != 0
        && let Some(link) = flows::links::link_of(conn, job.jid)?
    {
        let child = ChildKey::new(queue.queue_ref(), req.job_id.clone());
        flows::links::child_failed(
            conn,
            &mut queue,
            &mut others,
            &child,
            &link,
            CANCELLED_REASON,
            now,
        )?;
    }
    queue.emit(now, Kind::Failed, Some(id), Some(CANCELLED_REASON));
    queue.emit(now, Kind::Cancelled, Some(id), Some(prev.as_str()));
    queue.save(ctx)?;
    others.save(ctx)?;
    Ok(if prev == JobState::Active {
        CancelOutcome::Requested
    } else {
        CancelOutcome::Cancelled { prev }
    })
}
