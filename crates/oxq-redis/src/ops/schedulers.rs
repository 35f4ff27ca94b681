//! Job schedulers on Redis, in BullMQ 6's layout (`bullmq-v5-model.md` §4.26-4.27): the
//! [`Schedulers`] facet (`scripts/scheduler_upsert.lua`, `scheduler_remove.lua`, reads by
//! pipeline) and the worker's hook (`scheduler_next.lua`).
//!
//! * The scheduler `id` is a member of `<queue>:repeat` scored by its pending run's time; its
//!   hash `<queue>:repeat:<id>` has BullMQ's fields (`name`, `pattern`/`every`, `tz`, `limit`,
//!   `startDate`, `endDate`, `offset`, `opts`, `data`, `ic`), so Node's `getJobSchedulers` lists
//!   what oxq upserts, with the same next run (the score).
//! * Iterations are jobs `repeat:<id>:<millis>` with `rjk = <id>` and BullMQ's iteration
//!   options (`repeat {pattern|every, tz, limit, count, offset, startDate, endDate}`,
//!   `prevMillis`, `repeatJobKey`), which is what a Node worker needs to create the next one.
//!   A template with a group (`opts.oxq.group`) gives iterations that wait in that group
//!   (`include/scheduler.lua`), so only oxq workers take them and create the next one.
//! * Times come from [`Repeat`] (cron in Rust, as Node computes cron in its client); the
//!   scripts only check and write. An upsert reads the scheduler first and the script refuses
//!   (and the call retries) if the score moved meanwhile, so racing producers never leave two
//!   pending runs.
//! * The hook: after a fetch (or a finish's fetch-next) hands out a job whose id starts with
//!   `repeat:`, the store reads its scheduler, computes the next run and calls
//!   `scheduler_next.lua`, which creates it only if the taken job is still the pending run
//!   (BullMQ's producer-id guard), so each tick makes one job however many workers (oxq or
//!   Node) race. It runs right after the fetch, as Node's worker does, not inside the fetch
//!   script: cron times need Rust. A failure there is logged and leaves the scheduler as
//!   Node's would (the next run is not created by this worker). Jobs that are not iterations
//!   cost one prefix comparison.
//! * `next_run` is the score while that iteration has not started; once the limit or the end
//!   date stops a scheduler, the score stays (as Node leaves it) and `next_run` is `None`.

use std::collections::HashMap;

use async_trait::async_trait;
use oxq_core::backend::{
    Fetched, GetScheduler, JobScheduler, ListSchedulers, OfQueue, RemoveScheduler,
    SchedulerRemoved, SchedulerTemplate, Schedulers, UpsertScheduler,
};
use oxq_core::repeat::{parse_iteration_job_id, validate_scheduler_id};
use oxq_core::{Error, QueueRef, Repeat, RepeatRule, Result};
use redis::Value as RedisValue;
use serde_json::{Map, Value, json};

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};
use crate::wire::encode_opts;
use crate::wire::opts::decode_opts;

/// Retries of an upsert whose scheduler moved (another producer or worker) between its read
/// and its script, or whose first run's id was taken.
const UPSERT_TRIES: usize = 32;

const KEYS: &[Key] = &[
    Key::Id,
    Key::Wait,
    Key::Paused,
    Key::Active,
    Key::Prioritized,
    Key::PriorityCounter,
    Key::Delayed,
    Key::Meta,
    Key::Events,
    Key::Marker,
    Key::Repeat,
];

pub(crate) struct UpsertCall<'a> {
    pub now: u64,
    pub id: &'a str,
    pub read_score: Option<u64>,
    pub fresh: Option<u64>,
    pub replaced: Option<u64>,
    /// The run after the scheduler's current one, for when that one was taken but its next was
    /// not created yet (the hook runs after the fetch): the upsert creates it, on the grid.
    pub after_taken: Option<u64>,
    pub limit: Option<u64>,
    pub fields: &'a str,
    pub iteration_opts: &'a str,
}

fn opt(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

impl ScriptCall for UpsertCall<'_> {
    const NAME: &'static str = "scheduler_upsert";
    const KEYS: &'static [Key] = KEYS;

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now)
            .arg(self.id)
            .arg(opt(self.read_score))
            .arg(opt(self.fresh))
            .arg(opt(self.replaced))
            .arg(opt(self.limit))
            .arg(self.fields)
            .arg(self.iteration_opts)
            .arg(opt(self.after_taken));
    }
}

pub(crate) struct NextCall<'a> {
    pub now: u64,
    pub id: &'a str,
    pub taken: u64,
    pub next: u64,
    pub iteration_opts: &'a str,
}

