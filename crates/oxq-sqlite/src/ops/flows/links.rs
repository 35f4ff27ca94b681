//! A child's link to its parent, at each step of the child's life, and releasing a parent.
//!
//! * added: the parent must exist ([`require_parent`], else `ParentNotFound`); the child
//!   becomes a pending dependency and the parent is marked [`PARENT`] ([`add_dependency`]);
//! * completed: pending → processed with its value ([`child_completed`]);
//! * failed for good: its [`ChildFailure`] policy ([`child_failed`]);
//! * deleted (removal, retention, drain, clean, obliterate): it leaves the parent's pending
//!   dependencies ([`child_removed`], [`delete_job`]);
//! * retried from completed or failed: pending again, whatever it was ([`child_retried`]).
//!
//! A parent in waiting-children whose last pending dependency goes is released
//! ([`Release`]). The parent is found by the link in the child's options; a link to a job
//! that no longer exists changes nothing.

use oxq_core::flow::{ChildFailure, ChildKey, ParentLink};
use oxq_core::{Error, JobId, JobOptions, QueueRef};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use super::{CHILD, OtherQueues, PARENT};
use crate::codec::{DELAYED, FAILED as FAILED_STATE, ms};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::ops::{JobRef, find_job, list, set_runnable};

/// `job_dependencies.status` of a child not finished yet.
pub(crate) const PENDING: i64 = 0;
/// ... of a child that completed (`value`: its return value).
pub(crate) const PROCESSED: i64 = 1;
/// ... of a child that failed under `Ignore` or `ContinueParent` (`value`: its reason).
pub(crate) const IGNORED: i64 = 2;
/// ... of a child that failed under `FailParent`.
pub(crate) const FAILED: i64 = 3;

/// `jobs.state` of a parent waiting for its children.
pub(crate) const WAITING_CHILDREN: i64 = 4;

/// A parent, found through a child's link.
#[derive(Debug)]
pub(crate) struct Parent {
    pub qid: i64,
    pub id: String,
    pub job: JobRef,
}

/// The job `link` names, if it exists.
pub(crate) fn find_parent(conn: &Connection, link: &ParentLink) -> StoreResult<Option<Parent>> {
    let Some(qid) = list::queue_id(conn, &link.queue)? else {
        return Ok(None);
    };
    Ok(find_job(conn, qid, link.id.as_str())?.map(|job| Parent {
        qid,
        id: link.id.0.clone(),
        job,
    }))
}

/// The job `link` names, or `ParentNotFound` (checked before a child is written).
pub(crate) fn require_parent(conn: &Connection, link: &ParentLink) -> StoreResult<Parent> {
    find_parent(conn, link)?.ok_or_else(|| {
        Error::ParentNotFound {
            parent: link.key().to_string(),
        }
        .into()
    })
}

/// Makes `child` a pending dependency of `parent` and marks the parent.
pub(crate) fn add_dependency(
    conn: &Connection,
    parent: &Parent,
    child: &ChildKey,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO job_dependencies \
         (parent_jid, child_prefix, child_queue, child_id, status, value) \
         VALUES (?1, ?2, ?3, ?4, 0, NULL) \
         ON CONFLICT (parent_jid, child_prefix, child_queue, child_id) \
         DO UPDATE SET status = 0, value = NULL",
    )?
    .execute(params![
        parent.job.jid,
        child.queue.prefix,
        child.queue.name,
        child.id.as_str()
    ])?;
    if parent.job.flow & PARENT == 0 {
        conn.prepare_cached("UPDATE jobs SET flow = flow | ?2 WHERE jid = ?1")?
            .execute(params![parent.job.jid, PARENT])?;
    }
    Ok(())
}

/// The parent link in job `jid`'s stored options; `None` when it has none, or when they do
/// not decode (a poison row: its parent cannot be told, and the job fails on its own).
pub(crate) fn link_of(conn: &Connection, jid: i64) -> StoreResult<Option<ParentLink>> {
    let mut stmt = conn.prepare_cached("SELECT options FROM jobs WHERE jid = ?1")?;
    let link = stmt
        .query_row([jid], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => decode_link(jid, bytes),
                _ => None,
            })
        })
        .optional()?;
    Ok(link.flatten())
}

fn decode_link(jid: i64, stored: &[u8]) -> Option<ParentLink> {
    match serde_json::from_slice::<JobOptions>(stored) {
        Ok(options) => options.parent,
        Err(e) => {
            tracing::warn!(jid, error = %e, "a child's stored options do not decode; its parent is not told");
            None
        }
    }
}

