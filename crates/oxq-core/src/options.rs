//! Per-job options ([`JobOptions`]) and their validation.
//!
//! Options are checked when a job is added, before anything is written, and every rejection
//! names the offending option. The serde form here is oxq's own (the embedded store keeps it
//! as JSON); the Redis store translates to BullMQ's `opts` encoding in one module of its own.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::deduplication::Deduplication;
use crate::error::{Error, Result};
use crate::flow::ParentLink;
use crate::ids::JobId;

/// Highest priority number BullMQ accepts (`2^21 - 1`); 1 is the most urgent, 0 means none.
pub const MAX_PRIORITY: u32 = 2_097_151;

/// How many finished jobs to keep (per queue and final state) when a job completes or fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KeepJobs {
    /// Keep every finished job (the default).
    #[default]
    All,
    /// Remove the job as soon as it finishes.
    None,
    /// Keep only the newest `n` finished jobs.
    Count(u32),
    /// Keep jobs that finished less than `max_age` ago, and at most `count` of them if set.
    Age {
        #[serde(with = "duration_ms")]
        max_age: Duration,
        count: Option<u32>,
    },
}

/// Options for one job. Build with the chained setters:
///
/// ```
/// # use std::time::Duration;
/// # use oxq_core::{JobOptions, Backoff};
/// let opts = JobOptions::new()
///     .attempts(5)
///     .backoff(Backoff::exponential(Duration::from_secs(1)))
///     .priority(3);
/// assert!(opts.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct JobOptions {
    /// A custom id; adding a job whose id exists returns the existing job and changes nothing.
    pub job_id: Option<JobId>,
    /// Run no earlier than this long after the add.
    #[serde(with = "duration_ms_opt")]
    pub delay: Option<Duration>,
    /// 0 (the default) runs before any prioritized job; otherwise 1 (most urgent) ..= [`MAX_PRIORITY`].
    pub priority: u32,
    /// Run this job before the jobs already waiting.
    pub lifo: bool,
    /// Total attempts, the first one included (default 1: no retry).
    pub attempts: u32,
    /// Delay between attempts; none means retry at once.
    pub backoff: Option<Backoff>,
    /// Fail an attempt that runs longer than this.
    #[serde(with = "duration_ms_opt")]
    pub timeout: Option<Duration>,
    /// Retention once completed; `None` uses the worker's setting.
    pub remove_on_complete: Option<KeepJobs>,
    /// Retention once failed for good; `None` uses the worker's setting.
    pub remove_on_fail: Option<KeepJobs>,
    /// The job this one is a child of: the parent waits for it (see [`crate::flow`]). The
    /// parent must exist when the child is added.
    pub parent: Option<ParentLink>,
    /// Deduplicate this add against others with the same id (see [`crate::deduplication`]).
    pub deduplication: Option<Deduplication>,
    /// The group (tenant) the job belongs to: workers take group jobs round-robin across
    /// groups, under per-group limits (see [`crate::backend::Groups`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            job_id: None,
            delay: None,
            priority: 0,
            lifo: false,
            attempts: 1,
            backoff: None,
            timeout: None,
            remove_on_complete: None,
            remove_on_fail: None,
            parent: None,
            deduplication: None,
            group: None,
        }
    }
}

impl JobOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a custom id. Invalid ids are reported by [`JobOptions::validate`] (and so by `add`).
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.job_id = Some(JobId(id.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = (!delay.is_zero()).then_some(delay);
        self
    }

    pub fn priority(mut self, priority: u32) -> Self {
        self.priority = priority;
        self
    }

    pub fn lifo(mut self, lifo: bool) -> Self {
        self.lifo = lifo;
        self
    }

    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub fn remove_on_complete(mut self, keep: KeepJobs) -> Self {
        self.remove_on_complete = Some(keep);
        self
    }

    pub fn remove_on_fail(mut self, keep: KeepJobs) -> Self {
        self.remove_on_fail = Some(keep);
        self
    }

    /// Makes the job a child of `parent`, which then cannot complete before it is done.
    pub fn parent(mut self, parent: ParentLink) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Deduplicates this add against others with the same deduplication id.
    pub fn deduplication(mut self, deduplication: Deduplication) -> Self {
        self.deduplication = Some(deduplication);
        self
    }

    /// Puts the job in group `key` (a tenant or customer id; see [`validate_group_key`]).
    pub fn group(mut self, key: impl Into<String>) -> Self {
        self.group = Some(key.into());
        self
    }

    /// Checks every option; the error names the first one that is wrong.
    pub fn validate(&self) -> Result<()> {
        if let Some(group) = &self.group {
            validate_group_key(group)?;
        }
        if let Some(id) = &self.job_id {
            JobId::custom(id.0.clone())?;
        }
        if self.priority > MAX_PRIORITY {
            return Err(Error::invalid(format!(
                "priority {} is out of range: use 0 (none) or 1 (most urgent) ..= {MAX_PRIORITY}",
                self.priority
            )));
        }
        if self.attempts == 0 {
            return Err(Error::invalid(
                "attempts must be at least 1 (the first attempt counts)",
            ));
        }
        if let Some(backoff) = &self.backoff {
            backoff.validate()?;
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid("timeout must be greater than zero"));
        }
        if let Some(delay) = self.delay
            && delay.as_millis() > u128::from(u64::MAX / 4096)
        {
            return Err(Error::invalid("delay is too large"));
        }
        if let Some(dedup) = &self.deduplication {
            if self.parent.is_some() {
                return Err(Error::invalid(
                    "deduplication and parent cannot be used together (as in BullMQ)",
                ));
            }
            dedup.validate(self.delay.is_some())?;
        }
        Ok(())
    }
}

/// The longest group key, in bytes.
pub const MAX_GROUP_KEY_LEN: usize = 128;

/// Refuses a group key that is empty, longer than [`MAX_GROUP_KEY_LEN`] bytes, or holds a
/// character that would break a store's keys (`:`, whitespace, control characters).
pub fn validate_group_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("a group key cannot be empty"));
    }
    if key.len() > MAX_GROUP_KEY_LEN {
        return Err(Error::invalid(format!(
            "a group key is at most {MAX_GROUP_KEY_LEN} bytes (got {})",
            key.len()
        )));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| *c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "a group key cannot hold {bad:?} (no ':', whitespace or control characters)"
        )));
    }
    Ok(())
}

/// Serde for a [`Duration`] as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Serde for an optional [`Duration`] as whole milliseconds.
pub(crate) mod duration_ms_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_options_with_a_named_reason() {
        let err = JobOptions::new().priority(MAX_PRIORITY + 1).validate();
        assert!(matches!(err, Err(Error::InvalidOptions(m)) if m.contains("priority")));
        let err = JobOptions::new().attempts(0).validate();
        assert!(matches!(err, Err(Error::InvalidOptions(m)) if m.contains("attempts")));
        let err = JobOptions::new().job_id("17").validate();
        assert!(matches!(err, Err(Error::InvalidOptions(m)) if m.contains("17")));
    }

    #[test]
    fn options_round_trip_through_json() {
        let opts = JobOptions::new()
            .job_id("a")
            .delay(Duration::from_millis(1500))
            .attempts(3)
            .backoff(Backoff::exponential(Duration::from_millis(100)).with_jitter(0.5))
            .remove_on_complete(KeepJobs::Age {
                max_age: Duration::from_secs(60),
                count: Some(10),
            });
        let json = serde_json::to_string(&opts).expect("encode");
        let back: JobOptions = serde_json::from_str(&json).expect("decode");
        assert_eq!(back, opts);
    }
}
