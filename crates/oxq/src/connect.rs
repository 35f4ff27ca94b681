//! [`connect`] and [`connect_with`]: a connection URL picks the store, and the store it opens
//! is wrapped in [`Instrumented`](oxq_core::backend::Instrumented) here, the one place.
//!
//! Each store declares the URL schemes it serves (`oxq_sqlite::URL_SCHEMES`,
//! `oxq_redis::URL_SCHEMES`) and opens its own URLs; this module only finds the store whose
//! list holds the URL's scheme, so a scheme a store accepts is never refused here. An unknown
//! scheme is an [`Error::InvalidUrl`] that lists every scheme this build accepts, and an empty
//! URL is refused rather than taken for the default.
//!
//! Logs: an INFO line `opened the store` with the store (`sqlite`, `redis`) and its target, the
//! file path or `host:port` ([`target_of`]: never a user name or password), so a worker and a
//! producer show at start-up where they read and write.
//!
//! ```no_run
//! # async fn demo() -> oxq::Result<()> {
//! use std::time::Duration;
//! let options = oxq::ConnectOptions::new()
//!     .redis(oxq::redis::RedisOptions::default().command_timeout(Duration::from_secs(2)));
//! let backend = oxq::connect_with("rediss://cache.internal:6380", options).await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use oxq_core::backend::Instrumented;
use oxq_core::{Backend, Error, Result};

/// The store used when no URL is given: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://oxq.db";

/// Store settings a URL cannot carry (certificates, timeouts, pragmas), for [`connect_with`].
/// Only the options of the store the URL names are used.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The embedded store's settings; parameters in a `sqlite://` URL's query override them.
    #[cfg(feature = "sqlite")]
    pub sqlite: oxq_sqlite::SqliteOptions,
    /// The Redis store's settings: timeouts, reconnection, TLS CA and client certificate.
    #[cfg(feature = "redis")]
    pub redis: oxq_redis::RedisOptions,
}

impl ConnectOptions {
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(feature = "sqlite")]
    pub fn sqlite(mut self, options: oxq_sqlite::SqliteOptions) -> Self {
        self.sqlite = options;
        self
    }

    #[cfg(feature = "redis")]
    pub fn redis(mut self, options: oxq_redis::RedisOptions) -> Self {
        self.redis = options;
        self
    }
}

/// Opens the store a URL names with default settings: `sqlite://path/to/file.db`, or any
/// scheme of the Redis store (`redis://[user:password@]host[:port][/db]`, `rediss://…` with
/// TLS, `valkey://…`, …). An empty or blank URL is an [`Error::InvalidUrl`], never the
/// default: a caller whose URL is optional passes [`DEFAULT_URL`] when it has none (an unset
/// `--url "$VAR"` must not quietly open `./oxq.db` where no Redis worker looks).
pub async fn connect(url: &str) -> Result<Arc<dyn Backend>> {
    connect_with(url, ConnectOptions::default()).await
}

/// Opens the store a URL names with the given settings for it.
pub async fn connect_with(url: &str, options: ConnectOptions) -> Result<Arc<dyn Backend>> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::InvalidUrl {
            url: url.to_owned(),
            reason: format!(
                "the URL is empty; give one (e.g. {DEFAULT_URL} or redis://localhost:6379), \
                 or leave it out to use the default {DEFAULT_URL}"
            ),
        });
    }
    let target = target_of(url);
    let opened = open(url, options)
        .await
        .map_err(|e| on_target(e, &target))?;
    tracing::info!(store = opened.kind(), target = %target, "opened the store");
    Ok(opened)
}

/// The store `url` names, opened and instrumented.
async fn open(url: &str, options: ConnectOptions) -> Result<Arc<dyn Backend>> {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_default();
    #[cfg(feature = "sqlite")]
    if oxq_sqlite::URL_SCHEMES.contains(&scheme.as_str()) {
        let store = oxq_sqlite::open_url(url, options.sqlite).await?;
        return Ok(Instrumented::wrap(store));
    }
    #[cfg(feature = "redis")]
    if oxq_redis::URL_SCHEMES.contains(&scheme.as_str()) {
        let store = oxq_redis::open_url(url, options.redis).await?;
        return Ok(Instrumented::wrap(store));
    }
    let _ = options; // a build with no store compiled in has nothing to configure
    Err(Error::InvalidUrl {
        url: url.to_owned(),
        reason: format!(
            "unknown scheme {scheme:?}; this build accepts: {}",
            accepted_schemes().join(", ")
        ),
    })
}

/// What a connection URL points at, for logs and errors: `host:port` for a server (any
/// `user:password@` removed), else the path (a SQLite file, a Unix socket), without query.
pub(crate) fn target_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    if scheme.starts_with("sqlite") || rest.starts_with('/') {
        return rest.to_owned();
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        rest.to_owned()
    } else {
        host.to_owned()
    }
}

/// An error opening the store that does not name where it tried, with the target added
/// (`Unavailable`, `Store`); the others are about the URL or options, not the place.
fn on_target(mut error: Error, target: &str) -> Error {
    if let Error::Store { message, .. } | Error::Unavailable { message, .. } = &mut error
        && !message.contains(target)
    {
        *message = format!("{target}: {message}");
    }
    error
}

/// Every scheme this build accepts, as `scheme://`.
pub fn accepted_schemes() -> Vec<String> {
    let mut schemes: Vec<&str> = Vec::new();
    #[cfg(feature = "sqlite")]
    schemes.extend(oxq_sqlite::URL_SCHEMES);
    #[cfg(feature = "redis")]
    schemes.extend(oxq_redis::URL_SCHEMES);
    schemes.into_iter().map(|s| format!("{s}://")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_scheme_lists_every_accepted_one() {
        let err = connect("postgres://localhost/jobs")
            .await
            .expect_err("postgres is no store of oxq's");
        let text = err.to_string();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
        for scheme in accepted_schemes() {
            assert!(text.contains(&scheme), "{text} lacks {scheme}");
        }
        #[cfg(feature = "redis")]
        assert!(text.contains("valkey://"), "{text}");
    }

    #[test]
    fn a_target_names_the_file_or_host_and_never_a_password() {
        for (url, target) in [
            ("sqlite://oxq.db", "oxq.db"),
            ("sqlite:///var/lib/q.db?synchronous=full", "/var/lib/q.db"),
            ("redis://localhost:6379/2", "localhost:6379"),
            (
                "rediss://app:s3cret@cache.internal:6380",
                "cache.internal:6380",
            ),
            ("redis://:s3cret@10.0.0.5", "10.0.0.5"),
            ("redis+unix:///run/redis.sock", "/run/redis.sock"),
        ] {
            assert_eq!(target_of(url), target, "{url}");
        }
    }

    #[tokio::test]
    async fn an_empty_or_blank_url_is_refused_not_the_default() {
        for url in ["", "   "] {
            let err = connect(url).await.expect_err("an empty URL names no store");
            assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
            assert!(err.to_string().contains("the URL is empty"), "{err}");
        }
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_sqlite_url_opens_an_instrumented_store() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::store_caused("temp dir", e))?;
        let url = format!("sqlite://{}", dir.path().join("q.db").display());
        let backend = connect(&url).await?;
        assert_eq!(backend.kind(), "sqlite");
        Ok(())
    }
}
