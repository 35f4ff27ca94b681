//! `queue_obliterate` ↔ `scripts/obliterate.lua` (in steps of at most 1000 jobs per call), then
//! a `SCAN` sweep of whatever is left under `prefix:name:` (orphan hashes, dedup and scheduler
//! keys).

use oxq_core::Error;
use oxq_core::backend::ObliterateQueue;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

const BUDGET: u64 = 1000;

pub(crate) struct ObliterateCall {
    pub force: bool,
    pub budget: u64,
}

impl ScriptCall for ObliterateCall {
    const NAME: &'static str = "obliterate";
    const KEYS: &'static [Key] = &[
        Key::Active,
        Key::Delayed,
        Key::Completed,
        Key::Wait,
        Key::Paused,
        Key::Prioritized,
        Key::Failed,
        Key::WaitingChildren,
        Key::Repeat,
        Key::PriorityCounter,
        Key::Stalled,
        Key::StalledCheck,
        Key::Meta,
        Key::Events,
        Key::Id,
        Key::Marker,
        Key::Limiter,
        Key::LegacyDelay,
        Key::LegacyPriority,
        Key::MetricsCompleted,
        Key::MetricsCompletedData,
        Key::MetricsFailed,
        Key::MetricsFailedData,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(if self.force { "1" } else { "0" }).arg(self.budget);
    }
}

pub(crate) async fn obliterate(backend: &RedisBackend, req: ObliterateQueue) -> Result<(), Error> {
    loop {
        let call = ObliterateCall {
            force: req.force,
            budget: BUDGET,
        };
        match reply::int(&backend.run(&req.queue, &call).await?, "obliterate")? {
            0 => break,
            1 => continue,
            -2 => {
                return Err(Error::Conflict(format!(
                    "queue {} has active jobs; obliterate with force to delete it anyway",
                    req.queue
                )));
            }
            other => return Err(Error::store(format!("obliterate: unexpected code {other}"))),
        }
    }
    Ok(sweep(backend, &QueueKeys::new(&req.queue)).await?)
}

async fn sweep(backend: &RedisBackend, keys: &QueueKeys) -> StoreResult<()> {
    let mut conn = backend.conn();
    let pattern = keys.scan_pattern();
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
        if !found.is_empty() {
            let _: i64 = redis::cmd("UNLINK")
                .arg(&found)
                .query_async(&mut conn)
                .await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
