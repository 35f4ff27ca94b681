//! [`FetchNote`]: what fetching a job read from its hash that completing it needs again. It
//! rides with the fetched job as its [`StoreMemo`] and comes back with the job's finish, so the
//! finish script need not read the hash a second time.
//!
//! The note is the job's attempts made once the current attempt ends, which cannot change while
//! the job is active under the fetching lock (it moves only when an attempt ends, and each fetch
//! takes a lock token of its own). Only plain jobs get one: a job with a parent (a Node flow), a
//! dedup id or a group needs more of its hash at completion, and the script reads it. A finish
//! without a note (another process fetched the job, or the memo is of another store) only costs
//! the script its read.

use std::collections::HashMap;

use oxq_core::backend::StoreMemo;

use crate::wire::fields;

/// What a completion needs from a job hash, as read when the job was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchNote {
    /// Attempts made once the current attempt ends, as decimal text (the finish script writes
    /// it to `atm` as it is).
    pub attempts_after: String,
}

impl FetchNote {
    /// The note for a job fetched with these hash fields; `None` when the job has a parent or a
    /// dedup id, or its `atm` field is not a plain count (the script then reads and interprets
    /// the hash itself).
    pub(crate) fn from_hash(hash: &HashMap<String, String>) -> Option<Self> {
        if hash.contains_key(fields::PARENT_KEY)
            || hash.contains_key(fields::DEDUP_ID)
            || hash.contains_key(fields::GROUP)
        {
            return None;
        }
        let made = match hash.get(fields::ATTEMPTS_MADE) {
            None => 0,
            Some(text) => text.parse::<u64>().ok()?,
        };
        Some(Self {
            attempts_after: made.checked_add(1)?.to_string(),
        })
    }

    /// The memo a fetched job carries: this note, or none.
    pub(crate) fn memo(hash: &HashMap<String, String>) -> StoreMemo {
        Self::from_hash(hash).map_or_else(StoreMemo::none, StoreMemo::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_plain_jobs_get_a_note() {
        let fresh = FetchNote::from_hash(&hash(&[("name", "n")])).expect("note");
        assert_eq!(fresh.attempts_after, "1");
        let retried = FetchNote::from_hash(&hash(&[("atm", "2")])).expect("note");
        assert_eq!(retried.attempts_after, "3");

        assert_eq!(
            FetchNote::from_hash(&hash(&[("parentKey", "bull:p:1")])),
            None
        );
        assert_eq!(FetchNote::from_hash(&hash(&[("deid", "d")])), None);
        assert_eq!(FetchNote::from_hash(&hash(&[("atm", "x")])), None);
        let most = u64::MAX.to_string();
        assert_eq!(FetchNote::from_hash(&hash(&[("atm", &most)])), None);
    }

    #[test]
    fn the_memo_carries_the_note_or_nothing() {
        let memo = FetchNote::memo(&hash(&[("atm", "4")]));
        assert_eq!(
            memo.get::<FetchNote>().map(|n| n.attempts_after.as_str()),
            Some("5")
        );
        assert_eq!(
            FetchNote::memo(&hash(&[("deid", "d")])).get::<FetchNote>(),
            None
        );
        assert_eq!(
            StoreMemo::new(5_u64).get::<FetchNote>(),
            None,
            "a foreign memo"
        );
    }
}
