//! A flow job's own attempt end, in `job_finish`: the checks and bookkeeping around a
//! completion, and `WaitForChildren`.
//!
//! * A parent completes only when no dependency is pending (else `PendingDependencies`) and
//!   none failed it (else `FailedDependency`, naming the first by key); nothing is written
//!   for a refused item, so the job stays active under its lock.
//! * A child's completion moves its value to its parent's processed children (before its own
//!   retention runs, so the value survives `KeepJobs::None`).
//! * `WaitForChildren` parks a parent with a pending dependency in waiting-children
//!   (`waiting-children` event); any other job, or a parent that a `FailParent` child failed
//!   (its deferred failure waits for it), goes to the front of waiting (`waiting{prev:
//!   active}`). The lock is released and the attempt not counted either way.

use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobId};
use rusqlite::{Connection, params};

use super::links::{self, FAILED, PENDING, WAITING_CHILDREN};
use super::{CHILD, OtherQueues, PARENT};
use crate::band::stored_score;
use crate::codec::ms;
use crate::error::StoreResult;
use crate::ops::JobRef;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;

/// Refuses the completion of a parent whose dependencies are not all done.
pub(crate) fn check_completion(conn: &Connection, job: &JobRef, id: &str) -> StoreResult<()> {
    if job.flow & PARENT == 0 {
        return Ok(());
    }
    let pending = links::count(conn, job.jid, PENDING)?;
    if pending > 0 {
        return Err(Error::PendingDependencies {
            job_id: id.to_owned(),
            pending,
        }
        .into());
    }
    if let Some(child) = links::first_failed(conn, job.jid)? {
        return Err(Error::FailedDependency {
            job_id: id.to_owned(),
            child: child.to_string(),
        }
        .into());
    }
    Ok(())
}

/// The bookkeeping of a completing flow job, before its own row is written: the checks of a
/// parent ([`check_completion`]), then a child's value moved to its parent.
pub(crate) fn complete(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    job: &JobRef,
    id: &str,
    return_value: &str,
    now: u64,
) -> StoreResult<()> {
    check_completion(conn, job, id)?;
    if job.flow & CHILD != 0
        && let Some(link) = links::link_of(conn, job.jid)?
    {
        let child = ChildKey::new(own.queue_ref(), JobId(id.to_owned()));
        links::child_completed(conn, own, others, &child, &link, return_value, now)?;
    }
    Ok(())
}

/// `WaitForChildren` of a job the caller holds (checked by the caller).
pub(crate) fn wait_for_children(
    conn: &Connection,
    own: &mut QueueRow,
    job: &JobRef,
    id: &str,
    now: u64,
) -> StoreResult<()> {
    let waits = job.flow & PARENT != 0
        && links::count(conn, job.jid, PENDING)? > 0
        && links::count(conn, job.jid, FAILED)? == 0;
    let (state, score) = if waits {
        (WAITING_CHILDREN, ms(now))
    } else {
        own.enqueue_slot(0, true)
    };
    conn.prepare_cached(concat!(
        "UPDATE jobs SET state = ?2, score = ",
        stored_score!(),
        ", lock_token = NULL WHERE jid = ?1"
    ))?
    .execute(params![job.jid, state, score])?;
    if waits {
        own.emit(now, Kind::WaitingChildren, Some(id), None);
    } else {
        own.emit(now, Kind::Waiting, Some(id), Some("active"));
    }
    Ok(())
}
