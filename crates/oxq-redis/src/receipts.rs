//! Receipts: what fetching a job read from its hash that completing it needs again, kept by the
//! backend between the two calls so the finish script need not read the hash a second time.
//!
//! A receipt is the job's attempts made, which cannot change while the job is active under one
//! lock (it moves only when an attempt ends). Only plain jobs get one: a job with a parent (a
//! Node flow) or a dedup id needs more of its hash at completion, and the script reads it. A
//! receipt is used only by the lock token that took it, so a job lost to stalled recovery and
//! fetched again is never completed with stale figures. A missing receipt (another process
//! fetched the job, or the table was full) only costs the script its read, so the table is
//! bounded and never evicts: when it is full, new receipts are simply not kept.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::wire::field;

/// Receipts kept at most; far above what a process holds at once (its workers' concurrency).
const MAX_KEPT: usize = 100_000;

/// What a completion needs from a job hash, as read when the job was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    token: String,
    /// Attempts made once the current attempt ends, as decimal text.
    pub attempts_after: String,
}

impl Receipt {
    /// The receipt for a job fetched under `token`, from its hash; `None` when the job has a
    /// parent or a dedup id, or its `atm` field is not a plain count (the script then reads and
    /// interprets the hash itself).
    pub(crate) fn from_hash(token: &str, fields: &HashMap<String, String>) -> Option<Self> {
        if fields.contains_key(field::PARENT_KEY) || fields.contains_key(field::DEDUP_ID) {
            return None;
        }
        let made = match fields.get(field::ATTEMPTS_MADE) {
            None => 0,
            Some(text) => text.parse::<u64>().ok()?,
        };
        Some(Self {
            token: token.to_owned(),
            attempts_after: made.checked_add(1)?.to_string(),
        })
    }
}

/// Receipts by job key (`prefix:queue:id`).
#[derive(Debug, Default)]
pub(crate) struct Receipts {
    by_job_key: Mutex<HashMap<String, Receipt>>,
}

impl Receipts {
    /// Keeps `receipt` for the job at `job_key`, replacing an older one, unless the table is full.
    pub(crate) fn keep(&self, job_key: String, receipt: Receipt) {
        let mut held = self
            .by_job_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if held.len() < MAX_KEPT || held.contains_key(&job_key) {
            held.insert(job_key, receipt);
        }
    }

    /// Removes and returns the receipt for `job_key` if it was taken under `token`; a receipt
    /// of another token stays (it belongs to a later fetch of the same job).
    pub(crate) fn take(&self, job_key: &str, token: &str) -> Option<Receipt> {
        let mut held = self
            .by_job_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match held.get(job_key) {
            Some(receipt) if receipt.token == token => held.remove(job_key),
            _ => None,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_job_key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
    fn only_plain_jobs_get_a_receipt() {
        let fresh = Receipt::from_hash("t", &hash(&[("name", "n")])).expect("receipt");
        assert_eq!(fresh.attempts_after, "1");
        let retried = Receipt::from_hash("t", &hash(&[("atm", "2")])).expect("receipt");
        assert_eq!(retried.attempts_after, "3");

        assert_eq!(
            Receipt::from_hash("t", &hash(&[("parentKey", "bull:p:1")])),
            None
        );
        assert_eq!(Receipt::from_hash("t", &hash(&[("deid", "d")])), None);
        assert_eq!(Receipt::from_hash("t", &hash(&[("atm", "x")])), None);
        let most = u64::MAX.to_string();
        assert_eq!(Receipt::from_hash("t", &hash(&[("atm", &most)])), None);
    }

    #[test]
    fn only_the_fetching_token_takes_a_receipt() {
        let receipts = Receipts::default();
        let receipt = Receipt::from_hash("mine", &HashMap::new()).expect("receipt");
        receipts.keep("bull:q:1".into(), receipt.clone());
        assert_eq!(receipts.take("bull:q:1", "theirs"), None);
        assert_eq!(receipts.take("bull:q:1", "mine"), Some(receipt));
        assert_eq!(receipts.take("bull:q:1", "mine"), None, "taken once");
    }

    #[test]
    fn a_full_table_keeps_no_new_receipts() {
        let receipts = Receipts::default();
        let receipt = Receipt::from_hash("t", &HashMap::new()).expect("receipt");
        for i in 0..MAX_KEPT {
            receipts.keep(format!("k{i}"), receipt.clone());
        }
        receipts.keep("one more".into(), receipt.clone());
        assert_eq!(receipts.len(), MAX_KEPT);
        assert_eq!(receipts.take("one more", "t"), None);
        receipts.keep("k0".into(), receipt.clone());
        assert_eq!(
            receipts.take("k0", "t"),
            Some(receipt),
            "a held job is still replaced"
        );
    }
}
