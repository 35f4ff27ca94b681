//! `jobs_count`: one atomic pipeline of `LLEN`/`ZCARD`. Waiting counts the legacy 5.x `paused`
//! list too (BullMQ 6 hides those jobs; oxq shows them, since its fetch runs them), and the
//! runnable jobs of oxq's job groups (read in a second step when a group has any, see
//! [`super::groups`]); delayed counts the delayed group jobs.

use oxq_core::{JobCounts, QueueRef};

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};
use crate::ops::groups;

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
    pipe.cmd("ZCARD").arg(groups::delayed_key(queue));
    pipe.cmd("EXISTS").arg(groups::ring_key(queue));
    let counts: Vec<u64> = pipe.query_async(&mut backend.conn()).await?;
    let &[
        wait,
        paused,
        prioritized,
        delayed,
        active,
        waiting_children,
        completed,
        failed,
        group_delayed,
        has_groups,
    ] = counts.as_slice()
    else {
        return Err(RedisStoreError::reply(
            "jobs_count",
            format!("10 counts expected, got {}", counts.len()),
        ));
    };
    let group_waiting = if has_groups > 0 {
        groups::runnable_count(backend, queue).await?
    } else {
        0
    };
    Ok(JobCounts {
        waiting: wait + paused + group_waiting,
        prioritized,
        delayed: delayed + group_delayed,
        active,
        waiting_children,
        completed,
        failed,
    })
}
