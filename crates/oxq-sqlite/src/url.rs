//! Connection strings: the schemes this store serves ([`URL_SCHEMES`]), how its URLs read
//! ([`parse_url`]) and opening the store a URL names ([`open_url`]).
//!
//! Accepted forms: `sqlite://path/to/file.db`, `sqlite:relative.db`, `sqlite:///abs/path.db`
//! (the scheme in any case), with optional query parameters that override the options given:
//!
//! | parameter | values | option |
//! |---|---|---|
//! | `synchronous` | `normal`, `full` | [`SqliteOptions::synchronous`] |
//! | `busy_timeout_ms` | integer | [`SqliteOptions::busy_timeout`] |
//! | `poll_interval_ms` | integer | [`SqliteOptions::poll_interval`] |
//! | `max_events` | integer | [`SqliteOptions::max_events`] |
//!
//! `sqlite://a/b.db` names the relative path `a/b.db` (the part after `//` is the path, there
//! is no host); three slashes make it absolute. `%XX` escapes in the path are decoded.
//!
//! ```
//! let (path, options) = oxq_sqlite::parse_url("sqlite:///var/lib/oxq.db?synchronous=full")?;
//! assert_eq!(path, std::path::PathBuf::from("/var/lib/oxq.db"));
//! assert_eq!(options.synchronous, oxq_sqlite::Synchronous::Full);
//! # Ok::<(), oxq_core::Error>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oxq_core::{Backend, Error, Result};

use crate::backend::SqliteBackend;
use crate::options::{SqliteOptions, Synchronous};

/// The URL schemes this store serves (without `:` or `//`), compared without regard to case.
/// The `oxq` facade sends a URL with one of these schemes to [`open_url`].
pub const URL_SCHEMES: &[&str] = &["sqlite"];

const ACCEPTED_KEYS: &str = "synchronous, busy_timeout_ms, poll_interval_ms, max_events";

/// Opens (creating and migrating if needed) the database file a `sqlite:` URL names.
///
/// `base` holds the settings a URL cannot carry (e.g. `read_connections`); the URL's query
/// parameters override it. The store comes back bare: the `oxq` facade wraps it in
/// [`Instrumented`](oxq_core::backend::Instrumented) (a program using this crate directly may
/// do the same).
///
/// ```no_run
/// # async fn demo() -> oxq_core::Result<()> {
/// use oxq_sqlite::SqliteOptions;
/// let base = SqliteOptions::default().read_connections(8);
/// let store = oxq_sqlite::open_url("sqlite://jobs.db?synchronous=full", base).await?;
/// assert_eq!(store.kind(), "sqlite");
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidUrl`] for a URL this store does not read (naming the accepted parameters
/// when one is unknown); otherwise the errors of [`SqliteBackend::open`].
pub async fn open_url(url: &str, base: SqliteOptions) -> Result<Arc<dyn Backend>> {
    let (path, options) = parse_url_over(url, base)?;
    let store: Arc<dyn Backend> = SqliteBackend::open(path, options).await?;
    Ok(store)
}

/// Splits a `sqlite:` URL into the file path and the options it sets (over the defaults).
pub fn parse_url(url: &str) -> Result<(PathBuf, SqliteOptions)> {
    parse_url_over(url, SqliteOptions::default())
}

/// [`parse_url`] with the URL's query parameters applied over `base`.
pub(crate) fn parse_url_over(url: &str, base: SqliteOptions) -> Result<(PathBuf, SqliteOptions)> {
    let bad = |reason: String| Error::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = strip_scheme(url).ok_or_else(|| {
        bad(format!(
            "the scheme must be one of: {}",
            URL_SCHEMES
                .iter()
                .map(|s| format!("`{s}:`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let (path_part, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    // `sqlite://x` and `sqlite:x` both name `x`; `sqlite:///x` names `/x`.
    let path_part = path_part.strip_prefix("//").unwrap_or(path_part);
    let path = percent_decode(path_part).map_err(bad)?;
    if path.is_empty() {
        return Err(bad("the path of the database file is missing".to_owned()));
    }
    if path == ":memory:" {
        return Err(bad(
            "in-memory databases are not supported (the store opens several connections); \
             use a file in a temporary directory"
                .to_owned(),
        ));
    }
    let mut options = base;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        apply(&mut options, key, value).map_err(bad)?;
    }
    Ok((PathBuf::from(path), options))
}

