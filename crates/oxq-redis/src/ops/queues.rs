//! `queues_list`: queues under a prefix, found by `SCAN` for their `meta` and `id` keys (every
//! queue that ever held a job has `id`; Node's Queue writes `meta` on start).

use std::collections::BTreeSet;

use oxq_core::QueueRef;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};

pub(crate) async fn list(backend: &RedisBackend, prefix: &str) -> StoreResult<Vec<QueueRef>> {
    let mut conn = backend.conn();
    let mut names = BTreeSet::new();
    let escaped = QueueKeys::new(&QueueRef {
        prefix: prefix.to_owned(),
        name: String::new(),
    })
    .scan_pattern();
    // "prefix:" escaped, then "*"; drop the trailing ":*" of the empty name
    let root = escaped.trim_end_matches('*').trim_end_matches(':');
    for suffix in [Key::Meta.as_suffix(), Key::Id.as_suffix()] {
        let pattern = format!("{root}:*:{suffix}");
        let mut cursor: u64 = 0;
        loop {
            let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            for key in found {
                let name = key
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .and_then(|rest| rest.strip_suffix(suffix))
                    .and_then(|rest| rest.strip_suffix(':'));
                if let Some(name) = name
                    && !name.is_empty()
                    && !name.contains(':')
                {
                    names.insert(name.to_owned());
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(names
        .into_iter()
        .filter_map(|name| QueueRef::with_prefix(prefix, name).ok())
        .collect())
}
