//! [`QueueRow`]: a queue's row, loaded at the start of a write and saved at its end.
//!
//! The row holds the queue's counters (automatic ids, line positions, event ids) and flags
//! (paused, last stalled check). A write operation loads it once, hands out ids and positions
//! from memory, appends events, and writes the counters back with one `UPDATE` in
//! [`QueueRow::save`]. All of this happens inside the writer's `BEGIN IMMEDIATE` transaction,
//! so two processes never hand out the same id or position.
//!
//! Events get consecutive per-queue ids (`seq`); every time a write crosses a multiple of the
//! trim step (a tenth of `max_events`, at most 1000), rows holding only events older than the
//! newest `max_events` are deleted, so a queue keeps about `max_events` events, a little more
//! (up to a step plus one packed row), never fewer (like Redis `XTRIM MAXLEN ~`).

use oxq_core::QueueRef;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{KEY_MAX, WAITING, ms, row_key, runnable_slot};
use crate::error::StoreResult;
use crate::ops::event_log::{EventBuffer, Kind};
use crate::signals::{QueueKey, queue_key};
use crate::writer::WriteCtx;

const SELECT: &str = "SELECT qid, paused, last_id, back_pos, front_pos, event_seq, \
    stalled_checked_at FROM queues WHERE prefix = ?1 AND name = ?2";

const SELECT_BY_QID: &str = "SELECT qid, paused, last_id, back_pos, front_pos, event_seq, \
    stalled_checked_at, prefix, name FROM queues WHERE qid = ?1";

#[derive(Debug)]
pub(crate) struct QueueRow {
    pub qid: i64,
    pub paused: bool,
    pub stalled_checked_at: Option<i64>,
    last_id: i64,
    back_pos: i64,
    front_pos: i64,
    event_seq: i64,
    loaded_event_seq: i64,
    events: EventBuffer,
    key: QueueKey,
}

impl QueueRow {
    /// The queue's row, or `None` when the queue has never been written.
    pub(crate) fn load(conn: &Connection, queue: &QueueRef) -> StoreResult<Option<QueueRow>> {
        let row = conn
            .prepare_cached(SELECT)?
            .query_row(params![queue.prefix, queue.name], |r| {
                Ok(QueueRow {
                    qid: r.get(0)?,
                    paused: r.get(1)?,
                    last_id: r.get(2)?,
                    back_pos: r.get(3)?,
                    front_pos: r.get(4)?,
                    event_seq: r.get(5)?,
                    loaded_event_seq: r.get(5)?,
                    stalled_checked_at: r.get(6)?,
                    events: EventBuffer::default(),
                    key: queue_key(queue),
                })
            })
            .optional()?;
        Ok(row)
    }

    /// The row of the queue with internal id `qid` (a parent or child on another queue).
    pub(crate) fn load_qid(conn: &Connection, qid: i64) -> StoreResult<Option<QueueRow>> {
        let row = conn
            .prepare_cached(SELECT_BY_QID)?
            .query_row([qid], |r| {
                Ok(QueueRow {
                    qid: r.get(0)?,
                    paused: r.get(1)?,
                    last_id: r.get(2)?,
                    back_pos: r.get(3)?,
                    front_pos: r.get(4)?,
                    event_seq: r.get(5)?,
                    loaded_event_seq: r.get(5)?,
                    stalled_checked_at: r.get(6)?,
                    events: EventBuffer::default(),
                    key: (r.get(7)?, r.get(8)?),
                })
            })
            .optional()?;
        Ok(row)
    }

    /// The queue this row is.
    pub(crate) fn queue_ref(&self) -> QueueRef {
        QueueRef {
            prefix: self.key.0.clone(),
            name: self.key.1.clone(),
        }
    }

    /// Whether this row is `queue`'s.
    pub(crate) fn is(&self, queue: &QueueRef) -> bool {
        self.key.0 == queue.prefix && self.key.1 == queue.name
    }

