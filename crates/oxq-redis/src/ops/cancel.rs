//! The [`Cancellation`] facet on Redis: `job_cancel` ↔ `scripts/cancel.lua`.
//!
//! BullMQ has no cancel from another process, so this is oxq's own, in keys Node ignores: the
//! job goes to BullMQ's `failed` set with `failedReason` `cancelled` (a Node reader sees an
//! ordinary failed job), and an active job's cancelled lock is kept in the job hash field
//! `cancelledLock`, which `extend_locks.lua` reads only for a lock it would report lost. A Node
//! worker holding a job oxq cancels loses its lock: its renewal and its finish fail as for any
//! lost lock, and the job stays failed.

use async_trait::async_trait;
use oxq_core::backend::{CancelJob, CancelOutcome, Cancellation};
use oxq_core::{Error, JobId, Result};
use redis::Value;

use crate::backend::RedisBackend;
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct CancelCall<'a> {
    pub job_id: &'a JobId,
    pub now: u64,
}

impl ScriptCall for CancelCall<'_> {
    const NAME: &'static str = "cancel";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
        Key::Stalled,
        Key::Meta,
        Key::Events,
        Key::Repeat,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str()).arg(self.now);
    }
}

#[async_trait]
impl Cancellation for RedisBackend {
    async fn job_cancel(&self, req: CancelJob) -> Result<CancelOutcome> {
        let answer = self.named(
            self.run(
                &req.queue,
                &CancelCall {
                    job_id: &req.job_id,
                    now: req.now,
                },
            )
            .await,
        )?;
        outcome(&req.job_id, &answer)
    }
}

/// The script's answer as an outcome.
fn outcome(id: &JobId, answer: &Value) -> Result<CancelOutcome> {
    const CONTEXT: &str = "cancel";
    if let Value::Array(parts) = answer {
        let [code, suffix] = parts.as_slice() else {
            return Err(Error::store(format!("cancel: unexpected answer {parts:?}")));
        };
        let suffix = reply::string(suffix, CONTEXT)?;
        let state = Key::state_of_suffix(&suffix)
            .ok_or_else(|| Error::store(format!("cancel: unknown state {suffix:?}")))?;
        return match reply::int(code, CONTEXT)? {
            1 if suffix == "active" => Ok(CancelOutcome::Requested),
            1 => Ok(CancelOutcome::Cancelled { prev: state }),
            2 => Ok(CancelOutcome::AlreadyFinished { state }),
            other => Err(Error::store(format!("cancel: unexpected code {other}"))),
        };
    }
    match reply::int(answer, CONTEXT)? {
        0 => Ok(CancelOutcome::NotFound),
        -3 => Err(Error::store(format!(
            "job {id} exists but is in no state's key; not cancelled"
        ))),
        -8 => Err(Error::Conflict(format!(
            "job {id} is the pending iteration of a job scheduler; remove the scheduler instead"
        ))),
        other => Err(Error::store(format!("cancel: unexpected code {other}"))),
    }
}
