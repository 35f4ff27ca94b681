//! Names of things: queues, jobs and lock tokens, and the rules for valid ones.
//!
//! Job ids follow BullMQ's rules so that a queue can be shared with Node: automatic ids are
//! decimal numbers from a per-queue counter, so a custom id may not look like one (it could
//! collide with a future automatic id), may not contain `:` (it would be read as a key
//! separator) and may not be one of the queue's own key suffixes (`wait`, `meta`, ...).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The default key prefix; `bull` so that Node BullMQ tools find the queues.
pub const DEFAULT_PREFIX: &str = "bull";

/// Key suffixes a queue uses for itself; a custom job id equal to one would collide.
const RESERVED_JOB_IDS: &[&str] = &[
    "wait",
    "paused",
    "active",
    "prioritized",
    "pc",
    "delayed",
    "waiting-children",
    "completed",
    "failed",
    "stalled",
    "stalled-check",
    "meta",
    "events",
    "id",
    "marker",
    "limiter",
    "repeat",
    "de",
    "dn",
    "metrics",
    "delay",
    "priority",
];

/// A queue: its key prefix and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueRef {
    pub prefix: String,
    pub name: String,
}

impl QueueRef {
    /// A queue under the default prefix (`bull`).
    pub fn new(name: impl Into<String>) -> Result<Self> {
        Self::with_prefix(DEFAULT_PREFIX, name)
    }

    /// A queue under `prefix`. Neither part may be empty and the name may not contain `:`.
    pub fn with_prefix(prefix: impl Into<String>, name: impl Into<String>) -> Result<Self> {
        let (prefix, name) = (prefix.into(), name.into());
        if name.is_empty() {
            return Err(Error::invalid("queue name must not be empty"));
        }
        if name.contains(':') {
            return Err(Error::invalid(format!(
                "queue name {name:?} must not contain ':' (it separates key parts)"
            )));
        }
        if prefix.is_empty() {
            return Err(Error::invalid("queue prefix must not be empty"));
        }
        Ok(Self { prefix, name })
    }

    /// `prefix:name`, the root every key of the queue starts with.
    pub fn key(&self) -> String {
        format!("{}:{}", self.prefix, self.name)
    }
}

impl fmt::Display for QueueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.prefix, self.name)
    }
}

/// A job's id, unique within its queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl JobId {
    /// Checks a user-chosen id (see the module docs for the rules).
    pub fn custom(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        validate_custom_id(&id)?;
        Ok(JobId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JobId {
    fn from(s: &str) -> Self {
        JobId(s.to_owned())
    }
}

impl From<String> for JobId {
    fn from(s: String) -> Self {
        JobId(s)
    }
}

fn validate_custom_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("job id must not be empty"));
    }
    if id.len() > 512 {
        return Err(Error::invalid("job id must be at most 512 bytes"));
    }
    if looks_like_automatic_id(id) {
        return Err(Error::invalid(format!(
            "job id {id:?} is an integer and could collide with an automatic id; use a non-numeric id"
        )));
    }
    if id.contains(':') {
        return Err(Error::invalid(format!(
            "job id {id:?} must not contain ':' (it separates key parts)"
        )));
    }
    if RESERVED_JOB_IDS.contains(&id) {
        return Err(Error::invalid(format!(
            "job id {id:?} is reserved for the queue's own keys"
        )));
    }
    Ok(())
}

/// BullMQ's test: `String(parseInt(id, 10)) === id`, i.e. a canonical decimal integer.
fn looks_like_automatic_id(id: &str) -> bool {
    let digits = id.strip_prefix('-').unwrap_or(id);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

/// Proves that a worker holds a job: every write a worker makes carries it, and the store
/// refuses the write when the job's lock holds another token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LockToken(pub String);

impl LockToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_that_could_collide_are_rejected() {
        for bad in ["", "1", "42", "-5", "0", "wait", "meta", "a:b"] {
            assert!(JobId::custom(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in ["order-1", "0123", "abc", "1.5", "user_7"] {
            assert!(JobId::custom(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn queue_names_with_colons_are_rejected() {
        assert!(QueueRef::new("a:b").is_err());
        assert!(QueueRef::new("").is_err());
        assert_eq!(
            QueueRef::new("emails").map(|q| q.key()).ok(),
            Some("bull:emails".to_owned())
        );
    }
}