impl ScriptCall for NextCall<'_> {
    const NAME: &'static str = "scheduler_next";
    const KEYS: &'static [Key] = KEYS;

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now)
            .arg(self.id)
            .arg(self.taken)
            .arg(self.next)
            .arg(self.iteration_opts);
    }
}

pub(crate) struct RemoveCall<'a> {
    pub id: &'a str,
}

impl ScriptCall for RemoveCall<'_> {
    const NAME: &'static str = "scheduler_remove";
    const KEYS: &'static [Key] = &[
        Key::Wait,
        Key::Paused,
        Key::Prioritized,
        Key::Delayed,
        Key::Meta,
        Key::Events,
        Key::Repeat,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.id);
    }
}

/// The scheduler hash's fields (BullMQ's names; numbers as decimal text).
fn hash_fields(repeat: &Repeat, template: &SchedulerTemplate) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("name".into(), json!(template.name));
    match &repeat.rule {
        RepeatRule::Cron { pattern, tz } => {
            f.insert("pattern".into(), json!(pattern));
            if let Some(tz) = tz {
                f.insert("tz".into(), json!(tz));
            }
        }
        RepeatRule::Every {
            every_ms,
            offset_ms,
        } => {
            f.insert("every".into(), json!(every_ms.to_string()));
            if let Some(offset) = offset_ms {
                f.insert("offset".into(), json!(offset.to_string()));
            }
        }
        _ => {}
    }
    for (name, value) in [
        ("limit", repeat.limit),
        ("startDate", repeat.start_at),
        ("endDate", repeat.end_at),
    ] {
        if let Some(v) = value {
            f.insert(name.into(), json!(v.to_string()));
        }
    }
    f.insert("opts".into(), json!(encode_opts(&template.options)));
    if template.data != "{}" {
        f.insert("data".into(), json!(template.data));
    }
    f
}

/// The opts JSON of every iteration: the template's, plus `repeatJobKey` and `repeat` (the
/// script adds `jobId`, `delay`, `prevMillis`, `timestamp` and `repeat.count`).
fn iteration_opts(id: &str, hash: &HashMap<String, String>) -> String {
    let mut opts = match hash
        .get("opts")
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        Some(Value::Object(obj)) => obj,
        _ => Map::new(),
    };
    let mut repeat = Map::new();
    for (field, numeric) in [
        ("pattern", false),
        ("tz", false),
        ("every", true),
        ("limit", true),
        ("offset", true),
        ("startDate", true),
        ("endDate", true),
    ] {
        if let Some(v) = hash.get(field) {
            let value = match (numeric, v.parse::<u64>()) {
                (true, Ok(n)) => json!(n),
                _ => json!(v),
            };
            repeat.insert(field.into(), value);
        }
    }
    opts.insert("repeatJobKey".into(), json!(id));
    opts.insert("repeat".into(), Value::Object(repeat));
    Value::Object(opts).to_string()
}

/// The schedule a scheduler hash describes (written by oxq or by Node).
fn repeat_of(id: &str, hash: &HashMap<String, String>) -> Result<Repeat> {
    let num = |field: &str| hash.get(field).and_then(|v| v.parse::<f64>().ok());
    let ms = |field: &str| num(field).map(|v| v.max(0.0) as u64);
    let mut repeat = if let Some(pattern) = hash.get("pattern") {
        let r = Repeat::cron(pattern.clone());
        match hash.get("tz") {
            Some(tz) => r.tz(tz.clone()),
            None => r,
        }
    } else if let Some(every) = ms("every") {
        let r = Repeat::every(std::time::Duration::from_millis(every));
        match ms("offset") {
            Some(offset) => r.offset(std::time::Duration::from_millis(offset)),
            None => r,
        }
    } else {
        return Err(Error::store(format!(
            "scheduler {id} has neither a pattern nor every"
        )));
    };
    repeat.start_at = ms("startDate");
    repeat.end_at = ms("endDate");
    repeat.limit = ms("limit");
    Ok(repeat)
}

fn template_of(id: &str, hash: &HashMap<String, String>) -> SchedulerTemplate {
    let mut options = decode_opts(id, hash.get("opts").map(String::as_str));
    options.job_id = None;
    options.delay = None;
    SchedulerTemplate {
        name: hash.get("name").cloned().unwrap_or_default(),
        data: hash.get("data").cloned().unwrap_or_else(|| "{}".to_owned()),
        options,
    }
}

