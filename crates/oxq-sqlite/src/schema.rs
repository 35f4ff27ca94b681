//! Opening connections and migrating the schema.
//!
//! Migrations are the numbered files in `migrations/`, applied in order inside one
//! `BEGIN IMMEDIATE` transaction; `PRAGMA user_version` records how many have run, so several
//! processes opening a new file at once apply each migration exactly once. A file whose
//! version is newer than this build knows is refused ([`StoreError::SchemaTooNew`]).
//!
//! Every connection gets: WAL (set once, it is persistent), the `synchronous` level of the
//! options, a busy timeout, `temp_store=MEMORY` and a page cache. Readers also get a memory
//! map; the writer does not (with one, SQLite consults the WAL index before its page cache on
//! every page access, which is slow for the pages every commit rewrites). Readers are opened
//! read-only, so a bug in a read path cannot write. New files use 4 KiB pages: a small commit
//! (one job fetched and finished) writes about half the WAL bytes of 8 KiB pages, which
//! matters more than the few percent 8 KiB pages gain on bulk adds. The writer checkpoints
//! only as a fallback; [`crate::checkpoint`] does it in the background.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{StoreError, StoreResult};
use crate::options::SqliteOptions;

/// The migrations, in order; the schema version is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_job_schedulers.sql"),
    include_str!("../migrations/0003_flows.sql"),
    include_str!("../migrations/0004_rate_limits.sql"),
    include_str!("../migrations/0005_deduplication.sql"),
    include_str!("../migrations/0006_dead_letters.sql"),
    include_str!("../migrations/0007_cancellation.sql"),
    include_str!("../migrations/0008_workers.sql"),
    include_str!("../migrations/0009_steps.sql"),
    include_str!("../migrations/0010_groups.sql"),
    include_str!("../migrations/0011_plain_runnable.sql"),
    include_str!("../migrations/0012_metrics.sql"),
    include_str!("../migrations/0013_stored_group_key.sql"),
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

/// Opens the write connection, creating and migrating the file as needed, retrying for up to
/// the busy timeout while another process holds a lock the open needs.
///
/// SQLite's busy handler does not cover every step of an open: switching a new file to WAL and
/// the first read of a WAL index that another connection is building fail at once with
/// `SQLITE_BUSY`. Processes started together on a new file (a worker and a producer launched
/// by one script) hit exactly that, so the whole open is retried.
pub(crate) fn open_writer(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let deadline = Instant::now() + options.busy_timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match try_open_writer(path, options) {
            Err(e) if e.is_busy() && Instant::now() < deadline => {
                tracing::debug!(error = %e, "sqlite file busy while opening; retrying");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

fn try_open_writer(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    // Only takes effect on a new file (see the module docs for the choice).
    conn.pragma_update(None, "page_size", 4096)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "sqlite refused WAL mode; concurrency will suffer");
    }
    // No memory map for the writer: with one, SQLite looks every page up in the WAL index
    // before its page cache, and the WAL index is slow for pages rewritten by every commit.
    tune(&conn, options, -32 * 1024, 0)?;
    // The checkpoint thread keeps the WAL short; this is only its safety net.
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        crate::checkpoint::WRITER_FALLBACK_PAGES,
    )?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a read-only connection on a file the writer has already migrated.
pub(crate) fn open_reader(path: &Path, options: &SqliteOptions) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    tune(&conn, options, -8 * 1024, 256 * 1024 * 1024)?;
    Ok(conn)
}

