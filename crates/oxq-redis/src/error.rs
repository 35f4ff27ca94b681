//! The Redis store's errors and how they map onto [`oxq_core::Error`].
//!
//! The classification comes from redis-rs (`RedisError::retry_method`, `is_timeout`, ...),
//! never from message text: anything the client would retry (a dropped connection, a refused
//! connect, a timeout, `LOADING`, `TRYAGAIN`) becomes
//! [`oxq_core::Error::Unavailable`], so the runtime waits and resumes while producers fail fast.
//!
//! A server that answers but refuses the work until an operator acts becomes
//! [`oxq_core::Error::Refused`], with what to do: `READONLY` (a replica, or a primary demoted
//! by a failover a plain `redis://` url does not follow), `OOM` (`maxmemory` reached under
//! `noeviction`), `NOPERM` (an ACL without a command or key oxq needs), `MISCONF` (writes
//! stopped because snapshots fail), `NOAUTH`/`WRONGPASS` (credentials changed under a running
//! worker). These are told apart by the error code Redis sends (its protocol's error kind),
//! not by message text. The worker keeps retrying them, loudly, so a fix resumes it.
//!
//! On connect only, two failures that retrying cannot fix are singled out so that
//! [`connect`](crate::connect) fails at once with a clear message: refused credentials
//! ([`RedisStoreError::Auth`]) and a failed TLS handshake ([`RedisStoreError::Tls`]). Once
//! connected, the same failures while reconnecting stay transient: the store keeps retrying
//! while, say, a rotated password or certificate is being fixed.
//!
//! Messages are sentences: an error reply reads as Redis sent it (`READONLY You can't write
//! against a read only replica.`), not in redis-rs's debug form (`ReadOnly: …`, `"OOM": …`).
//! They do not say which server: [`RedisBackend`](crate::RedisBackend) puts `redis at
//! host:port` in front of every store failure it answers ([`oxq_core::Error::at_target`]),
//! which never shows a user name or password.

use std::sync::Arc;

use oxq_core::Error;
use oxq_core::error::BoxError;
use redis::{ErrorKind, RetryMethod};

/// Something the Redis store could not do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The client or the server reported an error.
    #[error("{}", describe(.0))]
    Redis(#[from] redis::RedisError),

    /// The connection URL could not be used.
    #[error("invalid connection url {url:?}: {reason}")]
    Url { url: String, reason: String },

    /// The server refused the connection's user name or password (Redis ACL), or it needs them
    /// and the URL has none.
    #[error(
        "Redis refused the credentials; check the user name and password in the connection url: {}",
        describe(.0)
    )]
    Auth(redis::RedisError),

    /// The TLS handshake failed: the server's certificate is not signed by a trusted CA, does
    /// not name the URL's host, or the server wants a client certificate; or the port does not
    /// speak TLS.
    #[error(
        "TLS handshake with Redis failed; check that the server certificate is signed by a trusted CA (RedisOptions::tls_root_ca for a private one) and names the url's host: {0}"
    )]
    Tls(redis::RedisError),

    /// `tls_root_ca` or `tls_client_cert` could not be used.
    #[error("invalid TLS option: {reason}")]
    TlsOption { reason: String },

    /// The server is older than the scripts need.
    #[error("Redis {found} is too old: oxq's scripts need Redis 6.2 or newer")]
    ServerTooOld { found: String },

    /// A script or command answered in a shape the store does not expect (a bug or foreign data).
    #[error("unexpected reply from {context}: {detail}")]
    Reply {
        context: &'static str,
        detail: String,
    },

    /// A blocking command did not answer within its block time plus the margin.
    #[error("blocking {command} did not answer in time")]
    BlockingTimeout { command: &'static str },
}

impl RedisStoreError {
    pub(crate) fn reply(context: &'static str, detail: impl Into<String>) -> Self {
        RedisStoreError::Reply {
            context,
            detail: detail.into(),
        }
    }

