//! `job_move_to_active`, and the promotion of due delayed jobs that precedes every fetch.
//!
//! Order of a fetch (BullMQ's `moveToActive`):
//! 1. delayed jobs with `due_at <= now` become runnable, soonest first (at most
//!    [`PROMOTE_LIMIT`] per fetch), each at the back of the line or into `prioritized`, with a
//!    `waiting{prev: delayed}` event — also while the queue is paused;
//! 2. unless the queue is paused, up to `max_jobs` jobs are taken: `waiting` first (score
//!    order: LIFO and recovered jobs sit in front), then `prioritized` (priority, then FIFO).
//!    Each becomes `active` under the caller's token with `lock_until = now + lock_duration`,
//!    `processed_on = now`, `attempts_started + 1`, `processed_by`, and emits `active{prev}`;
//! 3. `next_due_at` is the due time of the earliest delayed job left.
//!
//! Step 2 takes jobs without a group first, then group jobs round-robin across their groups
//! ([`groups::take`]); a queue without runnable group jobs pays one probe for it.
//!
//! Step 2 takes no more than the queue's limits allow ([`limits::gate`]: global concurrency,
//! the rate limit's window), and counts what it took; a rate-limited queue takes nothing and
//! answers when the limit ends.
//!
//! A row that does not decode (written behind oxq's back: a name that is not UTF-8, a
//! timestamp that is text, ...) is taken like any other, with the problem as its deferred
//! failure (see [`codec`](crate::codec)): the worker fails that job and the others run. A row
//! whose id is not UTF-8 cannot be finished by id, so the fetch fails it in place (state
//! `failed`, the reason recorded, no event: its id cannot be written into one) and goes on.
//!
//! Fetched jobs carry no [`StoreMemo`](oxq_core::backend::StoreMemo)
//! ([`FetchedJob::plain`]): the finish reads what it needs from the row.

use oxq_core::JobState;
use oxq_core::backend::{Fetch, FetchJobs, Fetched, FetchedJob};
use oxq_core::clock::millis;
use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use crate::band;
use crate::codec::{
    DELAYED, FAILED, Fetchable, PRIORITIZED, WAITING, fetched_from_row_at, job_columns, ms, ms_from,
};
use crate::error::StoreResult;
use crate::ops::event_log::Kind;
use crate::ops::groups;
use crate::ops::limits;
use crate::ops::queue_row::QueueRow;
use crate::ops::set_runnable;
use crate::writer::WriteCtx;

/// Delayed jobs promoted per fetch at most (BullMQ promotes 1000 per call too).
pub(crate) const PROMOTE_LIMIT: i64 = 1000;

/// Activates one job the fetch just read (`OR IGNORE` spares the statement journal: the row
/// cannot break a constraint; the caller checks the row count).
const ACTIVATE: &str = "UPDATE OR IGNORE jobs SET state = 3, score = ?2, lock_token = ?3, \
    processed_on = ?4, attempts_started = attempts_started + 1, processed_by = ?5 WHERE jid = ?1";

/// Fails a job whose row cannot be handed out (see [`Fetchable::Unaddressable`]).
const FAIL_UNADDRESSABLE: &str = "UPDATE jobs SET state = ?2, score = ?3, failed_reason = ?4, \
    stacktrace = json_array(?4), attempts_made = attempts_made + 1, lock_token = NULL WHERE jid = ?1";

const NEXT_RUNNABLE: &str = concat!(
    "SELECT jid, ",
    job_columns!(),
    " FROM jobs WHERE qid = ?1 AND state = ?2 ORDER BY score, jid LIMIT ?3 + 0"
);

pub(crate) fn move_to_active(ctx: &mut WriteCtx<'_>, req: FetchJobs) -> StoreResult<Fetched> {
    let Some(mut queue) = QueueRow::load(ctx.conn, &req.queue)? else {
        return Ok(Fetched::default());
    };
    let fetched = fetch(ctx.conn, &mut queue, &req.fetch, req.now)?;
    queue.save(ctx)?;
    Ok(fetched)
}

