//! The embedded store's checks: the file, WAL mode, `synchronous`, integrity
//! (`PRAGMA quick_check`) and free disk, from [`oxq_sqlite::diagnostics`] (a read-only
//! connection: doctor never creates or changes the file).

use std::path::Path;

use oxq_sqlite::{SqliteDiagnostics, Synchronous};

use super::Check;
use super::disk::{available_bytes, human};
use crate::error::{CliError, CliResult};

/// Free space below which the disk check warns (the file, its WAL and a backup copy grow).
const MIN_FREE_BYTES: u64 = 1024 * 1024 * 1024;
/// Problems of `quick_check` the integrity line names.
const PROBLEMS_SHOWN: usize = 3;

pub async fn checks(url: &str) -> CliResult<Vec<Check>> {
    let (path, options) = oxq_sqlite::parse_url(url)?;
    let read_path = path.clone();
    let found = tokio::task::spawn_blocking(move || oxq_sqlite::diagnostics(&read_path))
        .await
        .map_err(|e| CliError::Failed(format!("the sqlite check stopped: {e}")))?;
    let mut checks = Vec::new();
    match &found.file_size {
        Ok(size) => {
            checks.push(file(&found, *size));
            checks.push(journal_mode(&found));
            checks.push(synchronous(options.synchronous));
            checks.push(integrity(&found));
        }
        Err(reason) => checks.push(Check::fail(
            "file",
            format!("{reason} (a typo in the URL? the store creates its file on first use)"),
        )),
    }
    checks.push(free_disk(
        &path,
        found.file_size.as_ref().copied().unwrap_or(0),
    ));
    Ok(checks)
}

fn file(found: &SqliteDiagnostics, size: u64) -> Check {
    let wal = if found.wal_size > 0 {
        format!(" (+ {} of WAL)", human(found.wal_size))
    } else {
        String::new()
    };
    Check::ok(
        "file",
        format!("{}, {}{wal}", found.path.display(), human(size)),
    )
}

fn journal_mode(found: &SqliteDiagnostics) -> Check {
    match &found.journal_mode {
        Ok(mode) if mode == "wal" => Check::ok(
            "journal mode",
            "wal: readers do not block the writer, and commits do not rewrite the file",
        ),
        Ok(mode) => Check::warn(
            "journal mode",
            format!(
                "{mode}, not wal: readers and the writer block each other; open the file with oxq \
                 once (it switches to WAL) or run `PRAGMA journal_mode=WAL` on it"
            ),
        ),
        Err(reason) => Check::fail("journal mode", reason.clone()),
    }
}

fn synchronous(setting: Synchronous) -> Check {
    match setting {
        Synchronous::Normal => Check::ok(
            "synchronous",
            "normal: a commit survives a crash of the process; add ?synchronous=full to the URL \
             to survive a power loss too",
        ),
        Synchronous::Full => Check::ok(
            "synchronous",
            "full: a commit is on disk before it is acknowledged (survives a power loss)",
        ),
    }
}

fn integrity(found: &SqliteDiagnostics) -> Check {
    match &found.integrity_problems {
        Ok(problems) if problems.is_empty() => Check::ok("integrity", "quick_check: ok"),
        Ok(problems) => Check::fail(
            "integrity",
            format!(
                "quick_check found damage ({}); stop the workers and restore the file from a \
                 backup (or `sqlite3 FILE .recover`)",
                summary(problems)
            ),
        ),
        Err(reason) => Check::fail(
            "integrity",
            format!("{reason}; the file is not a readable database: restore it from a backup"),
        ),
    }
}

/// The first [`PROBLEMS_SHOWN`] of quick_check's problems on one line (its rows may hold
/// several lines, under a `*** in database main ***` heading).
fn summary(problems: &[String]) -> String {
    let lines: Vec<&str> = problems
        .iter()
        .flat_map(|p| p.lines())
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("***"))
        .collect();
    let mut text = lines
        .iter()
        .take(PROBLEMS_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if lines.len() > PROBLEMS_SHOWN {
        text.push_str(&format!("; and {} more", lines.len() - PROBLEMS_SHOWN));
    }
    text
}

fn free_disk(path: &Path, file_size: u64) -> Check {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let threshold = MIN_FREE_BYTES.max(file_size);
    match available_bytes(dir) {
        Ok(free) if free < threshold => Check::warn(
            "free disk",
            format!(
                "{} free in {} (below {}): the file and its WAL grow with the queues, and a \
                 backup or VACUUM needs a copy; free space or move the file",
                human(free),
                dir.display(),
                human(threshold)
            ),
        ),
        Ok(free) => Check::ok(
            "free disk",
            format!("{} free in {}", human(free), dir.display()),
        ),
        Err(reason) => Check::warn("free disk", reason),
    }
}
