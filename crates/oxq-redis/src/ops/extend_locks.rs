//! `locks_extend` ↔ `scripts/extend_locks.lua`: every held lock in one call, answering the
//! lost ones and, apart, the cancelled ones (see `ops/cancel.rs`). A group job's heartbeat is
//! renewed in place of its lock, which has no expiry (see the script's header).

use oxq_core::backend::{ExtendLocks, ExtendedLocks};
use oxq_core::clock::millis;
use oxq_core::{JobId, LockToken};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct ExtendCall<'a> {
    pub duration_ms: u64,
    pub locks: &'a [(JobId, LockToken)],
}

impl ScriptCall for ExtendCall<'_> {
    const NAME: &'static str = "extend_locks";
    const KEYS: &'static [Key] = &[Key::Active, Key::Stalled];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.duration_ms).arg(self.locks.len());
        for (id, token) in self.locks {
            inv.arg(id.as_str()).arg(token.as_str());
        }
    }
}

pub(crate) async fn extend(backend: &RedisBackend, req: ExtendLocks) -> StoreResult<ExtendedLocks> {
    if req.locks.is_empty() {
        return Ok(ExtendedLocks::default());
    }
    let call = ExtendCall {
        duration_ms: millis(req.duration).max(1),
        locks: &req.locks,
    };
    let answer = reply::array(backend.run(&req.queue, &call).await?, "extend_locks")?;
    let [lost, cancelled] = <[redis::Value; 2]>::try_from(answer).map_err(|parts| {
        crate::error::RedisStoreError::reply("extend_locks", format!("{parts:?}"))
    })?;
    Ok(ExtendedLocks {
        lost: ids(lost)?,
        cancelled: ids(cancelled)?,
    })
}

fn ids(value: redis::Value) -> StoreResult<Vec<JobId>> {
    reply::array(value, "extend_locks")?
        .iter()
        .map(|v| reply::string(v, "extend_locks").map(JobId))
        .collect()
}
