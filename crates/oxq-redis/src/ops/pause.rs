//! `queue_set_paused` ↔ `scripts/pause.lua` / `scripts/resume.lua` (BullMQ 6: pausing keeps
//! jobs in `wait`; resuming merges a legacy 5.x `paused` list in batches), and `queue_status`
//! (the `paused` field of `meta`).

use oxq_core::QueueRef;
use oxq_core::backend::{QueueStatus, SetPaused};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct PauseCall;

impl ScriptCall for PauseCall {
    const NAME: &'static str = "pause";
    const KEYS: &'static [Key] = &[Key::Meta, Key::Events, Key::Marker];

    fn args<A: Argv>(&self, _inv: &mut A) {}
}

pub(crate) struct ResumeCall {
    pub first: bool,
}

impl ScriptCall for ResumeCall {
    const NAME: &'static str = "resume";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(if self.first { "1" } else { "0" });
    }
}

/// Pauses or resumes (the scripts take their time from nothing: pause state has no timestamp).
pub(crate) async fn set_paused(backend: &RedisBackend, req: SetPaused) -> StoreResult<()> {
    if req.paused {
        pause(backend, &req.queue).await
    } else {
        resume(backend, &req.queue).await
    }
}

async fn pause(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<()> {
    backend.run(queue, &PauseCall).await?;
    Ok(())
}

async fn resume(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<()> {
    let mut first = true;
    loop {
        let left = reply::int(&backend.run(queue, &ResumeCall { first }).await?, "resume")?;
        if left <= 0 {
            return Ok(());
        }
        first = false;
    }
}

pub(crate) async fn status(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<QueueStatus> {
    let key = QueueKeys::new(queue).key(Key::Meta);
    let paused: bool = redis::cmd("HEXISTS")
        .arg(key)
        .arg("paused")
        .query_async(&mut backend.conn())
        .await?;
    Ok(QueueStatus::new(paused))
}
