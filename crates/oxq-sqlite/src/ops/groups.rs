//! Job groups (tenant fairness, see `migrations/0010_groups.sql`): the
//! [`Groups`](oxq_core::backend::Groups) calls, and the round-robin a fetch runs over the
//! groups that have runnable jobs.
//!
//! * A job's group is its options' `group`, stored in the column `group_key` when the job is
//!   written; a promoted, retried or recovered job keeps its row, so it stays in its group on
//!   every path. Its runnable score is in its group band ([`band`]).
//! * A fetch first takes jobs without a group (as before), then group jobs: one job per group
//!   per turn, groups in key order starting after the group served last (the per-queue cursor),
//!   skipping a paused group, one at its concurrency and one whose rate window is full. A
//!   group's next job is its first `waiting` job, else its first `prioritized` one.
//! * A group's own setting wins over the row for every group (group key `''`).
//! * A queue without runnable group jobs pays one probe of the group index per fetch.

use std::collections::HashMap;

use oxq_core::QueueRef;
use oxq_core::backend::{ChangeGroup, GetGroup, GroupChange, GroupInfo, GroupTarget, RateLimit};
use oxq_core::clock::millis;
use rusqlite::{Connection, OptionalExtension, params};
use std::time::Duration;

use crate::band;
use crate::codec::{ACTIVE, DELAYED, Fetchable, PRIORITIZED, WAITING, job_columns, ms, ms_from};
use crate::error::StoreResult;
use crate::ops::queue_row::QueueRow;
use crate::writer::WriteCtx;

pub(crate) mod lookahead;
use lookahead::Lookahead;

/// Jobs without a group in runnable state `?2`, next to run first (used when group jobs are
/// runnable too): `jobs_by_state` from `?4` to `?5`, the state's plain band
/// ([`band::plain_range`]), so group jobs are not read and skipped.
pub(crate) const NEXT_PLAIN: &str = concat!(
    "SELECT jid, ",
    job_columns!(),
    " FROM jobs WHERE qid = ?1 AND state = ?2 AND score BETWEEN ?4 AND ?5 \
     AND group_key IS NULL ORDER BY score, jid LIMIT ?3 + 0"
);

/// Whether queue `?1` has a runnable job without a group: a probe of each runnable state's
/// plain band (`?2` and `?3` bound waiting's, `?4` prioritized's lower end).
const ANY_PLAIN: &str = "SELECT 1 FROM jobs WHERE qid = ?1 AND state = 0 \
    AND score BETWEEN ?2 AND ?3 AND group_key IS NULL \
    UNION ALL SELECT 1 FROM jobs WHERE qid = ?1 AND state = 1 AND score >= ?4 \
    AND group_key IS NULL LIMIT 1";

/// Whether queue `qid` (?1) has a job with a group in state ?2 or ?3: one probe of the group
/// index per state. Every fetch asks, so it is two index seeks and nothing else: written as
/// `state IN (?2, ?3)`, SQLite built a temporary table of the two states at each call, which
/// made a fetch of a queue without groups cost about a fifth more (measured under callgrind).
pub(crate) const HAS_RUNNABLE: &str = "SELECT 1 FROM jobs WHERE qid = ?1 AND state = ?2 \
    AND group_key IS NOT NULL AND +state < 4 \
    UNION ALL SELECT 1 FROM jobs WHERE qid = ?1 AND state = ?3 AND group_key IS NOT NULL \
    AND +state < 4 LIMIT 1";

