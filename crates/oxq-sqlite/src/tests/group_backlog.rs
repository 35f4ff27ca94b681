//! The plain-job fetch beside a group backlog: with 10,000 group jobs queued in front of the
//! plain ones, the fetch's query (`groups::NEXT_PLAIN`) seeks to the plain band of
//! `jobs_by_state` (see [`band`](crate::band)) and never reads the group rows. Checked by the
//! query plan and by the statement's VM steps, which stay those of a queue without the
//! backlog, while the query without the band's range walks the whole backlog. The timings
//! printed (`--nocapture`) are the measurement of the fix; nothing asserts on them.
//! Also the probe every fetch makes for runnable group jobs (`groups::HAS_RUNNABLE`): index
//! seeks only, no temporary table.

use std::path::Path;
use std::time::Instant;

use oxq_core::backend::*;
use oxq_core::{Backend, Error, JobOptions, QueueRef, Result};
use rusqlite::{Connection, StatementStatus, params};

use super::{T0, fetch_as, job, store};
use crate::SqliteOptions;
use crate::band::plain_range;
use crate::codec::{PRIORITIZED, WAITING, job_columns};
use crate::ops::groups::lookahead::FIRST_AFTER;
use crate::ops::groups::{HAS_RUNNABLE, NEXT_PLAIN, has_runnable};

/// `NEXT_PLAIN` without the band's range (`?4` and `?5` are bound and unused).
const NEXT_PLAIN_BEFORE: &str = concat!(
    "SELECT jid, ",
    job_columns!(),
    " FROM jobs WHERE qid = ?1 AND state = ?2 AND group_key IS NULL AND ?4 = ?4 AND ?5 = ?5 \
     ORDER BY score, jid LIMIT ?3 + 0"
);

const BACKLOG: usize = 10_000;
const PLAIN: usize = 10;
/// Runs timed per query (the query before the index reads the whole backlog each time).
const TIMED_RUNS: usize = 25;

fn db_error(e: rusqlite::Error) -> Error {
    Error::store_caused("test query", e)
}

/// Adds `n` jobs with `options` to `queue` in one call.
async fn add(store: &dyn Backend, queue: &QueueRef, n: usize, options: JobOptions) -> Result<()> {
    let jobs = (0..n).map(|_| job(options.clone(), "{}")).collect();
    store
        .job_add_bulk(AddJobs {
            queue: queue.clone(),
            jobs,
            now: T0,
        })
        .await?;
    Ok(())
}

fn qid(conn: &Connection, queue: &QueueRef) -> Result<i64> {
    conn.query_row(
        "SELECT qid FROM queues WHERE prefix = ?1 AND name = ?2",
        params![queue.prefix, queue.name],
        |r| r.get(0),
    )
    .map_err(db_error)
}

/// Runs `sql` for the next `PLAIN + 1` jobs (one more than there are plain ones) of queue
/// `qid` in `state`: the rows it answered and the VM steps it took.
fn run(conn: &Connection, sql: &str, qid: i64, state: i64) -> Result<(usize, i32)> {
    let (low, high) = plain_range(state);
    let mut stmt = conn.prepare(sql).map_err(db_error)?;
    let rows = stmt
        .query_map(params![qid, state, PLAIN as i64 + 1, low, high], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db_error)?
        .count();
    Ok((rows, stmt.get_status(StatementStatus::VmStep)))
}

