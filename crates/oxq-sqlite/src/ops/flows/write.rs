//! `flow_add`: flow trees written in one step, every node or none.
//!
//! The nodes come flattened, each parent before its children. Every node's options are
//! checked before anything is written (`InvalidOptions`); then, node by node: its id must be
//! new on its queue (`Conflict`), and its parent, when its options name one, must exist by
//! then (an earlier node, or a job stored before: `ParentNotFound`). A node with children is
//! written in waiting-children (`added`, `waiting-children`; its delay and priority apply when
//! it is released), a leaf where an add would put it (`added`, then `waiting` or `delayed`).
//! A refusal returns an error after some nodes were written; the writer rolls the whole call
//! back, so nothing of it stays.

use oxq_core::backend::{AddFlow, AddedFlow, AddedFlowNode, FlowNode};
use oxq_core::clock::millis;
use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobId};
use rusqlite::Connection;

use super::links::{self, WAITING_CHILDREN};
use super::{CHILD, OtherQueues, PARENT};
use crate::codec::{DELAYED, encode_options, ms, row_key, state_from_code};
use crate::error::StoreResult;
use crate::ops::add::{JobRow, insert};
use crate::ops::candidate_jid;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

pub(crate) fn flow_add(ctx: &mut WriteCtx<'_>, req: AddFlow) -> StoreResult<AddedFlow> {
    for node in &req.nodes {
        node.job.options.validate()?;
        if node.job.options.job_id.is_none() {
            return Err(Error::invalid(format!(
                "flow node {:?} on {} has no job id (a flow names every job)",
                node.job.name, node.queue
            ))
            .into());
        }
    }
    let Some(first) = req.nodes.first() else {
        return Ok(AddedFlow::default());
    };
    let conn = ctx.conn;
    let mut own = QueueRow::load_or_create(conn, &first.queue)?;
    let mut others = OtherQueues::default();
    let mut added = Vec::with_capacity(req.nodes.len());
    for node in req.nodes {
        added.push(write_node(conn, &mut own, &mut others, node, req.now)?);
    }
    own.save(ctx)?;
    others.save(ctx)?;
    Ok(AddedFlow { nodes: added })
}

fn write_node(
    conn: &Connection,
    own: &mut QueueRow,
    others: &mut OtherQueues,
    node: FlowNode,
    now: u64,
) -> StoreResult<AddedFlowNode> {
    let FlowNode {
        queue,
        job,
        children,
    } = node;
    let options = job.options;
    let id = options
        .job_id
        .clone()
        .ok_or_else(|| Error::invalid("a flow node has no job id"))?;
    let parent = match &options.parent {
        Some(link) => Some(links::require_parent(conn, link)?),
        None => None,
    };
    let row = others.row_of(conn, own, &queue)?;
    if candidate_jid(conn, row.qid, id.as_str())?.is_some() {
        return Err(Error::Conflict(format!(
            "job {id} already exists on {queue}; a flow only writes new jobs"
        ))
        .into());
    }
    let auto = row.next_id()?;
    let priority = i64::from(options.priority);
    row.emit(now, Kind::Added, Some(id.as_str()), Some(&job.name));
    let (state, score) = if children > 0 {
        row.emit(now, Kind::WaitingChildren, Some(id.as_str()), None);
        (WAITING_CHILDREN, ms(now))
    } else if let Some(delay) = options.delay {
        let due = now.saturating_add(millis(delay));
        row.emit(
            now,
            Kind::Delayed,
            Some(id.as_str()),
            Some(&due.to_string()),
        );
        (DELAYED, ms(due))
    } else {
        row.emit(now, Kind::Waiting, Some(id.as_str()), None);
        row.enqueue_slot(priority, options.lifo)
    };
    let mut flow = 0;
    if parent.is_some() {
        flow |= CHILD;
    }
    if children > 0 {
        flow |= PARENT;
    }
    let written = JobRow {
        jid: row_key(row.qid, auto),
        id: id.0.clone(),
        state,
        score,
        priority,
        lifo: options.lifo,
        max_attempts: i64::from(options.attempts),
        custom: true,
        name: job.name,
        data: job.data,
        options: encode_options(&options).map(Into::into),
        flow,
        group: options.group.clone(),
    };
    insert(conn, row.qid, ms(now), std::slice::from_ref(&written))?;
    if let Some(parent) = &parent {
        let child = ChildKey::new(queue.clone(), JobId(id.0.clone()));
        links::add_dependency(conn, parent, &child)?;
    }
    let state = state_from_code(state)
        .ok_or_else(|| Error::store(format!("job {id} was given unknown state code {state}")))?;
    Ok(AddedFlowNode { queue, id, state })
}
