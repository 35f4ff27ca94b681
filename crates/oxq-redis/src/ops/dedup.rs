//! The [`DedupIds`] facet on Redis, in BullMQ 6's layout (`bullmq-v5-model.md` §4.3): reading
//! and releasing `<prefix>:<queue>:de:<id>` ↔ `scripts/dedup_key.lua`.
//!
//! The rest of deduplication lives in the scripts of the core calls, with the helpers of
//! `scripts/include/dedup.lua`: the add decides (`add.lua`), a job that finishes releases its
//! id and brings in the job kept aside (`finish.lua`), a removal releases it
//! (`include/common.lua`, from `remove_job.lua`, `drain.lua`, `clean.lua` and subtrees).

use async_trait::async_trait;
use oxq_core::backend::{DedupIds, DeduplicationKey, RemoveDeduplicationKey};
use oxq_core::{JobId, Result};
use redis::Value;

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

/// What `dedup_key.lua` does with the id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DedupOp {
    Owner,
    Release,
}

pub(crate) struct DedupKeyCall<'a> {
    pub now: u64,
    pub op: DedupOp,
    pub dedup_id: &'a str,
    pub job_id: Option<&'a JobId>,
}

impl ScriptCall for DedupKeyCall<'_> {
    const NAME: &'static str = "dedup_key";
    const KEYS: &'static [Key] = &[];

    fn args<A: Argv>(&self, inv: &mut A) {
        let op = match self.op {
            DedupOp::Owner => "owner",
            DedupOp::Release => "release",
        };
        inv.arg(self.now)
            .arg(op)
            .arg(self.dedup_id)
            .arg(self.job_id.map_or("", JobId::as_str));
    }
}

/// The facet; each call's store failure names the server ([`RedisBackend::named`]).
#[async_trait]
impl DedupIds for RedisBackend {
    async fn dedup_owner(&self, req: DeduplicationKey) -> Result<Option<JobId>> {
        let call = DedupKeyCall {
            now: req.now,
            op: DedupOp::Owner,
            dedup_id: &req.dedup_id,
            job_id: None,
        };
        let owner = self.named(self.run(&req.queue, &call).await)?;
        match owner {
            Value::Nil | Value::Boolean(false) => Ok(None),
            value => Ok(Some(JobId(self.named(reply::string(&value, "dedup_key"))?))),
        }
    }

    async fn dedup_release(&self, req: RemoveDeduplicationKey) -> Result<bool> {
        let call = DedupKeyCall {
            now: req.now,
            op: DedupOp::Release,
            dedup_id: &req.dedup_id,
            job_id: req.job_id.as_ref(),
        };
        let released = self.named(self.run(&req.queue, &call).await)?;
        Ok(self.named(reply::int(&released, "dedup_key"))? == 1)
    }
}
