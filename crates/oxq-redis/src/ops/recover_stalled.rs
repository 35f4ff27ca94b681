//! `stalled_recover` ↔ `scripts/recover_stalled.lua`: one pass over `active` recovers every job
//! whose lock key is gone, or for a group job whose heartbeat is gone (its lock has no expiry,
//! so that Node's checker never moves it; see `HEARTBEAT` in `scripts/include/common.lua`).
//! Why that is safe beside Node BullMQ workers, whose own two-check protocol it leaves alone,
//! is argued in the script's header. The check runs at most once
//! per `interval` per queue among oxq processes, gated by oxq's own key
//! ([`Key::OxqStalledCheck`]) so that Node's gate and oxq's do not hold each other back.

use oxq_core::JobId;
use oxq_core::backend::{RecoverStalled, RecoveredStalled};
use oxq_core::clock::millis;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct RecoverCall {
    pub now: u64,
    pub max_stalled_count: u32,
    /// The gate's expiry: no other oxq check of the queue runs before it.
    pub interval_ms: u64,
}

impl ScriptCall for RecoverCall {
    const NAME: &'static str = "recover_stalled";
    const KEYS: &'static [Key] = &[
        Key::OxqStalledCheck,
        Key::Active,
        Key::Wait,
        Key::Meta,
        Key::Events,
        Key::Marker,
        Key::Repeat,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now)
            .arg(self.max_stalled_count)
            .arg(self.interval_ms);
    }
}

pub(crate) async fn recover(
    backend: &RedisBackend,
    req: RecoverStalled,
) -> StoreResult<RecoveredStalled> {
    let call = RecoverCall {
        now: req.now,
        max_stalled_count: req.max_stalled_count,
        interval_ms: millis(req.interval).max(1),
    };
    let ids = reply::array(backend.run(&req.queue, &call).await?, "recover_stalled")?;
    let job_ids = ids
        .iter()
        .map(|v| reply::string(v, "recover_stalled").map(JobId))
        .collect::<StoreResult<_>>()?;
    Ok(RecoveredStalled { job_ids })
}