/// Steps 1–3 of the module docs on a loaded queue (shared with `job_finish`'s fetch-next).
pub(crate) fn fetch(
    conn: &Connection,
    queue: &mut QueueRow,
    req: &Fetch,
    now: u64,
) -> StoreResult<Fetched> {
    promote_due(conn, queue, now)?;
    let mut jobs = Vec::new();
    let mut max = usize::try_from(req.max_jobs).unwrap_or(usize::MAX);
    let gate = if queue.paused || max == 0 {
        None
    } else {
        let gate = limits::gate(conn, queue.qid, req.limiter, now, max)?;
        max = gate.max;
        Some(gate)
    };
    if !queue.paused && max > 0 {
        let mut activation = Activation {
            conn,
            statement: conn.prepare_cached(ACTIVATE)?,
            req,
            now,
            lock_until: ms(now.saturating_add(millis(req.lock_duration))),
            jobs: &mut jobs,
        };
        // jobs with a group wait for their turn below (one probe when there are none)
        let groups_runnable = groups::has_runnable(conn, queue.qid)?;
        for (state, prev) in [(WAITING, "waiting"), (PRIORITIZED, "prioritized")] {
            let want = max - activation.jobs.len();
            if want == 0 {
                break;
            }
            let taken = next_runnable(conn, queue.qid, state, want, groups_runnable)?;
            for (jid, fetchable) in taken {
                activation.activate(queue, (jid, fetchable, prev))?;
            }
        }
        let want = max - activation.jobs.len();
        if groups_runnable && want > 0 {
            groups::take(conn, queue.qid, want, now, |jid, fetchable, prev| {
                activation.activate(queue, (jid, fetchable, prev))
            })?;
        }
    }
    if let Some(gate) = &gate {
        limits::count_starts(conn, queue.qid, gate, &jobs)?;
    }
    Ok(Fetched {
        jobs,
        next_due_at: next_due_at(conn, queue.qid)?,
        rate_limited_until: gate.and_then(|g| g.limited_until),
    })
}

/// One fetch's activations: the `ACTIVATE` statement prepared once, and the jobs handed out.
struct Activation<'f> {
    conn: &'f Connection,
    statement: CachedStatement<'f>,
    req: &'f Fetch,
    now: u64,
    lock_until: i64,
    jobs: &'f mut Vec<FetchedJob>,
}

impl Activation<'_> {
    /// Moves one job the fetch read to `active` under the fetch's token (or fails a row that
    /// cannot be handed out), emits `active{prev}` and adds it to the jobs handed out.
    fn activate(
        &mut self,
        queue: &mut QueueRow,
        (jid, fetchable, prev): (i64, Fetchable, &'static str),
    ) -> StoreResult<()> {
        let (req, now) = (self.req, self.now);
        let mut record = match fetchable {
            Fetchable::Run(record) => *record,
            Fetchable::Unaddressable { reason } => {
                self.conn
                    .prepare_cached(FAIL_UNADDRESSABLE)?
                    .execute(params![jid, FAILED, ms(now), reason])?;
                return Ok(());
            }
        };
        let activated = self.statement.execute(params![
            jid,
            self.lock_until,
            req.token.as_str(),
            ms(now),
            req.worker_name.as_deref()
        ])?;
        if activated != 1 {
            return Err(oxq_core::Error::store(format!(
                "job {} could not be activated",
                record.id
            ))
            .into());
        }
        // The row as the UPDATE left it, without reading it again.
        record.state = JobState::Active;
        record.processed_on = Some(now);
        record.attempts_started = record.attempts_started.saturating_add(1);
        record.processed_by = req.worker_name.clone();
        queue.emit(now, Kind::Active, Some(record.id.as_str()), Some(prev));
        self.jobs.push(FetchedJob::plain(record));
        Ok(())
    }
}

/// Up to `want` jobs of a runnable state, next to run first, with their row keys; only jobs
/// without a group when `skip_groups`.
fn next_runnable(
    conn: &Connection,
    qid: i64,
    state: i64,
    want: usize,
    skip_groups: bool,
) -> StoreResult<Vec<(i64, Fetchable)>> {
    let limit = i64::try_from(want).unwrap_or(i64::MAX);
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, fetched_from_row_at(r, 1)?));
    let rows = if skip_groups {
        let (low, high) = band::plain_range(state);
        conn.prepare_cached(groups::NEXT_PLAIN)?
            .query_map(params![qid, state, limit, low, high], row)?
            .collect::<Result<Vec<_>, _>>()?
    } else {
        conn.prepare_cached(NEXT_RUNNABLE)?
            .query_map(params![qid, state, limit], row)?
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(rows)
}

/// The due time of the earliest delayed job of the queue.
pub(crate) fn next_due_at(conn: &Connection, qid: i64) -> StoreResult<Option<u64>> {
    let due = conn
        .prepare_cached(
            "SELECT score FROM jobs WHERE qid = ?1 AND state = ?2 ORDER BY score LIMIT 1",
        )?
        .query_row(params![qid, DELAYED], |r| r.get::<_, i64>(0))
        .optional()?;
    Ok(due.map(ms_from))
}

/// Makes delayed jobs due at `now` runnable, soonest first; returns how many moved.
pub(crate) fn promote_due(conn: &Connection, queue: &mut QueueRow, now: u64) -> StoreResult<usize> {
    let due: Vec<(i64, String, i64)> = conn
        .prepare_cached(
            "SELECT jid, id, priority FROM jobs WHERE qid = ?1 AND state = ?2 AND score <= ?3 \
             ORDER BY score, jid LIMIT ?4 + 0",
        )?
        .query_map(params![queue.qid, DELAYED, ms(now), PROMOTE_LIMIT], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    for (jid, id, priority) in &due {
        let slot = queue.enqueue_slot(*priority, false);
        set_runnable(conn, *jid, slot)?;
        queue.emit(now, Kind::Waiting, Some(id), Some("delayed"));
    }
    Ok(due.len())
}
