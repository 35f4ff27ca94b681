//! Dead letter queues (the [`DeadLetters`](oxq_core::backend::DeadLetters) facet): the
//! setting, the copy a failure for good makes, and listing, replaying and purging dead jobs.
//!
//! Tables (migration `0006_dead_letters.sql`): `dead_letter_queues` holds a queue's target,
//! `dead_letters` one row per dead job beside its copy in `jobs`, and `jobs.dead_letter` the
//! link a replayed job keeps to its dead entry.
//!
//! * [`on_failed_for_good`] runs inside [`finish`](crate::ops::finish)'s transaction, after the
//!   failure is recorded and before a `KeepJobs::None` deletes the job: one primary-key lookup
//!   of `dead_letter_queues` per job failed for good; nothing on any other path. With a target
//!   it copies the row as a `failed` job of the dead letter queue (a new automatic id; name,
//!   data, options, stacktrace, reason, timestamps and counters as stored) and records
//!   `dead-lettered` on the source queue.
//! * A replay inserts a new job on the source queue from the copy (a new automatic id, name,
//!   data and options exactly as stored, as the Redis store keeps them; counters at zero),
//!   runnable now, with `added`, `waiting` and `replayed`; the dead entry counts the replay.
//!   The options keep their parent, deduplication and delay, but the new job is no flow child
//!   and owns no deduplication id (its `flow` bits are clear), and it runs at once.
//! * A purge deletes dead entries and their copies, with `removed{prev: failed}` on the dead
//!   letter queue. Entries whose copy someone removed are forgotten silently.

use oxq_core::backend::{
    DeadLetter, DeadLettersPurged, ListDeadLetters, OfQueue, PurgeDeadLetters, ReplayDeadLetters,
    ReplayedDeadLetter, SetDeadLetterQueue,
};
use oxq_core::{Error, JobId, QueueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::band;
use crate::codec::{FAILED, job_columns, job_from_row, ms, ms_from, row_key};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::flows::OtherQueues;
use crate::ops::list::queue_id;
use crate::ops::queue_row::QueueRow;
use crate::ops::{candidate_jid, delete_job};
use crate::writer::WriteCtx;

/// The value of a `dead-lettered` or `replayed` event.
fn event_value(dead_letter_queue: &str, dead_letter_id: &str) -> String {
    serde_json::json!({ "deadLetterQueue": dead_letter_queue, "deadLetterId": dead_letter_id })
        .to_string()
}

pub(crate) fn set(ctx: &mut WriteCtx<'_>, req: SetDeadLetterQueue) -> StoreResult<()> {
    if let Some(target) = &req.target {
        if target.prefix != req.queue.prefix {
            return Err(Error::InvalidOptions(format!(
                "dead letter queue {}:{} must share the prefix {} of queue {}",
                target.prefix, target.name, req.queue.prefix, req.queue.name
            ))
            .into());
        }
        if target.name == req.queue.name {
            return Err(Error::InvalidOptions(format!(
                "queue {} cannot be its own dead letter queue",
                req.queue.name
            ))
            .into());
        }
    }
    let conn = ctx.conn;
    let queue = QueueRow::load_or_create(conn, &req.queue)?;
    match &req.target {
        Some(target) => {
            conn.prepare_cached(
                "INSERT INTO dead_letter_queues (qid, target) VALUES (?1, ?2) \
                 ON CONFLICT (qid) DO UPDATE SET target = excluded.target",
            )?
            .execute(params![queue.qid, target.name])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM dead_letter_queues WHERE qid = ?1")?
                .execute([queue.qid])?;
        }
    }
    queue.save(ctx)
}

/// The name of queue `qid`'s dead letter queue, if set.
fn target_of(conn: &Connection, qid: i64) -> StoreResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT target FROM dead_letter_queues WHERE qid = ?1")?
        .query_row([qid], |r| r.get(0))
        .optional()?)
}

pub(crate) fn get(conn: &Connection, req: &OfQueue) -> StoreResult<Option<QueueRef>> {
    let Some(qid) = queue_id(conn, &req.queue)? else {
        return Ok(None);
    };
    Ok(target_of(conn, qid)?.map(|name| QueueRef {
        prefix: req.queue.prefix.clone(),
        name,
    }))
}

