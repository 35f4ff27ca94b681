//! `queue_drain` ↔ `scripts/drain.lua`.

use oxq_core::backend::{DrainQueue, DrainedJobs};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct DrainCall {
    pub include_delayed: bool,
}

impl ScriptCall for DrainCall {
    const NAME: &'static str = "drain";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Repeat,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(if self.include_delayed { "1" } else { "0" });
    }
}

pub(crate) async fn drain(backend: &RedisBackend, req: DrainQueue) -> StoreResult<DrainedJobs> {
    let call = DrainCall {
        include_delayed: req.include_delayed,
    };
    let n = reply::int(&backend.run(&req.queue, &call).await?, "drain")?;
    Ok(DrainedJobs {
        count: u64::try_from(n).unwrap_or(0),
    })
}