/// `cache_kib` is negative: SQLite reads a negative `cache_size` as KiB.
fn tune(
    conn: &Connection,
    options: &SqliteOptions,
    cache_kib: i64,
    mmap_bytes: i64,
) -> StoreResult<()> {
    conn.pragma_update(None, "synchronous", options.synchronous.pragma_value())?;
    // The bundled SQLite enforces foreign keys by default; the schema has none.
    conn.pragma_update(None, "foreign_keys", false)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", cache_kib)?;
    conn.pragma_update(None, "mmap_size", mmap_bytes)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the write lock: another process may have migrated meanwhile.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(current.max(0)).unwrap_or(0);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tracing::info!(version = index + 1, "applying sqlite migration");
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.db");
        let options = SqliteOptions::default();
        let conn = open_writer(&path, &options).expect("open");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        drop(conn);
        // Opening again applies nothing.
        let conn = open_writer(&path, &options).expect("reopen");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
        drop(conn);
        assert!(matches!(
            open_writer(&path, &options),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    /// `MIGRATIONS` is every file of `migrations/`, each once, in file-name order, and the
    /// names are numbered 0001, 0002, ... without a gap or a repeat (two branches adding the
    /// same number show up here).
    #[test]
    fn migrations_are_the_numbered_files_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("migrations/ is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .map(|path| {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("a UTF-8 file name")
                    .to_owned();
                let text = std::fs::read_to_string(&path).expect("a migration is readable");
                (name, text)
            })
            .collect();
        files.sort();
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(files.len(), MIGRATIONS.len(), "files {names:?}");
        for (index, (name, text)) in files.iter().enumerate() {
            assert!(
                name.starts_with(&format!("{:04}_", index + 1)),
                "{name} is migration {} of {names:?}",
                index + 1
            );
            assert_eq!(MIGRATIONS[index], text, "MIGRATIONS[{index}] is not {name}");
        }
    }

    /// A file written before migration 0013 (the group read from the options by a virtual
    /// column) keeps every job's group, and its runnable group jobs move to their bands.
    #[test]
    fn migration_13_stores_the_group_and_bands_runnable_group_jobs() {
        let mut conn = Connection::open_in_memory().expect("open");
        for sql in &MIGRATIONS[..12] {
            conn.execute_batch(sql).expect("migrations 1-12");
        }
        conn.pragma_update(None, "user_version", 12)
            .expect("version");
        let rows = [
            ("w", 0, 7, Some(r#"{"group":"a","attempts":3}"#)),
            (
                "p",
                1,
                (2_i64 << 42) | 8,
                Some(r#"{"group":"b","priority":2}"#),
            ),
            ("d", 2, 1_000, Some(r#"{"group":"a"}"#)),
            ("plain", 0, 9, Some(r#"{"attempts":2}"#)),
            ("none", 0, 10, None),
            ("not-json", 0, 11, Some("{not json")),
        ];
        for (id, state, score, options) in rows {
            conn.execute(
                "INSERT INTO jobs (qid, id, state, score, timestamp, name, data, options) \
                 VALUES (1, ?1, ?2, ?3, 0, 'n', '{}', ?4)",
                rusqlite::params![id, state, score, options],
            )
            .expect("row");
        }
        migrate(&mut conn).expect("migrate to 13");
        let read = |id: &str| -> (Option<String>, i64) {
            conn.query_row(
                "SELECT group_key, score FROM jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("read")
        };
        let banded = |state, score| crate::band::stored((state, score), true).1;
        assert_eq!(read("w"), (Some("a".into()), banded(0, 7)));
        assert_eq!(read("p"), (Some("b".into()), banded(1, (2_i64 << 42) | 8)));
        assert_eq!(
            read("d"),
            (Some("a".into()), 1_000),
            "a delayed job keeps its due time"
        );
        assert_eq!(read("plain"), (None, 9));
        assert_eq!(read("none"), (None, 10));
        assert_eq!(read("not-json"), (None, 11));
    }

    #[test]
    fn state_check_constraint_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("c.db"), &SqliteOptions::default()).expect("open");
        let bad = conn.execute(
            "INSERT INTO jobs (qid, id, state, score, timestamp, name, data) \
             VALUES (1, 'x', 9, 0, 0, 'n', '{}')",
            [],
        );
        assert!(bad.is_err());
    }
}