/// Copies job `jid` (`id` of `queue`), just failed for good, to the queue's dead letter queue
/// when it has one. Answers the value of the `dead-lettered` event the caller records after
/// the job's `failed` events ([`dead_lettered`]), or `None` without a dead letter queue.
pub(crate) fn on_failed_for_good(
    conn: &Connection,
    queue: &mut QueueRow,
    others: &mut OtherQueues,
    jid: i64,
    id: &str,
    now: u64,
) -> StoreResult<Option<String>> {
    let Some(target) = target_of(conn, queue.qid)? else {
        return Ok(None);
    };
    let source = queue.queue_ref();
    let target_ref = QueueRef {
        prefix: source.prefix.clone(),
        name: target,
    };
    let dead_id = {
        let dlq = others.row_of(conn, queue, &target_ref)?;
        let n = dlq.next_id()?;
        let dead_jid = row_key(dlq.qid, n);
        let dead_id = n.to_string();
        let copied = conn
            .prepare_cached(
                "INSERT INTO jobs (jid, qid, id, state, score, priority, lifo, max_attempts, \
                 custom_id, timestamp, attempts_made, attempts_started, stalled_count, name, \
                 data, options, progress, processed_on, processed_by, failed_reason, \
                 stacktrace, group_key) \
                 SELECT ?2, ?3, ?4, ?5, ?6, priority, lifo, max_attempts, 0, timestamp, \
                 attempts_made, attempts_started, stalled_count, name, data, options, \
                 progress, processed_on, processed_by, failed_reason, stacktrace, group_key \
                 FROM jobs WHERE jid = ?1",
            )?
            .execute(params![jid, dead_jid, dlq.qid, dead_id, FAILED, ms(now)])?;
        if copied != 1 {
            return Err(Error::store(format!("job {id} vanished while it was failed")).into());
        }
        conn.prepare_cached(
            "INSERT INTO dead_letters (jid, qid, source_name, source_id, dead_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![dead_jid, dlq.qid, source.name, id, ms(now)])?;
        dead_id
    };
    Ok(Some(event_value(&target_ref.name, &dead_id)))
}

/// Records `dead-lettered` for job `id` with the value [`on_failed_for_good`] answered.
pub(crate) fn dead_lettered(queue: &mut QueueRow, id: &str, value: Option<String>, now: u64) {
    if let Some(value) = value {
        queue.emit(now, Kind::DeadLettered, Some(id), Some(&value));
    }
}

pub(crate) fn list(conn: &Connection, req: &ListDeadLetters) -> StoreResult<Vec<DeadLetter>> {
    let Some(qid) = queue_id(conn, &req.queue)? else {
        return Ok(Vec::new());
    };
    let prefix = req.queue.prefix.clone();
    let mut statement = conn.prepare_cached(concat!(
        "SELECT ",
        job_columns!(),
        ", d.source_name, d.source_id, d.dead_at, d.replays, d.replayed_as \
         FROM dead_letters d JOIN jobs ON jobs.jid = d.jid WHERE d.qid = ?1 \
         ORDER BY d.dead_at, d.jid LIMIT ?3 + 0 OFFSET ?2 + 0"
    ))?;
    let rows = statement.query_map(
        params![
            qid,
            i64::try_from(req.offset).unwrap_or(i64::MAX),
            i64::try_from(req.limit).unwrap_or(i64::MAX)
        ],
        |r| {
            let record = job_from_row(r)?;
            let source = QueueRef {
                prefix: prefix.clone(),
                name: r.get(18)?,
            };
            let replays: i64 = r.get(21)?;
            Ok(
                DeadLetter::new(record, source, JobId(r.get(19)?), ms_from(r.get(20)?)).replayed(
                    u32::try_from(replays).unwrap_or(u32::MAX),
                    r.get::<_, Option<String>>(22)?.map(JobId),
                ),
            )
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn count(conn: &Connection, queue: &QueueRef) -> StoreResult<u64> {
    let Some(qid) = queue_id(conn, queue)? else {
        return Ok(0);
    };
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM dead_letters d JOIN jobs ON jobs.jid = d.jid WHERE d.qid = ?1",
        )?
        .query_row([qid], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A dead entry of queue `qid` with id `id`: its internal key, source queue, and the copy's
/// name, data, options, priority and LIFO flag.
struct DeadEntry {
    jid: i64,
    source_name: String,
    name: String,
    data: String,
    options: Option<String>,
    priority: i64,
    lifo: bool,
    max_attempts: i64,
    group: Option<String>,
}

fn dead_entry(conn: &Connection, qid: i64, id: &str) -> StoreResult<Option<DeadEntry>> {
    let Some(jid) = candidate_jid(conn, qid, id)? else {
        return Ok(None);
    };
    Ok(conn
        .prepare_cached(
            "SELECT d.jid, d.source_name, j.name, j.data, j.options, j.priority, j.lifo, \
             j.max_attempts, j.group_key FROM dead_letters d JOIN jobs j ON j.jid = d.jid \
             WHERE d.jid = ?1 AND d.qid = ?2 AND j.id = ?3",
        )?
        .query_row(params![jid, qid, id], |r| {
            Ok(DeadEntry {
                jid: r.get(0)?,
                source_name: r.get(1)?,
                name: r.get(2)?,
                data: r.get(3)?,
                options: r.get(4)?,
                priority: r.get(5)?,
                lifo: r.get(6)?,
                max_attempts: r.get(7)?,
                group: r.get(8)?,
            })
        })
        .optional()?)
}

pub(crate) fn replay(
    ctx: &mut WriteCtx<'_>,
    req: ReplayDeadLetters,
) -> StoreResult<Vec<ReplayedDeadLetter>> {
    let conn = ctx.conn;
    let Some(mut dlq) = QueueRow::load(conn, &req.queue)? else {
        return Ok(vec![ReplayedDeadLetter::NotFound; req.ids.len()]);
    };
    let mut others = OtherQueues::default();
    let mut answers = Vec::with_capacity(req.ids.len());
    for dead_id in &req.ids {
        let Some(entry) = dead_entry(conn, dlq.qid, dead_id.as_str())? else {
            answers.push(ReplayedDeadLetter::NotFound);
            continue;
        };
        let source = QueueRef {
            prefix: req.queue.prefix.clone(),
            name: entry.source_name,
        };
        let link = serde_json::json!({ "queue": req.queue.name, "id": dead_id.as_str() });
        let row = others.row_of(conn, &mut dlq, &source)?;
        let n = row.next_id()?;
        let id = n.to_string();
        let (state, score) = band::stored(
            row.enqueue_slot(entry.priority, entry.lifo),
            entry.group.is_some(),
        );
        conn.prepare_cached(
            "INSERT INTO jobs (jid, qid, id, state, score, priority, lifo, max_attempts, \
             timestamp, name, data, options, dead_letter, group_key) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            row_key(row.qid, n),
            row.qid,
            id,
            state,
            score,
            entry.priority,
            entry.lifo,
            entry.max_attempts,
            ms(req.now),
            entry.name,
            entry.data,
            entry.options,
            link.to_string(),
            entry.group
        ])?;
        row.emit(req.now, Kind::Added, Some(&id), Some(&entry.name));
        row.emit(req.now, Kind::Waiting, Some(&id), None);
        let value = event_value(&req.queue.name, dead_id.as_str());
        row.emit(req.now, Kind::Replayed, Some(&id), Some(&value));
        conn.prepare_cached(
            "UPDATE dead_letters SET replays = replays + 1, replayed_as = ?2 WHERE jid = ?1",
        )?
        .execute(params![entry.jid, id])?;
        answers.push(ReplayedDeadLetter::Replayed {
            source,
            job_id: JobId(id),
        });
    }
    dlq.save(ctx)?;
    others.save(ctx)?;
    Ok(answers)
}

pub(crate) fn purge(
    ctx: &mut WriteCtx<'_>,
    req: PurgeDeadLetters,
) -> StoreResult<DeadLettersPurged> {
    let conn = ctx.conn;
    let Some(mut dlq) = QueueRow::load(conn, &req.queue)? else {
        return Ok(DeadLettersPurged::default());
    };
    // (internal key, id of the copy when it still exists)
    let entries: Vec<(i64, Option<String>)> = match &req.ids {
        None => conn
            .prepare_cached(
                "SELECT d.jid, j.id FROM dead_letters d LEFT JOIN jobs j ON j.jid = d.jid \
                 WHERE d.qid = ?1 ORDER BY d.dead_at, d.jid",
            )?
            .query_map([dlq.qid], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?,
        Some(ids) => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(entry) = dead_entry(conn, dlq.qid, id.as_str())? {
                    found.push((entry.jid, Some(id.to_string())));
                }
            }
            found
        }
    };
    let mut count = 0;
    for (jid, id) in entries {
        conn.prepare_cached("DELETE FROM dead_letters WHERE jid = ?1")?
            .execute([jid])?;
        let Some(id) = id else { continue };
        delete_job(conn, jid)?;
        dlq.emit(req.now, Kind::Removed, Some(&id), Some("failed"));
        count += 1;
    }
    dlq.save(ctx)?;
    Ok(DeadLettersPurged { count })
}