/// The URL after `<scheme>:` when its scheme is one of [`URL_SCHEMES`] (any case).
fn strip_scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    URL_SCHEMES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        .then_some(rest)
}

fn apply(options: &mut SqliteOptions, key: &str, value: &str) -> Result<(), String> {
    let number = || {
        value
            .parse::<u64>()
            .map_err(|_| format!("`{key}` must be a non-negative integer, got {value:?}"))
    };
    match key {
        "synchronous" => {
            options.synchronous = match value.to_ascii_lowercase().as_str() {
                "normal" => Synchronous::Normal,
                "full" => Synchronous::Full,
                _ => {
                    return Err(format!(
                        "`synchronous` must be `normal` or `full`, got {value:?}"
                    ));
                }
            }
        }
        "busy_timeout_ms" => options.busy_timeout = Duration::from_millis(number()?),
        "poll_interval_ms" => {
            *options = options
                .clone()
                .poll_interval(Duration::from_millis(number()?));
        }
        "max_events" => *options = options.clone().max_events(number()?),
        _ => {
            return Err(format!(
                "unknown parameter `{key}`; accepted parameters: {ACCEPTED_KEYS}"
            ));
        }
    }
    Ok(())
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape at byte {i} of the path"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the decoded path is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("sqlite://path/to/file.db", "path/to/file.db"),
            ("sqlite:relative.db", "relative.db"),
            ("sqlite:///abs/path.db", "/abs/path.db"),
            ("sqlite://oxq.db", "oxq.db"),
            ("sqlite:my%20jobs.db", "my jobs.db"),
        ];
        for (url, path) in cases {
            let (parsed, options) = parse_url(url).expect(url);
            assert_eq!(parsed, PathBuf::from(path), "{url}");
            assert_eq!(options, SqliteOptions::default());
        }
    }

    #[test]
    fn query_parameters() {
        let (_, o) = parse_url("sqlite:a.db?synchronous=FULL&busy_timeout_ms=250&max_events=5")
            .expect("parse");
        assert_eq!(o.synchronous, Synchronous::Full);
        assert_eq!(o.busy_timeout, Duration::from_millis(250));
        assert_eq!(o.max_events, 5);
    }

    #[test]
    fn url_parameters_override_the_base() {
        let base = SqliteOptions::default()
            .read_connections(9)
            .synchronous(Synchronous::Full)
            .max_events(7);
        let (path, o) = parse_url_over("SQLite://b.db?max_events=5", base).expect("parse");
        assert_eq!(path, PathBuf::from("b.db"));
        assert_eq!(o.read_connections, 9, "kept from the base");
        assert_eq!(o.synchronous, Synchronous::Full, "kept from the base");
        assert_eq!(o.max_events, 5, "the URL wins");
        for scheme in URL_SCHEMES {
            assert!(parse_url(&format!("{scheme}://x.db")).is_ok(), "{scheme}");
        }
    }

    #[tokio::test]
    async fn open_url_opens_the_named_file() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::store_caused("temp dir", e))?;
        let file = dir.path().join("u.db");
        let url = format!("sqlite://{}?poll_interval_ms=5", file.display());
        let store = open_url(&url, SqliteOptions::default()).await?;
        assert_eq!(store.kind(), "sqlite");
        assert!(file.exists());
        Ok(())
    }

    #[test]
    fn errors_teach() {
        let err = parse_url("sqlite:a.db?sync=full").expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("sync") && text.contains("synchronous, busy_timeout_ms"));
        assert!(parse_url("redis://x").is_err());
        assert!(parse_url("sqlite://").is_err());
        assert!(parse_url("sqlite::memory:").is_err());
        assert!(parse_url("sqlite:a.db?synchronous=off").is_err());
    }
}
