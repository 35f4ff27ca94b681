//! `jobs_count` ↔ `scripts/job_counts.lua`: every state's count in one script call, so the
//! counts are of one moment, oxq's job groups included (a runnable group job counts as waiting,
//! or prioritized with a priority; a delayed one as delayed).

use oxq_core::{JobCounts, QueueRef};

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct CountsCall;

impl ScriptCall for CountsCall {
    const NAME: &'static str = "job_counts";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Prioritized,
        Key::Delayed,
        Key::Active,
        Key::WaitingChildren,
        Key::Completed,
        Key::Failed,
    ];

    fn args<A: Argv>(&self, _argv: &mut A) {}
}

pub(crate) async fn counts(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<JobCounts> {
    let items = reply::array(backend.run(queue, &CountsCall).await?, "job_counts")?;
    let counts = items
        .iter()
        .map(|item| {
            let n = reply::int(item, "job_counts")?;
            u64::try_from(n).map_err(|_| RedisStoreError::reply("job_counts", "negative count"))
        })
        .collect::<StoreResult<Vec<u64>>>()?;
    let &[
        waiting,
        prioritized,
        delayed,
        active,
        waiting_children,
        completed,
        failed,
    ] = counts.as_slice()
    else {
        return Err(RedisStoreError::reply(
            "job_counts",
            format!("7 counts expected, got {}", counts.len()),
        ));
    };
    Ok(JobCounts {
        waiting,
        prioritized,
        delayed,
        active,
        waiting_children,
        completed,
        failed,
    })
}
