//! `jobs_count`: one atomic pipeline of `LLEN`/`ZCARD`. Waiting counts the legacy 5.x `paused`
//! list too (BullMQ 6 hides those jobs; oxq shows them, since its fetch runs them).

use oxq_core::{JobCounts, QueueRef};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};

pub(crate) async fn counts(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<JobCounts> {
    let k = QueueKeys::new(queue);
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (cmd, key) in [
        ("LLEN", Key::Wait),
        ("LLEN", Key::Paused),
        ("ZCARD", Key::Prioritized),
        ("ZCARD", Key::Delayed),
        ("LLEN", Key::Active),
        ("ZCARD", Key::WaitingChildren),
        ("ZCARD", Key::Completed),
        ("ZCARD", Key::Failed),
    ] {
        pipe.cmd(cmd).arg(k.key(key));
    }
    let (wait, paused, prioritized, delayed, active, waiting_children, completed, failed): (
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
        u64,
    ) = pipe.query_async(&mut backend.conn()).await?;
    Ok(JobCounts {
        waiting: wait + paused,
        prioritized,
        delayed,
        active,
        waiting_children,
        completed,
        failed,
    })
}
