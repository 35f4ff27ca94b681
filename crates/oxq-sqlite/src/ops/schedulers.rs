//! Job schedulers: the [`Schedulers`](oxq_core::backend::Schedulers) calls, and the hook that
//! creates a scheduler's next iteration when a fetch takes the current one.
//!
//! A scheduler is a row of `job_schedulers` (migration 0002). Its pending iteration is an
//! ordinary job with the custom id `repeat:<id>:<millis>` (BullMQ's), `delayed` until due.
//!
//! * Upsert (one transaction): the pending iteration of the old schedule is deleted if it has
//!   not started (`removed` event); the first run is [`Repeat::first_run`], which keeps the
//!   replaced run's time when the rule is unchanged, so producers racing to upsert the same
//!   schedule never add a run; the new iteration is created; the row is written.
//! * Next iteration ([`iteration_taken`]): in the very transaction of the fetch (or the finish's
//!   fetch-next) that activates job `repeat:<id>:<M>`, if `M` is the scheduler's `next_run`,
//!   the next iteration is created at [`Repeat::next_run`]`(M, now)` and `next_run` moves on.
//!   The writer serializes transactions, so exactly one fetch sees `next_run == M`: one job per
//!   tick however many workers race, and a stalled run taken again creates nothing.
//! * No burst: `next_run` is computed from `max(now, M)`; after downtime the late run runs
//!   once and the next one is the next tick in the future.
//! * The limit counts iterations created; once reached, or once the end date is passed,
//!   `next_run` becomes NULL and the scheduler stays listed with no next run.
//!
//! Only ids beginning with `repeat:` reach the hook, so fetching other jobs costs one string
//! comparison.

use oxq_core::backend::{
    Fetched, GetScheduler, JobScheduler, ListSchedulers, RemoveScheduler, SchedulerRemoved,
    SchedulerTemplate, UpsertScheduler,
};
use oxq_core::repeat::{iteration_job_id, parse_iteration_job_id, validate_scheduler_id};
use oxq_core::{Error, JobOptions, QueueRef, Repeat};
use rusqlite::{Connection, OptionalExtension, params};

use crate::band;
use crate::codec::{ACTIVE, COMPLETED, DELAYED, FAILED, encode_options, ms, ms_from, row_key};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::queue_row::QueueRow;
use crate::ops::{delete_job, find_job};
use crate::writer::WriteCtx;

/// The prefix of every iteration's job id; the fetch calls [`iteration_taken`] only for these.
pub(crate) const ITERATION_PREFIX: &str = "repeat:";

/// How many later ticks an upsert or a next iteration tries when its job id is taken (a run
/// of the same time already started or finished).
const MAX_COLLISIONS: usize = 32;

const COLUMNS: &str = "id, repeat, name, data, options, next_run, iterations";

const INSERT_JOB: &str = "INSERT INTO jobs (jid, qid, id, state, score, priority, lifo, \
    max_attempts, custom_id, timestamp, name, data, options, group_key) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?11, ?12, ?13)";

/// A scheduler row, decoded.
struct Row {
    id: String,
    repeat: Repeat,
    template: SchedulerTemplate,
    options_json: Option<String>,
    next_run: Option<u64>,
    iterations: u64,
}

impl Row {
    fn answer(self) -> JobScheduler {
        JobScheduler::new(
            self.id,
            self.repeat,
            self.template,
            self.next_run,
            self.iterations,
        )
    }
}

fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Row>> {
    let id: String = r.get(0)?;
    let repeat: String = r.get(1)?;
    let name: String = r.get(2)?;
    let data: String = r.get(3)?;
    let options_json: Option<String> = r.get(4)?;
    let next_run: Option<i64> = r.get(5)?;
    let iterations: i64 = r.get(6)?;
    Ok(decode_row(
        id,
        &repeat,
        name,
        data,
        options_json,
        next_run,
        iterations,
    ))
}

