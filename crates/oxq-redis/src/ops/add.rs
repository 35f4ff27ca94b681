//! `job_add_bulk` ↔ `scripts/add.lua`: jobs go out in batches of `add_batch` per script call,
//! each batch atomic, in order. The script answers each job's state (its rule: delayed,
//! prioritized or waiting) or, for a custom id that exists, that job as it read it in the same
//! call. A call with a child (a job with [`JobOptions::parent`](oxq_core::JobOptions::parent))
//! goes out as one batch, so a missing parent refuses all of it
//! ([`Error::ParentNotFound`]) before anything is written.

use oxq_core::backend::{AddJobs, AddedJob, AddedJobs, NewJob};
use oxq_core::clock::millis;
use oxq_core::{Error, JobId};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::reply;
use crate::scripts::{Argv, ScriptCall};
use crate::wire;
use crate::wire::parent::ParentFields;

pub(crate) struct AddCall<'a> {
    pub now: u64,
    pub jobs: &'a [NewJob],
}

impl ScriptCall for AddCall<'_> {
    const NAME: &'static str = "add";
    const KEYS: &'static [Key] = &[
        Key::Id,
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::PriorityCounter,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
        Key::Meta,
        Key::Events,
        Key::Marker,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
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
            match o.parent.as_ref().map(ParentFields::of) {
                Some(parent) => inv.arg(parent.key).arg(parent.json),
                None => inv.arg("").arg(""),
            };
            inv.arg(o.deduplication.as_ref().map_or("", |d| d.id.as_str()))
                .arg(o.group.as_deref().unwrap_or(""));
        }
    }
}

/// Validates every job first (an invalid one refuses the whole call, nothing written), then
/// adds them.
pub(crate) async fn add(backend: &RedisBackend, req: AddJobs) -> Result<AddedJobs, Error> {
    for job in &req.jobs {
        job.options.validate()?;
    }
    let mut added = Vec::with_capacity(req.jobs.len());
    let batch_size = if req.jobs.iter().any(|job| job.options.parent.is_some()) {
        req.jobs.len()
    } else {
        backend.options.add_batch
    };
    for batch in req.jobs.chunks(batch_size.max(1)) {
        let call = AddCall {
            now: req.now,
            jobs: batch,
        };
        let items = reply::array(backend.run(&req.queue, &call).await?, "add")?;
        if let Some(parent) = missing_parent(&items)? {
            return Err(Error::ParentNotFound { parent });
        }
        if items.len() != batch.len() * 2 {
            return Err(RedisStoreError::reply("add", "one answer per job expected").into());
        }
        let mut items = items.into_iter();
        while let (Some(id), Some(answer)) = (items.next(), items.next()) {
            added.push(added_job(&id, answer)?);
        }
    }
    Ok(AddedJobs { jobs: added })
}

/// The first item of the answer for a deduplicated add.
const DEDUPLICATED: &str = "deduplicated";

/// `{rejected id, owner as read}` (the owner `{}` when it is no longer stored) after the marker.
fn deduplicated(id: String, mut parts: impl Iterator<Item = Value>) -> StoreResult<AddedJob> {
    let (Some(rejected), Some(owner)) = (parts.next(), parts.next()) else {
        return Err(RedisStoreError::reply(
            "add",
            "expected { 'deduplicated', rejected id, owner } for a deduplicated add",
        ));
    };
    let rejected = JobId(reply::string(&rejected, "add")?);
    let mut owner = reply::array(owner, "add")?.into_iter();
    let standing = match (owner.next(), owner.next(), owner.next()) {
        (Some(state), Some(score), Some(fields)) => Some(Box::new(reply::job_record(
            &id, &state, &score, fields, "add",
        )?)),
        _ => None,
    };
    Ok(AddedJob::Deduplicated {
        id: JobId(id),
        rejected,
        standing,
    })
}

/// The parent key of the script's refusal `{ -5, parent key }`, if that is the answer.
fn missing_parent(items: &[Value]) -> StoreResult<Option<String>> {
    match items {
        [Value::Int(-5), key] => Ok(Some(reply::string(key, "add")?)),
        _ => Ok(None),
    }
}

/// One job's answer: the state suffix of a new job, `{state, score, fields}` of the job
/// that holds an existing custom id, or `{'deduplicated', rejected id, owner read}`.
fn added_job(id: &Value, answer: Value) -> StoreResult<AddedJob> {
    let id = reply::string(id, "add")?;
    if let Value::Array(_) = answer {
        let mut parts = reply::array(answer, "add")?.into_iter();
        let first = parts.next();
        if let Some(marker) = &first
            && reply::string(marker, "add")? == DEDUPLICATED
        {
            return deduplicated(id, parts);
        }
        let mut parts = first.into_iter().chain(parts);
        let (Some(state), Some(score), Some(fields)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(RedisStoreError::reply(
                "add",
                "expected { state, score, fields } for an existing id",
            ));
        };
        let record = reply::job_record(&id, &state, &score, fields, "add")?;
        return Ok(AddedJob::Existing(Box::new(record)));
    }
    let suffix = reply::string(&answer, "add")?;
    let state = Key::state_of_suffix(&suffix)
        .ok_or_else(|| RedisStoreError::reply("add", format!("unknown state {suffix:?}")))?;
    Ok(AddedJob::Created {
        id: JobId(id),
        state,
    })
}
