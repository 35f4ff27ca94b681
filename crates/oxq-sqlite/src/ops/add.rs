//! `job_add_bulk`: adds jobs in order, one row each.
//!
//! Per job: the queue's id counter is bumped (also for custom ids, as BullMQ does); a custom id
//! that exists (or came earlier in the same call) writes nothing but a `duplicated` event and
//! answers [`AddedJob::Existing`] with the stored record, read in this same transaction;
//! otherwise the job is stored as `delayed` (due `now + delay`), `prioritized` (priority > 0)
//! or `waiting` (at the back, or at the front for LIFO), `added` plus `waiting`/`delayed` are
//! emitted, and the answer is [`AddedJob::Created`] with that state (the rule lives here, in
//! the store, not in the runtime). Every job's options are validated before anything is
//! written (custom ids, group keys, deduplication without a parent, ...).
//!
//! A job whose options name a parent is refused, with the whole call, when that parent does
//! not exist (`ParentNotFound`, checked before the duplicate check, as BullMQ does); once
//! written it is a pending dependency of the parent, which stays where it is (see
//! [`flows`](crate::ops::flows)).
//!
//! A job with a deduplication id is decided by [`dedup::decide`] before it is written: an id
//! another job owns answers [`AddedJob::Deduplicated`] and writes no row.
//!
//! Rows are written with multi-row inserts ([`BulkInsert`]); options are encoded once per run
//! of equal options, since a bulk add usually repeats one set.

use std::collections::HashSet;
use std::rc::Rc;

use oxq_core::backend::{AddJobs, AddedJob, AddedJobs};
use oxq_core::clock::millis;
use oxq_core::flow::ChildKey;
use oxq_core::{Error, JobId, JobOptions, JobRecord};
use rusqlite::{Connection, OptionalExtension, params};

use crate::band;
use crate::codec::{
    DELAYED, encode_options, job_columns, job_from_row, ms, row_key, state_from_code,
};
use crate::error::StoreResult;
use crate::ops::bulk_insert::BulkInsert;
use crate::ops::dedup;
use crate::ops::event_log::Kind;
use crate::ops::flows;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

static INSERT: BulkInsert = BulkInsert::new(
    "jobs (jid, qid, id, state, score, priority, lifo, max_attempts, custom_id, timestamp, \
     name, data, options, flow, group_key)",
    15,
);

/// The job holding a custom id.
const EXISTING: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs WHERE qid = ?1 AND id = ?2 AND custom_id = 1"
);

/// Rows buffered before they are written.
const FLUSH_AT: usize = 1024;

/// One job as written.
pub(crate) struct JobRow {
    pub jid: i64,
    pub id: String,
    pub state: i64,
    pub score: i64,
    pub priority: i64,
    pub lifo: bool,
    pub max_attempts: i64,
    pub custom: bool,
    pub name: String,
    pub data: String,
    pub options: Option<Rc<str>>,
    /// [`flows::CHILD`] / [`flows::PARENT`] bits.
    pub flow: i64,
    /// The job's group (its options' `group`).
    pub group: Option<String>,
}

