//! [`diagnostics`]: what a deployment check (`oxq doctor`) needs to know about a store file,
//! read outside the [`Backend`](oxq_core::Backend) seam on a read-only connection of its own:
//! the file's size, its journal mode and `PRAGMA quick_check`.
//!
//! It never creates, migrates or writes the file, and judges nothing: the caller decides what
//! is good enough. Each reading carries its own failure, so a damaged file still yields a
//! report (the failure is the finding).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// Problems `quick_check` reports at most.
const MAX_PROBLEMS: usize = 10;

/// What [`diagnostics`] read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteDiagnostics {
    pub path: PathBuf,
    /// The database file's size in bytes, or why it could not be read (it does not exist).
    pub file_size: Result<u64, String>,
    /// The `-wal` file's size in bytes (0 when there is none).
    pub wal_size: u64,
    /// `PRAGMA journal_mode` (`wal` for a file this store made), or the error reading it.
    pub journal_mode: Result<String, String>,
    /// `PRAGMA quick_check`: empty when the file is sound, else its first problems; or the
    /// error that stopped the check (a file that is not a database at all).
    pub integrity_problems: Result<Vec<String>, String>,
}

/// Reads the file at `path`. Blocks for as long as `quick_check` takes (it reads the whole
/// file: about a second per few hundred MB), so call it off the async runtime.
pub fn diagnostics(path: &Path) -> SqliteDiagnostics {
    let file_size = std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read {}: {e}", path.display()));
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal_size = std::fs::metadata(PathBuf::from(wal))
        .map(|m| m.len())
        .unwrap_or(0);
    let (journal_mode, integrity_problems) = match (&file_size, open(path)) {
        (Err(e), _) => (Err(e.clone()), Err(e.clone())),
        (Ok(_), Err(e)) => (Err(e.clone()), Err(e)),
        (Ok(_), Ok(conn)) => (journal_mode(&conn), quick_check(&conn)),
    };
    SqliteDiagnostics {
        path: path.to_owned(),
        file_size,
        wal_size,
        journal_mode,
        integrity_problems,
    }
}

fn open(path: &Path) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags).map_err(|e| describe(path, &e))
}

fn journal_mode(conn: &Connection) -> Result<String, String> {
    conn.query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
        .map(|mode| mode.to_ascii_lowercase())
        .map_err(|e| describe(conn_path(conn), &e))
}

fn quick_check(conn: &Connection) -> Result<Vec<String>, String> {
    let path = conn_path(conn);
    let mut statement = conn
        .prepare(&format!("PRAGMA quick_check({MAX_PROBLEMS})"))
        .map_err(|e| describe(path, &e))?;
    let lines = statement
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(|e| describe(path, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| describe(path, &e))?;
    Ok(if lines == ["ok"] { Vec::new() } else { lines })
}

fn conn_path(conn: &Connection) -> &Path {
    Path::new(conn.path().unwrap_or(""))
}

fn describe(path: &Path, error: &rusqlite::Error) -> String {
    format!("sqlite file {}: {error}", path.display())
}
