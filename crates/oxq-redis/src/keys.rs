//! Key names, in one place: [`Key`] names every queue-level key BullMQ's layout has, and
//! [`QueueKeys`] turns it (or a job id) into the full Redis key `prefix:name:<suffix>`.
//!
//! A hash tag in the prefix (`{jobs}`) or the name puts a whole queue in one Redis Cluster
//! slot. The scripts name their keys by the same suffixes (`k.wait`, `k['stalled-check']`, see
//! `scripts/include/common.lua`), and each [`ScriptCall::KEYS`](crate::scripts::ScriptCall::KEYS)
//! is a list of [`Key`]s, checked against the script's header by a test.

use oxq_core::{JobState, QueueRef};

/// A queue-level key of BullMQ's layout (`bullmq-v5-model.md` §1.2), or oxq's one key of its
/// own ([`Key::OxqStalledCheck`]), by its suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// Counter of automatic job ids.
    Id,
    /// Waiting jobs (list; the next to run at the right).
    Wait,
    /// Waiting jobs of a queue paused by BullMQ 5.x (list, read as waiting).
    Paused,
    Active,
    Prioritized,
    /// Counter giving prioritized jobs their FIFO tie-breaker.
    PriorityCounter,
    Delayed,
    Completed,
    Failed,
    WaitingChildren,
    /// Ids suspected of stalling since the last check.
    Stalled,
    /// Present while a stalled check is not due.
    StalledCheck,
    /// oxq's own gate for its one-pass stalled check (not BullMQ's; see
    /// `scripts/recover_stalled.lua`): present while that check is not due.
    OxqStalledCheck,
    Meta,
    /// oxq's index of the dead jobs a dead letter queue holds (zset by the time each died; see
    /// `scripts/include/dead_letter.lua`), which Node ignores.
    OxqDead,
    Events,
    /// Wake-up markers for blocked workers.
    Marker,
    /// Rate-limit counter.
    Limiter,
    /// Job schedulers (BullMQ's `repeat` zset).
    Repeat,
    /// Leftovers of old BullMQ versions, deleted by obliterate.
    LegacyDelay,
    LegacyPriority,
    MetricsCompleted,
    MetricsCompletedData,
    MetricsFailed,
    MetricsFailedData,
}

impl Key {
    /// The key's suffix after `prefix:name:`, as BullMQ spells it.
    pub(crate) const fn as_suffix(self) -> &'static str {
        match self {
            Key::Id => "id",
            Key::Wait => "wait",
            Key::Paused => "paused",
            Key::Active => "active",
            Key::Prioritized => "prioritized",
            Key::PriorityCounter => "pc",
            Key::Delayed => "delayed",
            Key::Completed => "completed",
            Key::Failed => "failed",
            Key::WaitingChildren => "waiting-children",
            Key::Stalled => "stalled",
            Key::StalledCheck => "stalled-check",
            Key::OxqStalledCheck => "stalled-check:oxq",
            Key::Meta => "meta",
            Key::OxqDead => "oxq:dead",
            Key::Events => "events",
            Key::Marker => "marker",
            Key::Limiter => "limiter",
            Key::Repeat => "repeat",
            Key::LegacyDelay => "delay",
            Key::LegacyPriority => "priority",
            Key::MetricsCompleted => "metrics:completed",
            Key::MetricsCompletedData => "metrics:completed:data",
            Key::MetricsFailed => "metrics:failed",
            Key::MetricsFailedData => "metrics:failed:data",
        }
    }

    /// The key that holds jobs in `state` (waiting jobs may also sit in the legacy
    /// [`Key::Paused`] list).
    pub(crate) const fn holding(state: JobState) -> Key {
        match state {
            JobState::Waiting => Key::Wait,
            JobState::Prioritized => Key::Prioritized,
            JobState::Delayed => Key::Delayed,
            JobState::Active => Key::Active,
            JobState::WaitingChildren => Key::WaitingChildren,
            JobState::Completed => Key::Completed,
            JobState::Failed => Key::Failed,
        }
    }

    /// The state of a job found in the key with `suffix` (as scripts and events report it;
    /// `waiting` is how events spell it); `None` for keys that hold no jobs.
    pub(crate) fn state_of_suffix(suffix: &str) -> Option<JobState> {
        Some(match suffix {
            "wait" | "paused" | "waiting" => JobState::Waiting,
            "prioritized" => JobState::Prioritized,
            "delayed" => JobState::Delayed,
            "active" => JobState::Active,
            "waiting-children" => JobState::WaitingChildren,
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// The keys of one queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueKeys {
    /// `prefix:name:`
    base: String,
}

impl QueueKeys {
    pub(crate) fn new(queue: &QueueRef) -> Self {
        Self {
            base: format!("{}:{}:", queue.prefix, queue.name),
        }
    }

    /// `prefix:name:`, the start of every key of the queue (scripts get it as `ARGV[1]`).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// A queue-level key: `prefix:name:suffix`.
    pub(crate) fn key(&self, key: Key) -> String {
        format!("{}{}", self.base, key.as_suffix())
    }

    /// A job's hash: `prefix:name:id`.
    pub(crate) fn job(&self, id: &str) -> String {
        format!("{}{id}", self.base)
    }

    /// A job's log list: `prefix:name:id:logs`.
    pub(crate) fn job_logs(&self, id: &str) -> String {
        format!("{}:logs", self.job(id))
    }

    /// A SCAN pattern matching every key of the queue (glob characters escaped).
    pub(crate) fn scan_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.base.len() + 1);
        for c in self.base.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_bullmq_layout() {
        let q = QueueKeys::new(&QueueRef::new("emails").expect("queue"));
        assert_eq!(q.key(Key::Wait), "bull:emails:wait");
        assert_eq!(q.key(Key::StalledCheck), "bull:emails:stalled-check");
        assert_eq!(q.job("42"), "bull:emails:42");
        assert_eq!(q.job_logs("42"), "bull:emails:42:logs");
        assert_eq!(q.base(), "bull:emails:");
        let tagged = QueueKeys::new(&QueueRef::with_prefix("{t}", "a*b").expect("queue"));
        assert_eq!(tagged.key(Key::Meta), "{t}:a*b:meta");
        assert_eq!(tagged.scan_pattern(), "{t}:a\\*b:*");
    }

    #[test]
    fn every_state_has_its_key_and_back() {
        for state in [
            JobState::Waiting,
            JobState::Prioritized,
            JobState::Delayed,
            JobState::Active,
            JobState::WaitingChildren,
            JobState::Completed,
            JobState::Failed,
        ] {
            let key = Key::holding(state);
            assert_eq!(Key::state_of_suffix(key.as_suffix()), Some(state));
        }
        assert_eq!(Key::state_of_suffix("paused"), Some(JobState::Waiting));
        assert_eq!(Key::state_of_suffix("meta"), None);
    }
}
