//! Key names: every key of a queue is `prefix:name:suffix` (BullMQ's layout), so a hash tag in
//! the prefix (`{jobs}`) or the name puts a whole queue in one Redis Cluster slot.

use oxq_core::QueueRef;

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
    pub(crate) fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base)
    }

    /// A job's hash: `prefix:name:id`.
    pub(crate) fn job(&self, id: &str) -> String {
        format!("{}{id}", self.base)
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
        assert_eq!(q.key("wait"), "bull:emails:wait");
        assert_eq!(q.job("42"), "bull:emails:42");
        assert_eq!(q.base(), "bull:emails:");
        let tagged = QueueKeys::new(&QueueRef::with_prefix("{t}", "a*b").expect("queue"));
        assert_eq!(tagged.key("meta"), "{t}:a*b:meta");
        assert_eq!(tagged.scan_pattern(), "{t}:a\\*b:*");
    }
}