/// Whether queue `qid` has a runnable job with a group ([`HAS_RUNNABLE`]).
pub(crate) fn has_runnable(conn: &Connection, qid: i64) -> StoreResult<bool> {
    let found = conn
        .prepare_cached(HAS_RUNNABLE)?
        .query_row(params![qid, WAITING, PRIORITIZED], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// A `queue_groups` row.
#[derive(Debug, Default, Clone)]
struct GroupRow {
    paused: bool,
    concurrency: Option<i64>,
    rate_max: Option<i64>,
    rate_duration: Option<i64>,
    window_count: i64,
    window_end: i64,
}

fn load_all(conn: &Connection, qid: i64) -> StoreResult<HashMap<String, GroupRow>> {
    let rows = conn
        .prepare_cached(
            "SELECT group_key, paused, concurrency, rate_max, rate_duration, window_count, \
             window_end FROM queue_groups WHERE qid = ?1",
        )?
        .query_map([qid], |r| {
            Ok((
                r.get::<_, String>(0)?,
                GroupRow {
                    paused: r.get(1)?,
                    concurrency: r.get(2)?,
                    rate_max: r.get(3)?,
                    rate_duration: r.get(4)?,
                    window_count: r.get(5)?,
                    window_end: r.get(6)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A group's settings in force: its own, else those for every group.
#[derive(Debug, Clone, Copy, Default)]
struct InForce {
    paused: bool,
    concurrency: Option<i64>,
    rate: Option<(i64, i64)>,
    window_count: i64,
    window_end: i64,
}

fn in_force(rows: &HashMap<String, GroupRow>, key: &str) -> InForce {
    let every = rows.get("");
    let own = rows.get(key);
    let pick = |f: fn(&GroupRow) -> Option<i64>| own.and_then(f).or_else(|| every.and_then(f));
    let rate = match own.filter(|o| o.rate_max.is_some()).or(every) {
        Some(GroupRow {
            rate_max: Some(max),
            rate_duration,
            ..
        }) => Some((*max, rate_duration.unwrap_or(1).max(1))),
        _ => None,
    };
    InForce {
        paused: own.is_some_and(|o| o.paused),
        concurrency: pick(|r| r.concurrency),
        rate,
        window_count: own.map_or(0, |o| o.window_count),
        window_end: own.map_or(0, |o| o.window_end),
    }
}

fn active_in(conn: &Connection, qid: i64, key: &str) -> StoreResult<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM jobs WHERE qid = ?1 AND state = ?2 AND group_key = ?3 \
             AND +state < 4",
        )?
        .query_row(params![qid, ACTIVE, key], |r| r.get(0))?)
}

/// How many more jobs group `key` may start at `now` (ms), and its window if it counts.
fn room(
    conn: &Connection,
    qid: i64,
    key: &str,
    set: &InForce,
    now: i64,
) -> StoreResult<(i64, Option<(i64, i64)>)> {
    if set.paused {
        return Ok((0, None));
    }
    let mut room = i64::MAX;
    if let Some(cap) = set.concurrency {
        room = room.min(cap.saturating_sub(active_in(conn, qid, key)?).max(0));
    }
    let mut window = None;
    if let Some((max, duration)) = set.rate {
        let open = set.window_end > now;
        let used = if open { set.window_count } else { 0 };
        room = room.min(max.saturating_sub(used).max(0));
        let end = if open {
            set.window_end
        } else {
            now.saturating_add(duration)
        };
        window = Some((used, end));
    }
    Ok((room, window))
}

/// A group's room left in one fetch, the rate window it counts in (starts so far, end), and
/// the jobs it started in this fetch.
type Turn = (i64, Option<(i64, i64)>, i64);

/// Takes up to `want` group jobs round-robin (see the module docs), handing each to
/// `activate` (which must move it out of its runnable state) before looking for the next.
/// Counts the starts against the groups' rate windows and moves the cursor.
pub(crate) fn take(
    conn: &Connection,
    qid: i64,
    want: usize,
    now: u64,
    mut activate: impl FnMut(i64, Fetchable, &'static str) -> StoreResult<()>,
) -> StoreResult<()> {
    let rows = load_all(conn, qid)?;
    let now = ms(now);
    let mut cursor: String = conn
        .prepare_cached("SELECT last_group FROM queue_group_cursor WHERE qid = ?1")?
        .query_row([qid], |r| r.get(0))
        .optional()?
        .unwrap_or_default();
    // per group: room left this fetch, the window it counts in, starts this fetch
    let mut seen: HashMap<String, Turn> = HashMap::new();
    let mut taken = 0usize;
    let mut served_any = false;
    // groups passed over since the last job taken: a full turn of them ends the fetch
    let mut idle_since_last_take: Vec<String> = Vec::new();
    let mut ahead = Lookahead::new(conn, qid)?;
    let mut wrapped = false;
    // the cursor kept for the next fetch: the last group visited
    let mut last_visited = cursor.clone();
    while taken < want {
        let Some(next) = ahead.take_after(&cursor)? else {
            if wrapped || cursor.is_empty() {
                break;
            }
            // past the last group: around to the first
            cursor.clear();
            wrapped = true;
            continue;
        };
        let key = next.key;
        if idle_since_last_take.contains(&key) {
            break;
        }
        wrapped = false;
        cursor.clone_from(&key);
        last_visited.clone_from(&key);
        if !seen.contains_key(&key) {
            let set = in_force(&rows, &key);
            let (left, window) = room(conn, qid, &key, &set, now)?;
            seen.insert(key.clone(), (left, window, 0));
        }
        let Some(entry) = seen.get_mut(&key) else {
            break;
        };
        if entry.0 <= 0 {
            idle_since_last_take.push(key);
            continue;
        }
        activate(next.jid, next.fetchable, next.prev)?;
        entry.0 -= 1;
        entry.2 += 1;
        taken += 1;
        served_any = true;
        idle_since_last_take.clear();
    }
    let mut count = conn.prepare_cached(
        "INSERT INTO queue_groups (qid, group_key, window_count, window_end) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (qid, group_key) DO UPDATE SET window_count = excluded.window_count, \
         window_end = excluded.window_end",
    )?;
    for (key, (_, window, started)) in &seen {
        if let Some((used, end)) = window
            && *started > 0
        {
            count.execute(params![qid, key, used.saturating_add(*started), end])?;
        }
    }
    if served_any {
        conn.prepare_cached(
            "INSERT INTO queue_group_cursor (qid, last_group) VALUES (?1, ?2) \
             ON CONFLICT (qid) DO UPDATE SET last_group = excluded.last_group",
        )?
        .execute(params![qid, last_visited])?;
    }
    Ok(())
}

/// Whether queue `qid` has a job a fetch at `now` would start: a runnable job without a group,
/// or one of a group that may start one. Asked only when the queue has runnable group jobs.
pub(crate) fn anything_runnable(conn: &Connection, qid: i64, now: u64) -> StoreResult<bool> {
    let (waiting_low, waiting_high) = band::plain_range(WAITING);
    let (prioritized_low, _) = band::plain_range(PRIORITIZED);
    let plain = conn
        .prepare_cached(ANY_PLAIN)?
        .query_row(
            params![qid, waiting_low, waiting_high, prioritized_low],
            |_| Ok(()),
        )
        .optional()?;
    if plain.is_some() {
        return Ok(true);
    }
    let rows = load_all(conn, qid)?;
    let now = ms(now);
    let mut cursor = String::new();
    loop {
        let key: Option<String> = conn
            .prepare_cached(
                "SELECT min(group_key) FROM jobs WHERE qid = ?1 AND state IN (?2, ?3) \
                 AND group_key IS NOT NULL AND group_key > ?4 AND +state < 4",
            )?
            .query_row(params![qid, WAITING, PRIORITIZED, cursor], |r| r.get(0))?;
        let Some(key) = key else {
            return Ok(false);
        };
        let set = in_force(&rows, &key);
        if room(conn, qid, &key, &set, now)?.0 > 0 {
            return Ok(true);
        }
        cursor = key;
    }
}

fn count_in(conn: &Connection, qid: i64, key: &str, states: [i64; 2]) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM jobs WHERE qid = ?1 AND state IN (?2, ?3) AND group_key = ?4 \
             AND +state < 4",
        )?
        .query_row(params![qid, states[0], states[1], key], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// One group's settings in force and counts at the caller's `now`.
pub(crate) fn get(conn: &Connection, req: &GetGroup) -> StoreResult<GroupInfo> {
    let qid: Option<i64> = conn
        .prepare_cached("SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2")?
        .query_row(params![req.queue.prefix, req.queue.name], |r| r.get(0))
        .optional()?;
    let Some(qid) = qid else {
        return Ok(GroupInfo::default());
    };
    let rows = load_all(conn, qid)?;
    let set = in_force(&rows, &req.group);
    let now = ms(req.now);
    let limited = match set.rate {
        Some((max, _)) => set.window_end > now && set.window_count >= max,
        None => false,
    };
    Ok(GroupInfo::new(
        set.paused,
        set.concurrency
            .map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        set.rate.map(|(max, duration)| {
            RateLimit::new(
                u32::try_from(max).unwrap_or(u32::MAX),
                Duration::from_millis(ms_from(duration)),
            )
        }),
        limited.then(|| ms_from(set.window_end)),
        count_in(conn, qid, &req.group, [WAITING, PRIORITIZED])?,
        count_in(conn, qid, &req.group, [ACTIVE, ACTIVE])?,
        count_in(conn, qid, &req.group, [DELAYED, DELAYED])?,
    ))
}

/// Sets or removes one setting (creating the queue's and the group's rows as needed); waiters
/// look again.
pub(crate) fn change(ctx: &mut WriteCtx<'_>, req: ChangeGroup) -> StoreResult<()> {
    req.validate()?;
    let queue = QueueRow::load_or_create(ctx.conn, &req.queue)?;
    let conn = ctx.conn;
    let key = match &req.target {
        GroupTarget::Every => "",
        GroupTarget::One(key) => key.as_str(),
    };
    conn.prepare_cached("INSERT OR IGNORE INTO queue_groups (qid, group_key) VALUES (?1, ?2)")?
        .execute(params![queue.qid, key])?;
    let (sql, a, b): (&str, Option<i64>, Option<i64>) = match req.change {
        GroupChange::Pause => (
            "UPDATE queue_groups SET paused = 1 WHERE qid = ?1 AND group_key = ?2",
            None,
            None,
        ),
        GroupChange::Resume => (
            "UPDATE queue_groups SET paused = 0 WHERE qid = ?1 AND group_key = ?2",
            None,
            None,
        ),
        GroupChange::SetConcurrency(n) => (
            "UPDATE queue_groups SET concurrency = ?3 WHERE qid = ?1 AND group_key = ?2",
            Some(i64::from(n)),
            None,
        ),
        GroupChange::RemoveConcurrency => (
            "UPDATE queue_groups SET concurrency = NULL WHERE qid = ?1 AND group_key = ?2",
            None,
            None,
        ),
        GroupChange::SetRateLimit(limit) => (
            "UPDATE queue_groups SET rate_max = ?3, rate_duration = ?4 WHERE qid = ?1 AND group_key = ?2",
            Some(i64::from(limit.max)),
            Some(ms(millis(limit.duration))),
        ),
        GroupChange::RemoveRateLimit => (
            "UPDATE queue_groups SET rate_max = NULL, rate_duration = NULL WHERE qid = ?1 AND group_key = ?2",
            None,
            None,
        ),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    match (a, b) {
        (Some(a), Some(b)) => stmt.execute(params![queue.qid, key, a, b])?,
        (Some(a), None) => stmt.execute(params![queue.qid, key, a])?,
        _ => stmt.execute(params![queue.qid, key])?,
    };
    queue.save(ctx)
}

/// For `queue_wait`, once the queue is known to have runnable jobs: whether a fetch at `now`
/// would start one, so a queue whose only runnable jobs sit in paused or full groups does not
/// wake its workers again and again. A queue without runnable group jobs answers `true` after
/// one probe.
pub(crate) fn queue_runnable(conn: &Connection, queue: &QueueRef, now: u64) -> StoreResult<bool> {
    let qid: Option<i64> = conn
        .prepare_cached("SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2")?
        .query_row(params![queue.prefix, queue.name], |r| r.get(0))
        .optional()?;
    let Some(qid) = qid else {
        return Ok(true);
    };
    if !has_runnable(conn, qid)? {
        return Ok(true);
    }
    anything_runnable(conn, qid, now)
}