/// The median time of `sql` (as [`run`]) over [`TIMED_RUNS`] runs, in microseconds.
fn median_us(conn: &Connection, sql: &str, qid: i64, state: i64) -> Result<f64> {
    let (low, high) = plain_range(state);
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut times = Vec::with_capacity(TIMED_RUNS);
    for _ in 0..TIMED_RUNS {
        let start = Instant::now();
        let rows = stmt
            .query_map(params![qid, state, PLAIN as i64 + 1, low, high], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(db_error)?
            .count();
        times.push(start.elapsed().as_secs_f64() * 1e6);
        assert_eq!(rows, PLAIN);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The query plan of `sql`, its steps joined.
fn plan(conn: &Connection, sql: &str) -> Result<String> {
    let (low, high) = plain_range(WAITING);
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(db_error)?;
    let details = stmt
        .query_map(params![1, WAITING, PLAIN as i64, low, high], |r| {
            r.get::<_, String>(3)
        })
        .map_err(db_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_error)?;
    Ok(details.join("; "))
}

fn reader(path: &Path) -> Result<Connection> {
    Ok(crate::schema::open_reader(path, &SqliteOptions::default())?)
}

/// Waiting group jobs sort after the plain ones and prioritized group jobs before them; either
/// way the plain fetch reads no group row, even when it asks for more jobs than there are.
#[tokio::test]
async fn a_group_backlog_is_not_read_by_the_plain_job_fetch() -> Result<()> {
    let (dir, store) = store().await?;
    for (state, priority) in [(WAITING, 0), (PRIORITIZED, 1)] {
        let plain = QueueRef::new(format!("plain-{state}"))?;
        let mixed = QueueRef::new(format!("mixed-{state}"))?;
        let options = JobOptions::new().priority(priority);
        add(store.as_ref(), &mixed, PLAIN / 2, options.clone()).await?;
        add(store.as_ref(), &mixed, BACKLOG, options.clone().group("a")).await?;
        add(store.as_ref(), &mixed, PLAIN - PLAIN / 2, options.clone()).await?;
        add(store.as_ref(), &plain, PLAIN, options.clone()).await?;

        let conn = reader(&dir.path().join("t.db"))?;
        let query_plan = plan(&conn, NEXT_PLAIN)?;
        assert!(
            query_plan.contains("jobs_by_state (qid=? AND state=? AND score>? AND score<?)"),
            "the plain fetch seeks to the plain band: {query_plan}"
        );
        let (mixed_qid, plain_qid) = (qid(&conn, &mixed)?, qid(&conn, &plain)?);
        let (rows, steps_alone) = run(&conn, NEXT_PLAIN, plain_qid, state)?;
        assert_eq!(rows, PLAIN);
        let (rows, steps_beside) = run(&conn, NEXT_PLAIN, mixed_qid, state)?;
        assert_eq!(rows, PLAIN);
        let (rows, steps_before) = run(&conn, NEXT_PLAIN_BEFORE, mixed_qid, state)?;
        assert_eq!(rows, PLAIN);
        // at most the step that meets the first group row past the band's end
        assert!(
            steps_beside <= steps_alone + 2,
            "state {state}: the backlog adds no reads to the plain fetch \
             ({steps_beside} steps beside it, {steps_alone} without)"
        );
        assert!(
            steps_before > BACKLOG as i32,
            "state {state}: without the band the query walks the backlog ({steps_before} steps)"
        );
        eprintln!(
            "state {state}, next {PLAIN} plain jobs, median of {TIMED_RUNS}: {:.1} µs without \
             group jobs, {:.1} µs beside {BACKLOG} group jobs, {:.1} µs beside them without the \
             band; VM steps {steps_alone} / {steps_beside} / {steps_before}",
            median_us(&conn, NEXT_PLAIN, plain_qid, state)?,
            median_us(&conn, NEXT_PLAIN, mixed_qid, state)?,
            median_us(&conn, NEXT_PLAIN_BEFORE, mixed_qid, state)?,
        );

        // through the store (a fetch of 10): the plain jobs first, then the group's
        let fetched = store
            .job_move_to_active(FetchJobs {
                queue: mixed.clone(),
                fetch: fetch_as("t"),
                now: T0,
            })
            .await?;
        let groups: Vec<Option<&str>> = fetched
            .jobs
            .iter()
            .map(|j| j.record.options.group.as_deref())
            .collect();
        assert_eq!(
            groups,
            vec![None; PLAIN],
            "state {state}: the plain jobs first"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_group_probe_of_every_fetch_builds_no_temporary_table() -> Result<()> {
    let (dir, store) = store().await?;
    let plain = QueueRef::new("plain")?;
    let mixed = QueueRef::new("mixed")?;
    add(store.as_ref(), &mixed, 3, JobOptions::new().group("a")).await?;
    add(store.as_ref(), &plain, 3, JobOptions::new()).await?;

    let conn = reader(&dir.path().join("t.db"))?;
    let mut explain = conn
        .prepare(&format!("EXPLAIN {HAS_RUNNABLE}"))
        .map_err(db_error)?;
    let opcodes = explain
        .query_map(params![1, 0, 1], |r| r.get::<_, String>(1))
        .map_err(db_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db_error)?;
    assert!(
        !opcodes.iter().any(|op| op == "OpenEphemeral"),
        "the probe opens a temporary table: {opcodes:?}"
    );
    assert!(has_runnable(&conn, qid(&conn, &mixed)?)?, "group jobs wait");
    assert!(
        !has_runnable(&conn, qid(&conn, &plain)?)?,
        "only plain jobs"
    );
    Ok(())
}

/// The group fetch's query and the probe read the partial index of unfinished group jobs
/// (`jobs_by_group`, migration 0013), seeking by state and group: their `+state < 4` term
/// implies the index's condition without becoming the seek.
#[tokio::test]
async fn the_group_queries_read_the_group_index() -> Result<()> {
    let (dir, store) = store().await?;
    add(
        store.as_ref(),
        &QueueRef::new("q")?,
        3,
        JobOptions::new().group("a"),
    )
    .await?;
    let conn = reader(&dir.path().join("t.db"))?;
    for (name, sql, params) in [
        ("FIRST_AFTER", FIRST_AFTER, params![1, WAITING, ""]),
        (
            "HAS_RUNNABLE",
            HAS_RUNNABLE,
            params![1, WAITING, PRIORITIZED],
        ),
    ] {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(db_error)?;
        let details = stmt
            .query_map(params, |r| r.get::<_, String>(3))
            .map_err(db_error)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db_error)?
            .join("; ");
        assert!(
            details.contains("jobs_by_group (qid=? AND state=? AND group_key>?)"),
            "{name}: {details}"
        );
        assert!(!details.contains("TEMP B-TREE"), "{name} sorts: {details}");
    }
    Ok(())
}
