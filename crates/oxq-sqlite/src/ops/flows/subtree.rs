//! Removing a parent with its whole subtree (`job_remove` of a job marked [`PARENT`]).
//!
//! The subtree is every job reachable through dependency rows, whatever their status
//! (pending, processed, ignored, failed) and queue; a child already deleted is skipped. When
//! any job of it is held by a worker (active with a lock alive at the caller's `now`), the
//! removal is refused with `Conflict` and nothing is removed. Otherwise each job is deleted
//! with its logs and a `removed{prev}` event on its own queue, the root first; the root then
//! leaves its own parent's pending dependencies, if it is a child. Dependency rows of the
//! removed parents go by trigger.

use std::collections::HashSet;

use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobId};
use rusqlite::{Connection, params};

use super::links::{self, child_key_at};
use super::{CHILD, OtherQueues, PARENT};
use crate::codec::{ACTIVE, ms, state_from_code};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::ops::{JobRef, delete_job, find_job, list};

/// One job of the subtree.
struct Member {
    qid: i64,
    id: String,
    job: JobRef,
}

/// Removes `root` (job `id` of `own`'s queue) and everything under it.
pub(crate) fn remove(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    root: JobRef,
    id: &str,
    now: u64,
) -> StoreResult<()> {
    let members = collect(conn, own.qid, root, id)?;
    if let Some(held) = members
        .iter()
        .find(|m| m.job.state == ACTIVE && m.job.score >= ms(now))
    {
        return Err(Error::Conflict(format!(
            "job {id} cannot be removed: job {} of its subtree is locked by a worker; remove it \
             once that job finishes or its lock expires",
            held.id
        ))
        .into());
    }
    let root_link = match members.first() {
        Some(root) if root.job.flow & CHILD != 0 => links::link_of(conn, root.job.jid)?,
        _ => None,
    };
    for member in &members {
        delete_job(conn, member.job.jid)?;
        let prev = state_from_code(member.job.state).map(|s| s.as_str());
        let row = others.row(conn, own, member.qid)?;
        row.emit(now, Kind::Removed, Some(&member.id), prev);
    }
    if let Some(link) = root_link {
        let child = ChildKey::new(own.queue_ref(), JobId(id.to_owned()));
        links::child_removed(conn, own, others, &child, &link, now)?;
    }
    Ok(())
}

/// The root and every job under it, breadth first; each job once.
fn collect(conn: &Connection, qid: i64, root: JobRef, id: &str) -> StoreResult<Vec<Member>> {
    let mut seen = HashSet::from([root.jid]);
    let mut members = vec![Member {
        qid,
        id: id.to_owned(),
        job: root,
    }];
    let mut next = 0;
    while let Some(parent) = members.get(next) {
        next += 1;
        let (parent_jid, flow) = (parent.job.jid, parent.job.flow);
        if flow & PARENT == 0 {
            continue;
        }
        let children: Vec<ChildKey> = conn
            .prepare_cached(
                "SELECT child_prefix, child_queue, child_id FROM job_dependencies \
                 WHERE parent_jid = ?1",
            )?
            .query_map(params![parent_jid], child_key_at(0))?
            .collect::<Result<_, _>>()?;
        for child in children {
            let Some(child_qid) = list::queue_id(conn, &child.queue)? else {
                continue;
            };
            let Some(job) = find_job(conn, child_qid, child.id.as_str())? else {
                continue;
            };
            if seen.insert(job.jid) {
                members.push(Member {
                    qid: child_qid,
                    id: child.id.0,
                    job,
                });
            }
        }
    }
    Ok(members)
}