async fn read_hash(
    backend: &RedisBackend,
    k: &QueueKeys,
    id: &str,
) -> StoreResult<(Option<u64>, HashMap<String, String>)> {
    let mut pipe = redis::pipe();
    pipe.cmd("ZSCORE")
        .arg(k.key(Key::Repeat))
        .arg(id)
        .cmd("HGETALL")
        .arg(k.job(&format!("repeat:{id}")));
    let (score, hash): (Option<f64>, HashMap<String, String>) =
        pipe.query_async(&mut backend.conn()).await?;
    Ok((score.map(|s| s as u64), hash))
}

/// The scheduler as stored: `next_run` is the score while that iteration has not started.
async fn read_scheduler(
    backend: &RedisBackend,
    k: &QueueKeys,
    id: &str,
) -> Result<Option<JobScheduler>> {
    let (score, hash) = read_hash(backend, k, id).await?;
    if hash.is_empty() {
        return Ok(None);
    }
    let next_run = match score {
        Some(at) => {
            let job = k.job(&format!("repeat:{id}:{at}"));
            let mut pipe = redis::pipe();
            pipe.cmd("EXISTS")
                .arg(&job)
                .cmd("HEXISTS")
                .arg(&job)
                .arg("processedOn");
            let (exists, processed): (bool, bool) = pipe
                .query_async(&mut backend.conn())
                .await
                .map_err(RedisStoreError::from)?;
            (exists && !processed).then_some(at)
        }
        None => None,
    };
    let iterations = hash.get("ic").and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(Some(JobScheduler::new(
        id.to_owned(),
        repeat_of(id, &hash)?,
        template_of(id, &hash),
        next_run,
        iterations,
    )))
}

pub(crate) async fn upsert(backend: &RedisBackend, req: UpsertScheduler) -> Result<JobScheduler> {
    validate_scheduler_id(&req.id)?;
    req.repeat.validate()?;
    req.template.options.validate()?;
    if req.template.options.job_id.is_some() || req.template.options.delay.is_some() {
        return Err(Error::invalid(
            "a scheduler's template cannot have a job id or a delay",
        ));
    }
    let k = QueueKeys::new(&req.queue);
    let fields_map = hash_fields(&req.repeat, &req.template);
    let fields = Value::Object(fields_map.clone()).to_string();
    let as_strings: HashMap<String, String> = fields_map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect();
    let opts = iteration_opts(&req.id, &as_strings);
    let mut fresh = req.repeat.first_run(req.now, None)?;
    let mut override_time: Option<Option<u64>> = None;
    for _ in 0..UPSERT_TRIES {
        let (score, old) = read_hash(backend, &k, &req.id).await?;
        let same_rule =
            !old.is_empty() && repeat_of(&req.id, &old).is_ok_and(|o| o.same_rule(&req.repeat));
        let replaced = match (score, same_rule) {
            (Some(prev), true) => req.repeat.first_run(req.now, Some(prev))?,
            _ => fresh,
        };
        let after_taken = match (score, same_rule) {
            (Some(prev), true) => req.repeat.next_run(prev, req.now)?,
            _ => fresh,
        };
        let (fresh_arg, replaced_arg, after_taken_arg) = match override_time {
            Some(t) => (t, t, t),
            None => (fresh, replaced, after_taken),
        };
        let call = UpsertCall {
            now: req.now,
            id: &req.id,
            read_score: score,
            fresh: fresh_arg,
            replaced: replaced_arg,
            after_taken: after_taken_arg,
            limit: req.repeat.limit,
            fields: &fields,
            iteration_opts: &opts,
        };
        let value = backend.run(&req.queue, &call).await?;
        let parts = reply::array(value, "scheduler_upsert")?;
        let status = parts
            .first()
            .map(|v| reply::string(v, "scheduler_upsert"))
            .transpose()?
            .unwrap_or_default();
        match status.as_str() {
            "retry" => continue,
            "taken" => {
                let at = parts
                    .get(1)
                    .map(|v| reply::string(v, "scheduler_upsert"))
                    .transpose()?
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(req.now);
                let later = req.repeat.next_run(at, at)?;
                fresh = later;
                override_time = Some(later);
                continue;
            }
            "ok" => {
                let next = parts
                    .get(1)
                    .map(|v| reply::string(v, "scheduler_upsert"))
                    .transpose()?
                    .and_then(|s| s.parse::<u64>().ok());
                let iterations = parts
                    .get(2)
                    .map(|v| reply::int(v, "scheduler_upsert"))
                    .transpose()?
                    .unwrap_or(0);
                return Ok(JobScheduler::new(
                    req.id,
                    req.repeat,
                    req.template,
                    next,
                    u64::try_from(iterations).unwrap_or(0),
                ));
            }
            other => {
                return Err(RedisStoreError::reply(
                    "scheduler_upsert",
                    format!("unexpected status {other:?}"),
                )
                .into());
            }
        }
    }
    Err(Error::Conflict(format!(
        "scheduler {} kept changing during {UPSERT_TRIES} upsert attempts",
        req.id
    )))
}