    /// Classifies an error met while connecting: refused credentials and TLS failures become
    /// [`RedisStoreError::Auth`] and [`RedisStoreError::Tls`], which are not transient.
    pub(crate) fn on_connect(e: redis::RedisError) -> Self {
        if e.kind() == ErrorKind::AuthenticationFailed
            || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
        {
            RedisStoreError::Auth(e)
        } else if is_tls_failure(&e) {
            RedisStoreError::Tls(e)
        } else {
            RedisStoreError::Redis(e)
        }
    }

    /// What an operator should do, when the server answered but refuses the work until then
    /// (see the module docs); `None` for any other error.
    pub fn refusal(&self) -> Option<&'static str> {
        let RedisStoreError::Redis(e) = self else {
            return None;
        };
        match e.code()? {
            "READONLY" => Some(
                "the server is a read-only replica: point the url at the primary, or run REPLICAOF NO ONE on it",
            ),
            "OOM" => Some(
                "the server reached maxmemory: raise maxmemory or free memory (keep the noeviction policy; evicting would lose jobs)",
            ),
            "NOPERM" => Some(
                "the ACL user lacks a command or key oxq needs: allow it the queue's keys and the scripting commands",
            ),
            "MISCONF" => Some(
                "the server stopped accepting writes because it cannot save snapshots: fix its disk or persistence settings (see its log)",
            ),
            "NOAUTH" | "WRONGPASS" => Some(
                "the server no longer accepts this connection's credentials: fix the user name and password in the url or on the server",
            ),
            _ => None,
        }
    }

    /// True when the server cut a blocking command short with `-UNBLOCKED` (`CLIENT UNBLOCK id
    /// ERROR`, or the instance turned into a replica while the command waited): the command
    /// did nothing, and the same call may succeed at once.
    pub fn is_unblocked(&self) -> bool {
        matches!(self, RedisStoreError::Redis(e) if e.code() == Some("UNBLOCKED"))
    }

    /// True when the same call may succeed later (connection lost, server busy or failing over).
    pub fn is_transient(&self) -> bool {
        if self.refusal().is_some() {
            return false;
        }
        if self.is_unblocked() {
            return true;
        }
        match self {
            RedisStoreError::Redis(e) => {
                e.is_timeout()
                    || e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || !matches!(e.retry_method(), RetryMethod::NoRetry)
            }
            RedisStoreError::BlockingTimeout { .. } => true,
            RedisStoreError::Url { .. }
            | RedisStoreError::Auth(_)
            | RedisStoreError::Tls(_)
            | RedisStoreError::TlsOption { .. }
            | RedisStoreError::ServerTooOld { .. }
            | RedisStoreError::Reply { .. } => false,
        }
    }
}

impl From<RedisStoreError> for Error {
    /// The message keeps the whole text (it names the cause); the source is the redis-rs error
    /// itself where there is one, else this store's error.
    fn from(e: RedisStoreError) -> Self {
        let message = e.to_string();
        if let Some(action) = e.refusal() {
            return Error::refused(message, action, e.into_source());
        }
        if e.is_transient() {
            return Error::unavailable(message, None, Some(e.into_source()));
        }
        match e {
            RedisStoreError::Url { url, reason } => Error::InvalidUrl { url, reason },
            other => Error::store_caused(message, other.into_source()),
        }
    }
}

impl RedisStoreError {
    /// The error underneath: the redis-rs error where there is one, else this error.
    fn into_source(self) -> BoxError {
        match self {
            RedisStoreError::Redis(e) | RedisStoreError::Auth(e) | RedisStoreError::Tls(e) => {
                Box::new(e)
            }
            other => Box::new(other),
        }
    }
}

/// A redis-rs error in words: an error reply as `the server answered CODE detail`, anything
/// else as the client words it (`Connection refused (os error 111)`).
fn describe(e: &redis::RedisError) -> String {
    match (e.kind(), e.code(), e.detail()) {
        (ErrorKind::Server(_) | ErrorKind::Extension, Some(code), Some(detail)) => {
            format!("the server answered {code} {detail}")
        }
        (ErrorKind::Server(_) | ErrorKind::Extension, Some(code), None) => {
            format!("the server answered {code}")
        }
        _ => e.to_string(),
    }
}