pub(crate) fn add_bulk(ctx: &mut WriteCtx<'_>, req: AddJobs) -> StoreResult<AddedJobs> {
    for job in &req.jobs {
        job.options.validate()?;
    }
    if req.jobs.is_empty() {
        return Ok(AddedJobs::default());
    }
    let conn = ctx.conn;
    let now = req.now;
    let timestamp = ms(now);
    let mut queue = QueueRow::load_or_create(conn, &req.queue)?;
    let mut added = Vec::with_capacity(req.jobs.len());
    let mut rows: Vec<JobRow> = Vec::with_capacity(req.jobs.len().min(FLUSH_AT));
    let mut custom_ids: HashSet<String> = HashSet::new();
    let mut last_options: Option<(JobOptions, Option<Rc<str>>)> = None;
    for job in req.jobs {
        let auto = queue.next_id()?;
        let opts = job.options;
        let parent = match &opts.parent {
            Some(link) => {
                // A parent added earlier in this call is among the buffered rows.
                insert(conn, queue.qid, timestamp, &rows)?;
                rows.clear();
                Some(flows::links::require_parent(conn, link)?)
            }
            None => None,
        };
        let (id, custom) = match &opts.job_id {
            Some(id) => (id.0.clone(), true),
            None => (auto.to_string(), false),
        };
        if custom {
            if custom_ids.contains(&id) {
                // Added earlier in this call: write it so it can be read back below.
                insert(conn, queue.qid, timestamp, &rows)?;
                rows.clear();
            }
            if let Some(existing) = existing(conn, queue.qid, &id)? {
                queue.emit(now, Kind::Duplicated, Some(&id), None);
                added.push(AddedJob::Existing(Box::new(existing)));
                continue;
            }
        }
        if let Some(dedup) = &opts.deduplication {
            // the owner may be among the buffered rows
            insert(conn, queue.qid, timestamp, &rows)?;
            rows.clear();
            let candidate = dedup::Candidate {
                id: &id,
                jid: row_key(queue.qid, auto),
                name: &job.name,
                data: &job.data,
                options: &opts,
            };
            if let dedup::Decision::Standing(answer) =
                dedup::decide(conn, &mut queue, dedup, &candidate, now)?
            {
                added.push(answer);
                continue;
            }
        }
        let priority = i64::from(opts.priority);
        let due_at = opts.delay.map(|d| now.saturating_add(millis(d)));
        let (state, score) = match due_at {
            Some(due) => (DELAYED, ms(due)),
            None => queue.enqueue_slot(priority, opts.lifo),
        };
        queue.emit(now, Kind::Added, Some(&id), Some(&job.name));
        match due_at {
            Some(due) => queue.emit(now, Kind::Delayed, Some(&id), Some(&due.to_string())),
            None => queue.emit(now, Kind::Waiting, Some(&id), None),
        }
        let options = match &last_options {
            Some((prev, encoded)) if same_stored_options(prev, &opts) => encoded.clone(),
            _ => {
                let encoded: Option<Rc<str>> = encode_options(&opts).map(Rc::from);
                last_options = Some((opts.clone(), encoded.clone()));
                encoded
            }
        };
        if custom {
            custom_ids.insert(id.clone());
        }
        let created = state_from_code(state).ok_or_else(|| {
            Error::store(format!("job {id} was given unknown state code {state}"))
        })?;
        added.push(AddedJob::Created {
            id: JobId(id.clone()),
            state: created,
        });
        if let Some(parent) = &parent {
            let child = ChildKey::new(queue.queue_ref(), JobId(id.clone()));
            flows::links::add_dependency(conn, parent, &child)?;
        }
        rows.push(JobRow {
            jid: row_key(queue.qid, auto),
            id,
            state,
            score,
            priority,
            lifo: opts.lifo,
            max_attempts: i64::from(opts.attempts),
            custom,
            name: job.name,
            data: job.data,
            options,
            flow: if parent.is_some() { flows::CHILD } else { 0 }
                | if opts.deduplication.is_some() {
                    dedup::DEDUP
                } else {
                    0
                },
            group: opts.group,
        });
        if rows.len() >= FLUSH_AT {
            insert(conn, queue.qid, timestamp, &rows)?;
            rows.clear();
        }
    }
    insert(conn, queue.qid, timestamp, &rows)?;
    queue.save(ctx)?;
    Ok(AddedJobs { jobs: added })
}

/// The stored job with custom id `id`, if there is one (one probe of the custom-id index).
pub(crate) fn existing(conn: &Connection, qid: i64, id: &str) -> StoreResult<Option<JobRecord>> {
    let record = conn
        .prepare_cached(EXISTING)?
        .query_row(params![qid, id], job_from_row)
        .optional()?;
    Ok(record)
}

/// Writes `rows` of queue `qid`, added at `timestamp`; a group job's runnable score goes to its
/// band ([`band`]).
pub(crate) fn insert(
    conn: &Connection,
    qid: i64,
    timestamp: i64,
    rows: &[JobRow],
) -> StoreResult<()> {
    INSERT.run(conn, rows, |stmt, at, row| {
        stmt.raw_bind_parameter(at, row.jid)?;
        stmt.raw_bind_parameter(at + 1, qid)?;
        stmt.raw_bind_parameter(at + 2, row.id.as_str())?;
        stmt.raw_bind_parameter(at + 3, row.state)?;
        let (_, score) = band::stored((row.state, row.score), row.group.is_some());
        stmt.raw_bind_parameter(at + 4, score)?;
        stmt.raw_bind_parameter(at + 5, row.priority)?;
        stmt.raw_bind_parameter(at + 6, row.lifo)?;
        stmt.raw_bind_parameter(at + 7, row.max_attempts)?;
        stmt.raw_bind_parameter(at + 8, row.custom)?;
        stmt.raw_bind_parameter(at + 9, timestamp)?;
        stmt.raw_bind_parameter(at + 10, row.name.as_str())?;
        stmt.raw_bind_parameter(at + 11, row.data.as_str())?;
        stmt.raw_bind_parameter(at + 12, row.options.as_deref())?;
        stmt.raw_bind_parameter(at + 13, row.flow)?;
        stmt.raw_bind_parameter(at + 14, row.group.as_deref())
    })
}

/// Equal apart from the id, which is not part of the stored JSON.
fn same_stored_options(a: &JobOptions, b: &JobOptions) -> bool {
    if a.job_id.is_none() && b.job_id.is_none() {
        return a == b;
    }
    let mut a = a.clone();
    a.job_id.clone_from(&b.job_id);
    a == *b
}
