//! Requests and answers of the [`Groups`](crate::backend::Groups) facet: pause and resume one
//! group, set or remove the per-group concurrency and rate limit (of one group or of every
//! group), and read one group's settings and counts.

use crate::ids::QueueRef;
use crate::options::validate_group_key;

use super::RateLimit;

/// Which groups a setting is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupTarget {
    /// Every group of the queue that has no setting of its own.
    Every,
    /// One group, by its key.
    One(String),
}

/// One change to the group settings of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupChange {
    /// Start no job of the group until it is resumed (one group only).
    Pause,
    Resume,
    /// At most this many jobs of the group active at once (at least 1).
    SetConcurrency(u32),
    RemoveConcurrency,
    /// At most `max` starts of the group per `duration`.
    SetRateLimit(RateLimit),
    RemoveRateLimit,
}

#[derive(Debug, Clone)]
pub struct ChangeGroup {
    pub queue: QueueRef,
    pub target: GroupTarget,
    pub change: GroupChange,
}

impl ChangeGroup {
    /// Refuses a bad group key, pausing every group (pause the queue instead), a concurrency
    /// of 0 and a rate limit [`RateLimit::validate`] refuses.
    pub fn validate(&self) -> crate::Result<()> {
        if let GroupTarget::One(key) = &self.target {
            validate_group_key(key)?;
        }
        match (&self.target, self.change) {
            (GroupTarget::Every, GroupChange::Pause | GroupChange::Resume) => {
                Err(crate::Error::invalid(
                    "pause or resume one group; to stop every group pause the queue",
                ))
            }
            (_, GroupChange::SetConcurrency(0)) => Err(crate::Error::invalid(
                "group concurrency must be at least 1 (pause the group to stop it)",
            )),
            (_, GroupChange::SetRateLimit(limit)) => limit.validate(),
            _ => Ok(()),
        }
    }
}

/// Reads one group at `now` (the caller's time, for `rate_limited_until`).
#[derive(Debug, Clone)]
pub struct GetGroup {
    pub queue: QueueRef,
    pub group: String,
    pub now: u64,
}

/// One group's settings in force (its own, else the ones for every group) and counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupInfo {
    pub paused: bool,
    pub concurrency: Option<u32>,
    pub rate_limit: Option<RateLimit>,
    /// No job of the group starts before this time (ms since the epoch).
    pub rate_limited_until: Option<u64>,
    /// Jobs of the group that are waiting (prioritized ones included).
    pub waiting: u64,
    pub active: u64,
    pub delayed: u64,
}

impl GroupInfo {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        paused: bool,
        concurrency: Option<u32>,
        rate_limit: Option<RateLimit>,
        rate_limited_until: Option<u64>,
        waiting: u64,
        active: u64,
        delayed: u64,
    ) -> Self {
        Self {
            paused,
            concurrency,
            rate_limit,
            rate_limited_until,
            waiting,
            active,
            delayed,
        }
    }
}
