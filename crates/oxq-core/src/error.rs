//! The one error type of oxq's core, shared by every store.
//!
//! Stores map their own failures (SQLite busy, a Redis connection reset, ...) onto these
//! variants so that the runtime can decide "wait and resume" or "fail fast" from the type
//! ([`Error::is_transient`]), never from message text. [`Error::is_permanent`] marks the store
//! failures retrying alone will not mend: the worker still retries them (an operator may fix
//! the cause), but says so at `ERROR` and can be told to stop after several in a row.

use std::time::Duration;

/// Any underlying error kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in oxq.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job option or argument was rejected before anything was written.
    #[error("invalid job options: {0}")]
    InvalidOptions(String),

    /// A job scheduler's schedule or id was rejected at upsert; nothing was written.
    #[error("invalid job scheduler: {0}")]
    InvalidSchedule(String),

    /// A payload is larger than the queue's configured limit; nothing was written.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },

    /// The job data could not be serialized to JSON when adding it.
    #[error("cannot encode job data as JSON: {0}")]
    Encode(#[source] serde_json::Error),

    /// Stored job data could not be decoded into the requested Rust type.
    #[error("cannot decode job {job_id} data: {source}")]
    Decode {
        job_id: String,
        #[source]
        source: serde_json::Error,
    },

    /// A connection URL was malformed or names a store that is not compiled in.
    #[error("invalid connection url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The named job does not exist.
    #[error("job {0} not found")]
    JobNotFound(String),

    /// The job is not in the state the operation requires.
    #[error("job {job_id} is not {expected}")]
    JobNotInState {
        job_id: String,
        expected: &'static str,
    },

    /// The caller's lock on a job is gone or belongs to someone else: another worker may be
    /// running it. The write was not applied.
    #[error("lock for job {0} is missing or held by another worker")]
    LockLost(String),

    /// The operation is not allowed in the queue's current condition (e.g. obliterate with active jobs).
    #[error("{0}")]
    Conflict(String),

    /// A child's parent (`prefix:queue:id`) does not exist; nothing was written.
    #[error(
        "parent job {parent} not found; add the parent first (or the whole tree with a FlowProducer)"
    )]
    ParentNotFound { parent: String },

    /// A parent cannot complete while children it waits for are unfinished (return
    /// `Outcome::WaitForChildren` to wait for them). The attempt fails.
    #[error("job {job_id} cannot complete: {pending} of its children are not finished")]
    PendingDependencies { job_id: String, pending: u64 },

    /// A parent cannot complete: a child whose failure fails its parent failed.
    #[error("job {job_id} cannot complete: child {child} failed")]
    FailedDependency { job_id: String, child: String },

    /// The store cannot be reached or timed out; retrying later may succeed.
    #[error("store unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
        #[source]
        source: Option<BoxError>,
    },

    /// The store is reachable but refuses to work until an operator acts: a read-only database
    /// file or Redis replica, a full disk, a server out of memory, missing permissions, refused
    /// credentials. `action` says what to do about it.
    #[error("the store refuses the call: {message}; {action}")]
    Refused {
        message: String,
        action: &'static str,
        #[source]
        source: Option<BoxError>,
    },

    /// The store failed in a way retrying will not mend (a bug, corrupted data), or the runtime
    /// around it did (a signal handler that cannot be installed).
    #[error("store error: {message}")]
    Store {
        message: String,
        #[source]
        source: Option<BoxError>,
    },

    /// The store does not support this operation.
    #[error("{store} store does not support {operation}")]
    Unsupported {
        store: &'static str,
        operation: &'static str,
    },

    /// The worker or queue was closed.
    #[error("closed")]
    Closed,
}

impl Error {
    /// True when the same call may succeed later (connection lost, database busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }

    /// True when the store failed in a way the same call will keep failing until someone acts
    /// ([`Error::Refused`], [`Error::Store`], or a store that was [`Error::Closed`]). Answers
    /// about one job or one request (not found, lock lost, invalid options) are neither
    /// transient nor permanent.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Error::Refused { .. } | Error::Store { .. } | Error::Closed
        )
    }

    /// An [`Error::Refused`] caused by `source`, with what an operator should do.
    pub fn refused(
        message: impl Into<String>,
        action: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Refused {
            message: message.into(),
            action,
            source: Some(source.into()),
        }
    }

    /// An [`Error::Store`] with no underlying error.
    pub fn store(message: impl Into<String>) -> Self {
        Error::Store {
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::Store`] caused by `source`, kept as the error's source.
    pub fn store_caused(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Store {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An [`Error::Unavailable`] caused by `source` (which may be `None`).
    pub fn unavailable(
        message: impl Into<String>,
        retry_after: Option<Duration>,
        source: Option<BoxError>,
    ) -> Self {
        Error::Unavailable {
            message: message.into(),
            retry_after,
            source,
        }
    }

    /// This error with `target` (where the store is, e.g. `redis at 127.0.0.1:6379` or
    /// `the sqlite file /var/lib/q.db`) leading its message, when it is a failure of the store
    /// itself ([`Error::Unavailable`], [`Error::Refused`], [`Error::Store`]) whose message does
    /// not name it yet. Every other error is about a job or a request and is returned as it
    /// is. Stores apply it to every error they answer, so an operator reading a log line or an
    /// exit message knows which server or file failed; `target` must hold no secret.
    pub fn at_target(mut self, target: &str) -> Self {
        if let Error::Unavailable { message, .. }
        | Error::Refused { message, .. }
        | Error::Store { message, .. } = &mut self
            && !message.contains(target)
        {
            *message = format!("{target}: {message}");
        }
        self
    }

    /// Shorthand for an [`Error::InvalidOptions`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidOptions(message.into())
    }
}

/// `Result` with oxq's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_names_its_target_once_and_other_errors_stay_as_they_are() {
        let target = "redis at 127.0.0.1:6390";
        let down = Error::unavailable("connection refused", None, None).at_target(target);
        assert_eq!(
            down.to_string(),
            "store unavailable: redis at 127.0.0.1:6390: connection refused"
        );
        assert!(down.is_transient());
        let again = down.at_target(target);
        assert_eq!(again.to_string().matches(target).count(), 1, "{again}");

        let refused =
            Error::refused("READONLY no writes", "use the primary", "READONLY").at_target(target);
        assert!(refused.is_permanent());
        assert_eq!(
            refused.to_string(),
            "the store refuses the call: redis at 127.0.0.1:6390: READONLY no writes; use the primary"
        );
        let broken = Error::store("bad reply").at_target(target);
        assert!(broken.to_string().contains(target), "{broken}");

        let not_found = Error::JobNotFound("7".into()).at_target(target);
        assert_eq!(not_found.to_string(), "job 7 not found");
        let lost = Error::LockLost("7".into()).at_target(target);
        assert!(!lost.to_string().contains(target), "{lost}");
    }
}
