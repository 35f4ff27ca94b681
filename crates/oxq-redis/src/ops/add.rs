//! `job_add_bulk` ↔ `scripts/add.lua`: jobs go out in batches of `add_batch` per script call,
//! each batch atomic, in order.

use oxq_core::JobId;
use oxq_core::backend::{AddJobs, AddedJob, NewJob};
use oxq_core::clock::millis;
use redis::ScriptInvocation;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::reply;
use crate::scripts::ScriptCall;
use crate::wire;

pub(crate) struct AddCall<'a> {
    pub now: u64,
    pub jobs: &'a [NewJob],
}

impl ScriptCall for AddCall<'_> {
    const NAME: &'static str = "add";
    const KEYS: &'static [&'static str] = &[
        "id",
        "wait",
        "active",
        "prioritized",
        "pc",
        "delayed",
        "meta",
        "events",
        "marker",
    ];

    fn args(&self, inv: &mut ScriptInvocation<'_>) {
        inv.arg(self.now).arg(self.jobs.len());
        for job in self.jobs {
            let o = &job.options;
            inv.arg(o.job_id.as_ref().map_or("", |id| id.as_str()))
                .arg(&job.name)
                .arg(&job.data)
                .arg(wire::encode_opts(o))
                .arg(o.delay.map_or(0, millis))
                .arg(o.priority)
                .arg(if o.lifo { "1" } else { "0" });
        }
    }
}

pub(crate) async fn add(backend: &RedisBackend, req: AddJobs) -> StoreResult<Vec<AddedJob>> {
    let mut added = Vec::with_capacity(req.jobs.len());
    for batch in req.jobs.chunks(backend.options.add_batch.max(1)) {
        let call = AddCall {
            now: req.now,
            jobs: batch,
        };
        let items = reply::array(backend.run(&req.queue, &call).await?, "add")?;
        if items.len() != batch.len() * 2 {
            return Err(RedisStoreError::reply("add", "one answer per job expected"));
        }
        for pair in items.chunks(2) {
            added.push(AddedJob {
                id: JobId(reply::string(&pair[0], "add")?),
                duplicate: reply::int(&pair[1], "add")? == 1,
            });
        }
    }
    Ok(added)
}
