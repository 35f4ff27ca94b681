//! Connection strings: `sqlite://path/to/file.db`, `sqlite:relative.db`,
//! `sqlite:///abs/path.db`, with optional query parameters.
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
use std::time::Duration;

use oxq_core::{Error, Result};

use crate::options::{SqliteOptions, Synchronous};

const ACCEPTED_KEYS: &str = "synchronous, busy_timeout_ms, poll_interval_ms, max_events";

/// Splits a `sqlite:` URL into the file path and the options it sets.
pub fn parse_url(url: &str) -> Result<(PathBuf, SqliteOptions)> {
    let bad = |reason: String| Error::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| bad("the scheme must be `sqlite:`".to_owned()))?;
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
    let mut options = SqliteOptions::default();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        apply(&mut options, key, value).map_err(bad)?;
    }
    Ok((PathBuf::from(path), options))
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
