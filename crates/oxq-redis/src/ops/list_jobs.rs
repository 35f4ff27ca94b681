//! `jobs_list` ↔ `scripts/list_jobs.lua` (one atomic page across states).

use oxq_core::backend::ListJobs;
use oxq_core::{JobRecord, JobState};

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct ListCall<'a> {
    pub req: &'a ListJobs,
}

impl ScriptCall for ListCall<'_> {
    const NAME: &'static str = "list_jobs";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        let r = self.req;
        inv.arg(r.offset)
            .arg(r.limit)
            .arg(if r.ascending { "1" } else { "0" });
        let mut seen: Vec<JobState> = Vec::new();
        for state in &r.states {
            if !seen.contains(state) {
                seen.push(*state);
                inv.arg(Key::holding(*state).as_suffix());
            }
        }
    }
}

pub(crate) async fn list(backend: &RedisBackend, req: ListJobs) -> StoreResult<Vec<JobRecord>> {
    if req.states.is_empty() || req.limit == 0 {
        return Ok(Vec::new());
    }
    let items = reply::array(
        backend.run(&req.queue, &ListCall { req: &req }).await?,
        "list_jobs",
    )?;
    let mut records = Vec::with_capacity(items.len() / 4);
    let mut iter = items.into_iter();
    while let (Some(id), Some(suffix), Some(score), Some(fields)) =
        (iter.next(), iter.next(), iter.next(), iter.next())
    {
        let id = reply::string(&id, "list_jobs")?;
        records.push(reply::job_record(
            &id,
            &suffix,
            &score,
            fields,
            "list_jobs",
        )?);
    }
    Ok(records)
}