/// The worker's hook after a fetch: creates the next iteration of each scheduler whose pending
/// run was just taken. Never fails the fetch: a problem is logged (the jobs are active already).
pub(crate) async fn after_fetch(
    backend: &RedisBackend,
    queue: &QueueRef,
    fetched: &mut Fetched,
    now: u64,
) {
    let taken: Vec<String> = fetched
        .jobs
        .iter()
        .map(|j| j.record.id.as_str())
        .filter(|id| id.starts_with("repeat:"))
        .map(str::to_owned)
        .collect();
    for job_id in taken {
        match iteration_taken(backend, queue, &job_id, now).await {
            Ok(Some(next)) if next > now => {
                fetched.next_due_at = Some(fetched.next_due_at.map_or(next, |d| d.min(next)));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(job_id, error = %e, "cannot create the scheduler's next run");
            }
        }
    }
}

async fn iteration_taken(
    backend: &RedisBackend,
    queue: &QueueRef,
    job_id: &str,
    now: u64,
) -> Result<Option<u64>> {
    let Some((id, at)) = parse_iteration_job_id(job_id) else {
        return Ok(None);
    };
    let k = QueueKeys::new(queue);
    let (score, hash) = read_hash(backend, &k, id).await?;
    if score != Some(at) || hash.is_empty() {
        return Ok(None);
    }
    let repeat = repeat_of(id, &hash)?;
    let iterations: u64 = hash.get("ic").and_then(|v| v.parse().ok()).unwrap_or(1);
    if repeat.limit.is_some_and(|limit| iterations >= limit) {
        return Ok(None);
    }
    let Some(next) = repeat.next_run(at, now)? else {
        return Ok(None);
    };
    let opts = iteration_opts(id, &hash);
    let call = NextCall {
        now,
        id,
        taken: at,
        next,
        iteration_opts: &opts,
    };
    let created = backend.run(queue, &call).await?;
    Ok(matches!(
        created,
        RedisValue::BulkString(_) | RedisValue::SimpleString(_)
    )
    .then_some(next))
}

/// The facet; each call's store failure names the server ([`RedisBackend::named`]).
#[async_trait]
impl Schedulers for RedisBackend {
    async fn scheduler_upsert(&self, req: UpsertScheduler) -> Result<JobScheduler> {
        self.named(upsert(self, req).await)
    }

    async fn scheduler_get(&self, req: GetScheduler) -> Result<Option<JobScheduler>> {
        self.named(read_scheduler(self, &QueueKeys::new(&req.queue), &req.id).await)
    }

    async fn schedulers_list(&self, req: ListSchedulers) -> Result<Vec<JobScheduler>> {
        self.named(list(self, req).await)
    }

    async fn schedulers_count(&self, req: OfQueue) -> Result<u64> {
        self.named(count(self, &req.queue).await)
    }

    async fn scheduler_remove(&self, req: RemoveScheduler) -> Result<SchedulerRemoved> {
        self.named(remove(self, req).await)
    }
}

async fn list(backend: &RedisBackend, req: ListSchedulers) -> Result<Vec<JobScheduler>> {
    let k = QueueKeys::new(&req.queue);
    let start = i64::try_from(req.offset).unwrap_or(i64::MAX);
    let stop = if req.limit == 0 {
        return Ok(Vec::new());
    } else {
        start.saturating_add(i64::try_from(req.limit).unwrap_or(i64::MAX) - 1)
    };
    let cmd = if req.ascending { "ZRANGE" } else { "ZREVRANGE" };
    let ids: Vec<String> = redis::cmd(cmd)
        .arg(k.key(Key::Repeat))
        .arg(start)
        .arg(stop)
        .query_async(&mut backend.conn())
        .await
        .map_err(RedisStoreError::from)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = read_scheduler(backend, &k, &id).await? {
            out.push(s);
        }
    }
    Ok(out)
}

async fn count(backend: &RedisBackend, queue: &QueueRef) -> Result<u64> {
    let k = QueueKeys::new(queue);
    let n: u64 = redis::cmd("ZCARD")
        .arg(k.key(Key::Repeat))
        .query_async(&mut backend.conn())
        .await
        .map_err(RedisStoreError::from)?;
    Ok(n)
}

async fn remove(backend: &RedisBackend, req: RemoveScheduler) -> Result<SchedulerRemoved> {
    let value = backend.run(&req.queue, &RemoveCall { id: &req.id }).await?;
    let existed = reply::int(&value, "scheduler_remove")? == 1;
    Ok(SchedulerRemoved { existed })
}