/// True when the TLS library rejected the handshake (an untrusted or mismatched certificate, an
/// alert from the server, a peer that does not speak TLS). tokio-rustls reports it as an
/// `io::Error` wrapping a `rustls::Error`, which redis-rs keeps behind an `Arc`; the types are
/// checked, not the message.
fn is_tls_failure(e: &redis::RedisError) -> bool {
    use std::error::Error as _;
    let Some(source) = e.source() else {
        return false;
    };
    let io = source
        .downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>()
        .and_then(|inner| inner.downcast_ref::<std::io::Error>())
        .or_else(|| source.downcast_ref::<std::io::Error>());
    io.and_then(std::io::Error::get_ref)
        .is_some_and(|inner| inner.is::<rustls::Error>())
}

pub(crate) type StoreResult<T> = std::result::Result<T, RedisStoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_transient_and_script_errors_are_not() {
        let io = redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
        let err = Error::from(RedisStoreError::from(io));
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        let source = std::error::Error::source(&err).expect("the redis error is kept");
        assert!(source.is::<redis::RedisError>(), "{source:?}");
        let reply = RedisStoreError::reply("add", "not an array");
        assert!(matches!(Error::from(reply), Error::Store { .. }));
        let url = RedisStoreError::Url {
            url: "x".into(),
            reason: "y".into(),
        };
        assert!(matches!(Error::from(url), Error::InvalidUrl { .. }));
    }

    #[test]
    fn a_blocking_command_cut_short_is_transient() {
        let reply = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
        let unblocked = match redis::parse_redis_value(reply) {
            Ok(redis::Value::ServerError(e)) => redis::RedisError::from(e),
            Err(e) => e,
            Ok(other) => panic!("parsed as {other:?}"),
        };
        let err = RedisStoreError::from(unblocked);
        assert!(err.is_unblocked() && err.is_transient(), "{err:?}");
        assert!(Error::from(err).is_transient());
    }

    #[test]
    fn a_server_that_refuses_writes_is_a_refusal_that_says_what_to_do() {
        for (code, hint) in [
            ("READONLY", "replica"),
            ("OOM", "maxmemory"),
            ("NOPERM", "ACL"),
            ("MISCONF", "snapshots"),
            ("WRONGPASS", "credentials"),
        ] {
            // the error reply as the server sends it
            let reply = format!("-{code} the server says no\r\n");
            let refused = match redis::parse_redis_value(reply.as_bytes()) {
                Ok(redis::Value::ServerError(e)) => redis::RedisError::from(e),
                Err(e) => e,
                Ok(other) => panic!("{code}: parsed as {other:?}"),
            };
            let err = Error::from(RedisStoreError::from(refused));
            assert!(matches!(err, Error::Refused { .. }), "{code}: {err:?}");
            assert!(err.is_permanent() && !err.is_transient(), "{code}");
            let text = err.to_string();
            assert!(text.contains(hint), "{code}: {text}");
            // the reply as Redis words it, not redis-rs's debug form of its kind
            assert!(
                text.contains(&format!("the server answered {code} the server says no")),
                "{code}: {text}"
            );
            assert!(!text.contains('"'), "{code}: {text}");
        }
    }

    #[test]
    fn refused_credentials_and_tls_failures_on_connect_are_not_transient() {
        let wrong_password = redis::RedisError::from((
            ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        ));
        let err = RedisStoreError::on_connect(wrong_password);
        assert!(matches!(err, RedisStoreError::Auth(_)), "{err:?}");
        let err = Error::from(err);
        assert!(matches!(err, Error::Store { .. }), "{err:?}");
        let source = std::error::Error::source(&err).expect("the redis error is kept");
        assert!(source.is::<redis::RedisError>(), "{source:?}");

        // what tokio-rustls returns for a certificate signed by an unknown CA
        let untrusted = redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert!(RedisStoreError::from(untrusted.clone()).is_transient());
        let err = RedisStoreError::on_connect(untrusted);
        assert!(matches!(err, RedisStoreError::Tls(_)), "{err:?}");
        assert!(!err.is_transient());

        let refused = redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        assert!(RedisStoreError::on_connect(refused).is_transient());
    }
}