/// How a parent leaves waiting-children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// Its dependencies are done: to delayed (due its `delay` after now) with a delay, else
    /// to the front of waiting, or prioritized with a priority.
    AsWritten,
    /// A dependency was deleted: to the front of waiting, whatever its delay and priority.
    Front,
    /// A child failed it: from waiting-children or delayed to the front of waiting (or
    /// prioritized), where its deferred failure fails it.
    ToFail,
}

/// Moves `parent` out of waiting-children (or delayed, for [`Release::ToFail`]); a parent in
/// any other state stays where it is. Emits `waiting{prev}`, or `delayed{due_at}`.
pub(crate) fn release(
    conn: &Connection,
    row: &mut QueueRow,
    parent: &Parent,
    how: Release,
    now: u64,
) -> StoreResult<()> {
    let from = parent.job.state;
    let prev = match from {
        WAITING_CHILDREN => "waiting-children",
        DELAYED if how == Release::ToFail => "delayed",
        _ => return Ok(()),
    };
    let delay = match how {
        Release::AsWritten => delay_of(conn, parent.job.jid)?,
        Release::Front | Release::ToFail => 0,
    };
    if delay > 0 {
        let due = now.saturating_add(delay);
        set_runnable(conn, parent.job.jid, (DELAYED, ms(due)))?;
        row.emit(now, Kind::Delayed, Some(&parent.id), Some(&due.to_string()));
        return Ok(());
    }
    let priority = match how {
        Release::Front => 0,
        Release::AsWritten | Release::ToFail => parent.job.priority,
    };
    let slot = row.enqueue_slot(priority, true);
    set_runnable(conn, parent.job.jid, slot)?;
    row.emit(now, Kind::Waiting, Some(&parent.id), Some(prev));
    Ok(())
}

/// A parent's own delay in ms (applied when it is released); 0 when its options do not decode.
fn delay_of(conn: &Connection, jid: i64) -> StoreResult<u64> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT options FROM jobs WHERE jid = ?1")?
        .query_row([jid], |r| {
            Ok(match r.get_ref(0)? {
                ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned),
                _ => None,
            })
        })
        .optional()?
        .flatten();
    let delay = stored
        .and_then(|json| serde_json::from_str::<JobOptions>(&json).ok())
        .and_then(|options| options.delay);
    Ok(delay.map_or(0, oxq_core::clock::millis))
}

/// Moves `child` from pending to `status` (with `value`); whether it was pending.
fn settle(
    conn: &Connection,
    parent_jid: i64,
    child: &ChildKey,
    status: i64,
    value: Option<&str>,
) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE job_dependencies SET status = ?5, value = ?6 WHERE parent_jid = ?1 \
             AND child_prefix = ?2 AND child_queue = ?3 AND child_id = ?4 AND status = 0",
        )?
        .execute(params![
            parent_jid,
            child.queue.prefix,
            child.queue.name,
            child.id.as_str(),
            status,
            value
        ])?;
    Ok(changed > 0)
}

/// Drops `child` from the pending dependencies; whether it was pending.
fn drop_pending(conn: &Connection, parent_jid: i64, child: &ChildKey) -> StoreResult<bool> {
    let dropped = conn
        .prepare_cached(
            "DELETE FROM job_dependencies WHERE parent_jid = ?1 AND child_prefix = ?2 \
             AND child_queue = ?3 AND child_id = ?4 AND status = 0",
        )?
        .execute(params![
            parent_jid,
            child.queue.prefix,
            child.queue.name,
            child.id.as_str()
        ])?;
    Ok(dropped > 0)
}

