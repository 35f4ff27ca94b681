//! The [`Steps`] facet on Redis: `steps_read` ↔ `scripts/steps_read.lua`, `step_save` ↔
//! `scripts/step_save.lua`, `job_signal` ↔ `scripts/job_signal.lua`. A job's steps live in
//! the hash `<prefix>:<queue>:<id>:steps`, which Node BullMQ never reads and every script that
//! deletes a job deletes with it (`deleteJobKeys` in `include/common.lua`).

use async_trait::async_trait;
use oxq_core::backend::{
    JobStepEntries, ReadSteps, SaveStep, SavedStep, SendSignal, SignalSent, Steps,
};
use oxq_core::{Error, JobId, Result};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

pub(crate) struct StepsReadCall<'a> {
    pub job_id: &'a JobId,
}

impl ScriptCall for StepsReadCall<'_> {
    const NAME: &'static str = "steps_read";
    const KEYS: &'static [Key] = &[];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.job_id.as_str());
    }
}

pub(crate) struct StepSaveCall<'a> {
    pub req: &'a SaveStep,
}

impl ScriptCall for StepSaveCall<'_> {
    const NAME: &'static str = "step_save";
    const KEYS: &'static [Key] = &[];

    fn args<A: Argv>(&self, inv: &mut A) {
        let req = self.req;
        inv.arg(req.job_id.as_str())
            .arg(req.token.as_str())
            .arg(&req.name)
            .arg(&req.entry)
            .arg(req.waits_for.as_deref().unwrap_or(""));
    }
}

pub(crate) struct JobSignalCall<'a> {
    pub req: &'a SendSignal,
}

impl ScriptCall for JobSignalCall<'_> {
    const NAME: &'static str = "job_signal";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        let req = self.req;
        inv.arg(req.job_id.as_str())
            .arg(&req.name)
            .arg(&req.payload);
    }
}

/// The facet; each call's store failure names the server ([`RedisBackend::named`]).
#[async_trait]
impl Steps for RedisBackend {
    async fn steps_read(&self, req: ReadSteps) -> Result<Option<JobStepEntries>> {
        self.named(read(self, req).await)
    }

    async fn step_save(&self, req: SaveStep) -> Result<SavedStep> {
        self.named(save(self, req).await)
    }

    async fn job_signal(&self, req: SendSignal) -> Result<SignalSent> {
        self.named(signal(self, req).await)
    }
}

async fn read(backend: &RedisBackend, req: ReadSteps) -> StoreResult<Option<JobStepEntries>> {
    let call = StepsReadCall {
        job_id: &req.job_id,
    };
    let answer = backend.run(&req.queue, &call).await?;
    if let Value::Int(-1) = answer {
        return Ok(None);
    }
    let fields = reply::array(answer, "steps_read")?;
    let mut stored = JobStepEntries::default();
    for pair in fields.chunks(2) {
        let [field, value] = pair else {
            return Err(RedisStoreError::reply(
                "steps_read",
                "odd number of hash fields",
            ));
        };
        let field = reply::string(field, "steps_read")?;
        let value = reply::string(value, "steps_read")?;
        if let Some(name) = field.strip_prefix("step:") {
            stored.entries.push((name.to_owned(), value));
        } else if let Some(name) = field.strip_prefix("signal:") {
            stored.signals.push((name.to_owned(), value));
        }
    }
    stored.entries.sort_unstable();
    stored.signals.sort_unstable();
    Ok(Some(stored))
}

async fn save(backend: &RedisBackend, req: SaveStep) -> Result<SavedStep> {
    let call = StepSaveCall { req: &req };
    let answer = reply::array(backend.run(&req.queue, &call).await?, "step_save")?;
    match answer.as_slice() {
        [Value::Int(0)] => Ok(SavedStep::default()),
        [Value::Int(0), payload] => Ok(SavedStep {
            signal: Some(reply::string(payload, "step_save")?),
        }),
        [Value::Int(-1)] => Err(Error::JobNotFound(req.job_id.to_string())),
        [Value::Int(-2)] => Err(Error::LockLost(req.job_id.to_string())),
        other => {
            Err(RedisStoreError::reply("step_save", format!("unexpected answer {other:?}")).into())
        }
    }
}

async fn signal(backend: &RedisBackend, req: SendSignal) -> Result<SignalSent> {
    let call = JobSignalCall { req: &req };
    match reply::int(&backend.run(&req.queue, &call).await?, "job_signal")? {
        1 => Ok(SignalSent { woke: true }),
        0 => Ok(SignalSent { woke: false }),
        -1 => Err(Error::JobNotFound(req.job_id.to_string())),
        other => {
            Err(RedisStoreError::reply("job_signal", format!("unexpected answer {other}")).into())
        }
    }
}
