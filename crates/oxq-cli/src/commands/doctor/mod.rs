//! `oxq doctor`: checks a deployment against what BullMQ's production guide asks for, and says
//! what to change. Each check is one line, `ok`, `warn` or `fail` with the reason
//! (`--json`: an array of `{"check", "status", "detail"}` objects).
//!
//! Exit code: 0 when no check failed (warnings alone too, unless `--strict`), 1 when one did,
//! with `oxq: N of M checks failed: ...` on stderr; a store that cannot be reached or a bad URL
//! is an error as for every command (1, or 2 for the URL). The store-specific reads come from
//! each store's `diagnostics` (a connection of its own, read-only), never through the
//! `Backend`, so doctor also reports on a server the store would refuse (Redis < 6.2).

mod disk;
mod redis;
mod sqlite;

use serde_json::{Value, json};

use crate::args::DoctorArgs;
use crate::error::{CliError, CliResult};
use crate::output::print_json;

/// A check's verdict; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's verdict and its reason (with the fix when it is not ok).
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Ok, detail)
    }

    pub fn warn(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, detail)
    }

    pub fn fail(name: &'static str, detail: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, detail)
    }

    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
        }
    }
}

/// Runs the checks of the store `url` names, prints them, and fails when one failed (or, with
/// `--strict`, warned).
pub async fn run(url: &str, prefix: &str, args: &DoctorArgs, json: bool) -> CliResult<()> {
    let checks = match store_kind(url)? {
        StoreKind::Sqlite => sqlite::checks(url).await?,
        StoreKind::Redis => redis::checks(url, prefix).await?,
    };
    print(&checks, json);
    verdict(&checks, args.strict)
}

enum StoreKind {
    Sqlite,
    Redis,
}

/// Which store the URL's scheme names; the same refusals as `oxq::connect` otherwise.
fn store_kind(url: &str) -> CliResult<StoreKind> {
    if url.trim().is_empty() {
        return Err(CliError::Usage(format!(
            "the URL is empty; give one (e.g. {} or redis://localhost:6379)",
            oxq::DEFAULT_URL
        )));
    }
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    if oxq_sqlite::URL_SCHEMES.contains(&scheme.as_str()) {
        Ok(StoreKind::Sqlite)
    } else if oxq_redis::URL_SCHEMES.contains(&scheme.as_str()) {
        Ok(StoreKind::Redis)
    } else {
        Err(CliError::Usage(format!(
            "invalid URL {url:?}: unknown scheme {scheme:?}; this build accepts: {}",
            oxq::accepted_schemes().join(", ")
        )))
    }
}

fn print(checks: &[Check], json: bool) {
    if json {
        let objects: Vec<Value> = checks
            .iter()
            .map(|c| json!({"check": c.name, "status": c.status.as_str(), "detail": c.detail}))
            .collect();
        print_json(&Value::Array(objects));
        return;
    }
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in checks {
        println!(
            "{:<4}  {:<width$}  {}",
            check.status.as_str(),
            check.name,
            check.detail
        );
    }
}

/// Err when a check failed, or warned under `strict`, naming those checks.
fn verdict(checks: &[Check], strict: bool) -> CliResult<()> {
    let threshold = if strict { Status::Warn } else { Status::Fail };
    let bad: Vec<&str> = checks
        .iter()
        .filter(|c| c.status >= threshold)
        .map(|c| c.name)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let what = if strict { "failed or warned" } else { "failed" };
    Err(CliError::Failed(format!(
        "{} of {} checks {what}: {}",
        bad.len(),
        checks.len(),
        bad.join(", ")
    )))
}