    /// The queue's row, created (with the event ids of a retired namesake) when missing.
    pub(crate) fn load_or_create(conn: &Connection, queue: &QueueRef) -> StoreResult<QueueRow> {
        if let Some(row) = Self::load(conn, queue)? {
            return Ok(row);
        }
        let retired: i64 = conn
            .prepare_cached(
                "DELETE FROM retired_queues WHERE prefix = ?1 AND name = ?2 RETURNING event_seq",
            )?
            .query_row(params![queue.prefix, queue.name], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        conn.prepare_cached("INSERT INTO queues (prefix, name, event_seq) VALUES (?1, ?2, ?3)")?
            .execute(params![queue.prefix, queue.name, retired])?;
        Ok(QueueRow {
            qid: conn.last_insert_rowid(),
            paused: false,
            stalled_checked_at: None,
            last_id: 0,
            back_pos: 0,
            front_pos: 0,
            event_seq: retired,
            loaded_event_seq: retired,
            events: EventBuffer::default(),
            key: queue_key(queue),
        })
    }

    /// The next automatic id (BullMQ bumps it on every add, custom id or not).
    pub(crate) fn next_id(&mut self) -> StoreResult<i64> {
        if self.last_id >= KEY_MAX {
            return Err(oxq_core::Error::store(format!(
                "queue {}:{} has used all {KEY_MAX} job ids; obliterate it to start again",
                self.key.0, self.key.1
            ))
            .into());
        }
        self.last_id += 1;
        Ok(self.last_id)
    }

    /// `(state, score)` for a job becoming runnable: prioritized by `priority`, otherwise
    /// waiting at the back of the line, or at its front when `front`.
    pub(crate) fn enqueue_slot(&mut self, priority: i64, front: bool) -> (i64, i64) {
        if priority <= 0 && front {
            self.front_pos -= 1;
            return (WAITING, self.front_pos);
        }
        self.back_pos += 1;
        runnable_slot(priority, self.back_pos)
    }

    /// Appends an event (written by [`QueueRow::save`]); `ts` is when it happened (ms).
    pub(crate) fn emit(&mut self, ts: u64, kind: Kind, job_id: Option<&str>, value: Option<&str>) {
        self.event_seq += 1;
        self.events
            .push(self.event_seq, ms(ts), kind, job_id, value);
    }

    /// Deletes the queue's row, remembering its event counter for a namesake created later.
    pub(crate) fn retire(mut self, ctx: &mut WriteCtx<'_>) -> StoreResult<()> {
        self.events.clear();
        ctx.conn
            .prepare_cached("DELETE FROM queues WHERE qid = ?1")?
            .execute([self.qid])?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO retired_queues (prefix, name, event_seq) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (prefix, name) DO UPDATE SET event_seq = excluded.event_seq",
            )?
            .execute(params![self.key.0, self.key.1, self.event_seq])?;
        ctx.touch(&self.key);
        Ok(())
    }

    /// Writes the events and counters, trims the event log when due, marks the queue touched.
    pub(crate) fn save(mut self, ctx: &mut WriteCtx<'_>) -> StoreResult<()> {
        if self.event_seq > KEY_MAX {
            return Err(oxq_core::Error::store(format!(
                "queue {}:{} has used all {KEY_MAX} event ids; obliterate it to start again",
                self.key.0, self.key.1
            ))
            .into());
        }
        self.events.flush(ctx.conn, self.qid)?;
        ctx.conn
            .prepare_cached(
                "UPDATE queues SET paused = ?2, last_id = ?3, back_pos = ?4, front_pos = ?5, \
                 event_seq = ?6, stalled_checked_at = ?7 WHERE qid = ?1",
            )?
            .execute(params![
                self.qid,
                self.paused,
                self.last_id,
                self.back_pos,
                self.front_pos,
                self.event_seq,
                self.stalled_checked_at
            ])?;
        let max = i64::try_from(ctx.max_events).unwrap_or(i64::MAX);
        let step = (max / 10).clamp(1, 1000);
        if self.event_seq / step != self.loaded_event_seq / step && self.event_seq > max {
            ctx.conn
                .prepare_cached("DELETE FROM events WHERE eid BETWEEN ?1 AND ?2")?
                .execute(params![
                    row_key(self.qid, 0),
                    row_key(self.qid, self.event_seq - max)
                ])?;
        }
        ctx.touch(&self.key);
        Ok(())
    }
}