fn decode_row(
    id: String,
    repeat: &str,
    name: String,
    data: String,
    options_json: Option<String>,
    next_run: Option<i64>,
    iterations: i64,
) -> StoreResult<Row> {
    let repeat: Repeat = serde_json::from_str(repeat).map_err(|e| {
        Error::store_caused(
            format!("scheduler {id}: stored schedule does not decode"),
            e,
        )
    })?;
    let options = match &options_json {
        None => JobOptions::default(),
        Some(json) => serde_json::from_str(json).map_err(|e| {
            Error::store_caused(format!("scheduler {id}: stored options do not decode"), e)
        })?,
    };
    Ok(Row {
        id,
        repeat,
        template: SchedulerTemplate {
            name,
            data,
            options,
        },
        options_json,
        next_run: next_run.map(ms_from),
        iterations: u64::try_from(iterations).unwrap_or(0),
    })
}

fn load(conn: &Connection, qid: i64, id: &str) -> StoreResult<Option<Row>> {
    let sql = format!("SELECT {COLUMNS} FROM job_schedulers WHERE qid = ?1 AND id = ?2");
    let row = conn
        .prepare_cached(&sql)?
        .query_row(params![qid, id], row_from)
        .optional()?;
    row.transpose()
}

fn save(conn: &Connection, qid: i64, row: &Row) -> StoreResult<()> {
    let repeat = serde_json::to_string(&row.repeat)
        .map_err(|e| Error::store_caused("cannot encode a schedule", e))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO job_schedulers (qid, id, repeat, name, data, options, next_run, \
         iterations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        qid,
        row.id,
        repeat,
        row.template.name,
        row.template.data,
        row.options_json,
        row.next_run.map(ms),
        i64::try_from(row.iterations).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

/// The upsert's checks, again at the store: the seam has other callers than `Queue`.
fn validate(req: &UpsertScheduler) -> StoreResult<()> {
    validate_scheduler_id(&req.id)?;
    req.repeat.validate()?;
    req.template.options.validate()?;
    let options = &req.template.options;
    if options.job_id.is_some() || options.delay.is_some() || options.parent.is_some() {
        return Err(Error::invalid(
            "a scheduler's template cannot have a job id, a delay or a parent",
        )
        .into());
    }
    Ok(())
}

pub(crate) fn upsert(ctx: &mut WriteCtx<'_>, req: UpsertScheduler) -> StoreResult<JobScheduler> {
    validate(&req)?;
    let conn = ctx.conn;
    let now = req.now;
    let mut queue = QueueRow::load_or_create(conn, &req.queue)?;
    let old = load(conn, queue.qid, &req.id)?;
    let mut iterations = old.as_ref().map_or(0, |o| o.iterations);
    let mut replaced = None;
    if let Some(old) = &old
        && let Some(prev) = old.next_run
        && remove_pending(conn, &mut queue, &req.id, prev, now)?
    {
        iterations = iterations.saturating_sub(1);
        if old.repeat.same_rule(&req.repeat) {
            replaced = Some(prev);
        }
    }
    let options_json = encode_options(&req.template.options);
    let mut row = Row {
        id: req.id,
        repeat: req.repeat,
        template: req.template,
        options_json,
        next_run: None,
        iterations,
    };
    if row.repeat.limit.is_none_or(|limit| iterations < limit)
        && let Some(first) = row.repeat.first_run(now, replaced)?
    {
        row.next_run = create_iteration(conn, &mut queue, &row, first, now)?;
        if row.next_run.is_some() {
            row.iterations = iterations.saturating_add(1);
        }
    }
    save(conn, queue.qid, &row)?;
    queue.save(ctx)?;
    Ok(row.answer())
}

/// Deletes the pending iteration at `at` if it has not started; whether it did.
fn remove_pending(
    conn: &Connection,
    queue: &mut QueueRow,
    id: &str,
    at: u64,
    now: u64,
) -> StoreResult<bool> {
    let job_id = iteration_job_id(id, at);
    let Some(job) = find_job(conn, queue.qid, &job_id)? else {
        return Ok(false);
    };
    if matches!(job.state, ACTIVE | COMPLETED | FAILED) {
        return Ok(false);
    }
    let prev = job.state()?;
    delete_job(conn, job.jid)?;
    queue.emit(now, Kind::Removed, Some(&job_id), Some(prev.as_str()));
    Ok(true)
}

/// Creates the iteration of `row` at `at` (or at the next free tick when a run of that time
/// exists already); answers the time it got, `None` when the end date leaves none.
fn create_iteration(
    conn: &Connection,
    queue: &mut QueueRow,
    row: &Row,
    mut at: u64,
    now: u64,
) -> StoreResult<Option<u64>> {
    for _ in 0..MAX_COLLISIONS {
        let job_id = iteration_job_id(&row.id, at);
        if find_job(conn, queue.qid, &job_id)?.is_none() {
            insert_job(conn, queue, row, &job_id, at, now)?;
            return Ok(Some(at));
        }
        match row.repeat.next_run(at, at)? {
            Some(later) => at = later,
            None => return Ok(None),
        }
    }
    Err(Error::store(format!(
        "scheduler {}: {MAX_COLLISIONS} consecutive runs exist already",
        row.id
    ))
    .into())
}

fn insert_job(
    conn: &Connection,
    queue: &mut QueueRow,
    row: &Row,
    job_id: &str,
    at: u64,
    now: u64,
) -> StoreResult<()> {
    let options = &row.template.options;
    let priority = i64::from(options.priority);
    let (state, score) = if at > now {
        (DELAYED, ms(at))
    } else {
        band::stored(
            queue.enqueue_slot(priority, options.lifo),
            options.group.is_some(),
        )
    };
    let jid = row_key(queue.qid, queue.next_id()?);
    conn.prepare_cached(INSERT_JOB)?.execute(params![
        jid,
        queue.qid,
        job_id,
        state,
        score,
        priority,
        options.lifo,
        i64::from(options.attempts),
        ms(now),
        row.template.name,
        row.template.data,
        row.options_json,
        options.group,
    ])?;
    queue.emit(now, Kind::Added, Some(job_id), Some(&row.template.name));
    if state == DELAYED {
        queue.emit(now, Kind::Delayed, Some(job_id), Some(&at.to_string()));
    } else {
        queue.emit(now, Kind::Waiting, Some(job_id), None);
    }
    Ok(())
}

/// Runs right after a fetch (or a finish's fetch-next) in the same transaction: for each job
/// it activated whose id starts with [`ITERATION_PREFIX`], [`iteration_taken`]. Jobs that are
/// not iterations cost one prefix comparison each. `next_due_at` learns the new runs.
pub(crate) fn after_fetch(
    ctx: &mut WriteCtx<'_>,
    queue: &QueueRef,
    fetched: &mut Fetched,
    now: u64,
) -> StoreResult<()> {
    let mut taken = fetched
        .jobs
        .iter()
        .map(|j| j.record.id.as_str())
        .filter(|id| id.starts_with(ITERATION_PREFIX))
        .peekable();
    if taken.peek().is_none() {
        return Ok(());
    }
    let Some(mut row) = QueueRow::load(ctx.conn, queue)? else {
        return Ok(());
    };
    for id in taken {
        if let Some(next) = iteration_taken(ctx.conn, &mut row, id, now)?
            && next > now
        {
            fetched.next_due_at = Some(fetched.next_due_at.map_or(next, |d| d.min(next)));
        }
    }
    row.save(ctx)
}

/// The fetch just activated `job_id`: if it is its scheduler's pending run, create the next
/// one and answer its time. A schedule that cannot compute a next run (it passed validation,
/// so this means a row written by something else) stops with a warning instead of failing
/// the fetch.
pub(crate) fn iteration_taken(
    conn: &Connection,
    queue: &mut QueueRow,
    job_id: &str,
    now: u64,
) -> StoreResult<Option<u64>> {
    let Some((id, at)) = parse_iteration_job_id(job_id) else {
        return Ok(None);
    };
    let Some(mut row) = load(conn, queue.qid, id)? else {
        return Ok(None);
    };
    if row.next_run != Some(at) {
        return Ok(None);
    }
    row.next_run = None;
    if row.repeat.limit.is_none_or(|limit| row.iterations < limit) {
        match row.repeat.next_run(at, now) {
            Ok(Some(next)) => {
                row.next_run = create_iteration(conn, queue, &row, next, now)?;
                if row.next_run.is_some() {
                    row.iterations = row.iterations.saturating_add(1);
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(scheduler = id, error = %e, "scheduler has no next run; it stops");
            }
        }
    }
    conn.prepare_cached(
        "UPDATE job_schedulers SET next_run = ?3, iterations = ?4 WHERE qid = ?1 AND id = ?2",
    )?
    .execute(params![
        queue.qid,
        id,
        row.next_run.map(ms),
        i64::try_from(row.iterations).unwrap_or(i64::MAX)
    ])?;
    Ok(row.next_run)
}

pub(crate) fn get(conn: &Connection, req: &GetScheduler) -> StoreResult<Option<JobScheduler>> {
    let Some(qid) = qid_of(conn, &req.queue)? else {
        return Ok(None);
    };
    Ok(load(conn, qid, &req.id)?.map(Row::answer))
}

/// Ordered by next run (schedulers with none last), then id.
pub(crate) fn list(conn: &Connection, req: &ListSchedulers) -> StoreResult<Vec<JobScheduler>> {
    let Some(qid) = qid_of(conn, &req.queue)? else {
        return Ok(Vec::new());
    };
    let order = if req.ascending {
        "next_run IS NULL, next_run, id"
    } else {
        "next_run IS NULL, next_run DESC, id DESC"
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM job_schedulers WHERE qid = ?1 ORDER BY {order} \
         LIMIT ?2 + 0 OFFSET ?3 + 0"
    );
    let limit = i64::try_from(req.limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(req.offset).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![qid, limit, offset], row_from)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| r.map(Row::answer))
        .collect::<StoreResult<Vec<_>>>()
}

pub(crate) fn count(conn: &Connection, queue: &QueueRef) -> StoreResult<u64> {
    let Some(qid) = qid_of(conn, queue)? else {
        return Ok(0);
    };
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM job_schedulers WHERE qid = ?1")?
        .query_row([qid], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn remove(
    ctx: &mut WriteCtx<'_>,
    req: RemoveScheduler,
) -> StoreResult<SchedulerRemoved> {
    let conn = ctx.conn;
    let Some(mut queue) = QueueRow::load(conn, &req.queue)? else {
        return Ok(SchedulerRemoved { existed: false });
    };
    let next_run: Option<Option<i64>> = conn
        .prepare_cached("DELETE FROM job_schedulers WHERE qid = ?1 AND id = ?2 RETURNING next_run")?
        .query_row(params![queue.qid, req.id], |r| r.get(0))
        .optional()?;
    let Some(next_run) = next_run else {
        return Ok(SchedulerRemoved { existed: false });
    };
    if let Some(at) = next_run {
        remove_pending(conn, &mut queue, &req.id, ms_from(at), req.now)?;
    }
    queue.save(ctx)?;
    Ok(SchedulerRemoved { existed: true })
}

fn qid_of(conn: &Connection, queue: &QueueRef) -> StoreResult<Option<i64>> {
    let qid = conn
        .prepare_cached("SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2")?
        .query_row(params![queue.prefix, queue.name], |r| r.get(0))
        .optional()?;
    Ok(qid)
}