/// How many dependencies of `parent_jid` have `status`.
pub(crate) fn count(conn: &Connection, parent_jid: i64, status: i64) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM job_dependencies WHERE parent_jid = ?1 AND status = ?2",
        )?
        .query_row(params![parent_jid, status], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The first (by key) child that failed `parent_jid` under `FailParent`.
pub(crate) fn first_failed(conn: &Connection, parent_jid: i64) -> StoreResult<Option<ChildKey>> {
    let key = conn
        .prepare_cached(
            "SELECT child_prefix, child_queue, child_id FROM job_dependencies \
             WHERE parent_jid = ?1 AND status = ?2 \
             ORDER BY child_prefix, child_queue, child_id LIMIT 1",
        )?
        .query_row(params![parent_jid, FAILED], child_key_at(0))
        .optional()?;
    Ok(key)
}

/// Reads a [`ChildKey`] from columns `base..base + 3` (prefix, queue, id).
pub(crate) fn child_key_at(
    base: usize,
) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<ChildKey> {
    move |r| {
        Ok(ChildKey::new(
            QueueRef {
                prefix: r.get(base)?,
                name: r.get(base + 1)?,
            },
            JobId(r.get(base + 2)?),
        ))
    }
}

/// After `settle`/`drop_pending` took one away: releases the parent `how` when none is
/// pending any more.
fn release_if_last(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    parent: &Parent,
    how: Release,
    now: u64,
) -> StoreResult<()> {
    if parent.job.state != WAITING_CHILDREN || count(conn, parent.job.jid, PENDING)? > 0 {
        return Ok(());
    }
    let row = others.row(conn, own, parent.qid)?;
    release(conn, row, parent, how, now)
}

/// `child` completed with `value`: pending → processed; the last one releases the parent.
pub(crate) fn child_completed(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    child: &ChildKey,
    link: &ParentLink,
    value: &str,
    now: u64,
) -> StoreResult<()> {
    let Some(parent) = find_parent(conn, link)? else {
        return Ok(());
    };
    if settle(conn, parent.job.jid, child, PROCESSED, Some(value))? {
        release_if_last(conn, own, others, &parent, Release::AsWritten, now)?;
    }
    Ok(())
}

/// `child` failed for good with `reason`: what its policy does to the parent (see the
/// `Flows` contract).
pub(crate) fn child_failed(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    child: &ChildKey,
    link: &ParentLink,
    reason: &str,
    now: u64,
) -> StoreResult<()> {
    let Some(parent) = find_parent(conn, link)? else {
        return Ok(());
    };
    let jid = parent.job.jid;
    match link.on_failure {
        ChildFailure::Wait => {}
        ChildFailure::FailParent => {
            if settle(conn, jid, child, FAILED, None)? && parent.job.state != FAILED_STATE {
                let why = format!("child {child} failed");
                conn.prepare_cached("UPDATE jobs SET deferred_failure = ?2 WHERE jid = ?1")?
                    .execute(params![jid, why])?;
                let row = others.row(conn, own, parent.qid)?;
                release(conn, row, &parent, Release::ToFail, now)?;
            }
        }
        ChildFailure::Ignore => {
            if settle(conn, jid, child, IGNORED, Some(reason))? {
                release_if_last(conn, own, others, &parent, Release::AsWritten, now)?;
            }
        }
        ChildFailure::Remove => {
            if drop_pending(conn, jid, child)? {
                release_if_last(conn, own, others, &parent, Release::AsWritten, now)?;
            }
        }
        ChildFailure::ContinueParent => {
            if settle(conn, jid, child, IGNORED, Some(reason))? {
                let row = others.row(conn, own, parent.qid)?;
                release(conn, row, &parent, Release::AsWritten, now)?;
            }
        }
    }
    Ok(())
}

/// `child` is deleted: it leaves its parent's pending dependencies, and the last one
/// releases the parent to the front of its waiting jobs.
pub(crate) fn child_removed(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    child: &ChildKey,
    link: &ParentLink,
    now: u64,
) -> StoreResult<()> {
    let Some(parent) = find_parent(conn, link)? else {
        return Ok(());
    };
    if drop_pending(conn, parent.job.jid, child)? {
        release_if_last(conn, own, others, &parent, Release::Front, now)?;
    }
    Ok(())
}

/// `child` is retried from completed or failed: a pending dependency again (its value or
/// failure forgotten). The parent is not moved back.
pub(crate) fn child_retried(
    conn: &Connection,
    child: &ChildKey,
    link: &ParentLink,
) -> StoreResult<()> {
    let Some(parent) = find_parent(conn, link)? else {
        return Ok(());
    };
    conn.prepare_cached(
        "UPDATE job_dependencies SET status = 0, value = NULL WHERE parent_jid = ?1 \
         AND child_prefix = ?2 AND child_queue = ?3 AND child_id = ?4",
    )?
    .execute(params![
        parent.job.jid,
        child.queue.prefix,
        child.queue.name,
        child.id.as_str()
    ])?;
    Ok(())
}

/// Deletes job `jid` (`id` of `own`'s queue, `flow` its bits) and its logs; a child leaves
/// its parent's pending dependencies ([`child_removed`]). A parent's rows go by trigger.
pub(crate) fn delete_job(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    jid: i64,
    id: &str,
    flow: i64,
    now: u64,
) -> StoreResult<()> {
    let link = if flow & CHILD != 0 {
        link_of(conn, jid)?
    } else {
        None
    };
    crate::ops::delete_job(conn, jid)?;
    if let Some(link) = link {
        let child = ChildKey::new(own.queue_ref(), JobId(id.to_owned()));
        child_removed(conn, own, others, &child, &link, now)?;
    }
    Ok(())
}
