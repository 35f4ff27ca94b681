//! The `opts` JSON of a job hash (`bullmq-v5-model.md` §2.2), both ways.
//!
//! Written: `attempts`, `delay`, `priority`, `lifo`, `jobId`, `backoff {type, delay, jitter}`,
//! `removeOnComplete` / `removeOnFail` as `true` (remove), `false` (keep), a count, or
//! `{age (seconds), count}`, `de {id, ttl (ms), extend, replace, keepLastIfActive}` (the
//! deduplication option; only what is set), a child's `parent {id, queue}` and its policy flag
//! (see [`super::parent`]); oxq's own `timeout` lives under `oxq.timeout` (ms) and its job group
//! under `oxq.group`, a key Node passes through untouched. Read: the same, plus Node's spellings
//! (`attempts: 0`, a bare number as a fixed backoff, a custom backoff type); what is missing or
//! malformed takes its default.

use std::time::Duration;

use oxq_core::clock::millis;
use oxq_core::{Backoff, Deduplication, JobId, JobOptions, KeepJobs, MAX_PRIORITY};
use serde_json::{Map, Value, json};

use super::numbers::{clamp_ms, clamp_u32};
use super::parent;

/// Keys of the `opts` JSON.
mod key {
    pub const ATTEMPTS: &str = "attempts";
    pub const DELAY: &str = "delay";
    pub const PRIORITY: &str = "priority";
    pub const LIFO: &str = "lifo";
    pub const JOB_ID: &str = "jobId";
    pub const BACKOFF: &str = "backoff";
    pub const REMOVE_ON_COMPLETE: &str = "removeOnComplete";
    pub const REMOVE_ON_FAIL: &str = "removeOnFail";
    pub const DEDUPLICATION: &str = "de";
    /// oxq's namespace inside `opts` (Node keeps unknown keys as they are).
    pub const OXQ: &str = "oxq";
    pub const OXQ_TIMEOUT: &str = "timeout";
    pub const OXQ_GROUP: &str = "group";
}

/// The `opts` JSON BullMQ stores for a job.
pub(crate) fn encode_opts(options: &JobOptions) -> String {
    let mut obj = Map::new();
    obj.insert(key::ATTEMPTS.into(), json!(options.attempts));
    if let Some(delay) = options.delay {
        obj.insert(key::DELAY.into(), json!(millis(delay)));
    }
    if options.priority > 0 {
        obj.insert(key::PRIORITY.into(), json!(options.priority));
    }
    if options.lifo {
        obj.insert(key::LIFO.into(), json!(true));
    }
    if let Some(id) = &options.job_id {
        obj.insert(key::JOB_ID.into(), json!(id.as_str()));
    }
    if let Some(backoff) = &options.backoff {
        obj.insert(key::BACKOFF.into(), backoff_to_json(backoff));
    }
    if let Some(keep) = options.remove_on_complete {
        obj.insert(key::REMOVE_ON_COMPLETE.into(), keep_to_json(keep));
    }
    if let Some(keep) = options.remove_on_fail {
        obj.insert(key::REMOVE_ON_FAIL.into(), keep_to_json(keep));
    }
    if let Some(link) = &options.parent {
        parent::insert_into_opts(&mut obj, link);
    }
    if let Some(dedup) = &options.deduplication {
        obj.insert(key::DEDUPLICATION.into(), dedup_to_json(dedup));
    }
    let mut oxq = Map::new();
    if let Some(timeout) = options.timeout {
        oxq.insert(key::OXQ_TIMEOUT.into(), json!(millis(timeout)));
    }
    if let Some(group) = &options.group {
        oxq.insert(key::OXQ_GROUP.into(), json!(group));
    }
    if !oxq.is_empty() {
        obj.insert(key::OXQ.into(), Value::Object(oxq));
    }
    Value::Object(obj).to_string()
}

/// Options from a stored `opts` JSON; what is missing or malformed takes its default.
pub(crate) fn decode_opts(job_id: &str, text: Option<&str>) -> JobOptions {
    let mut options = JobOptions::new();
    let Some(text) = text else {
        return options;
    };
    let obj = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => obj,
        Ok(_) | Err(_) => {
            tracing::warn!(
                job_id,
                "job opts are not a JSON object; using default options"
            );
            return options;
        }
    };
    if let Some(attempts) = obj.get(key::ATTEMPTS).and_then(Value::as_f64) {
        // Node stores 0 when no attempts were given; 0 and 1 both mean a single attempt
        options.attempts = clamp_u32(attempts).max(1);
    }
    if let Some(delay) = obj.get(key::DELAY).and_then(Value::as_f64).map(clamp_ms) {
        options.delay = (delay > 0).then(|| Duration::from_millis(delay));
    }
    if let Some(priority) = obj.get(key::PRIORITY).and_then(Value::as_f64) {
        options.priority = clamp_u32(priority).min(MAX_PRIORITY);
    }
    options.lifo = obj.get(key::LIFO).and_then(Value::as_bool).unwrap_or(false);
    options.job_id = match obj.get(key::JOB_ID) {
        Some(Value::String(id)) => Some(JobId(id.clone())),
        Some(Value::Number(n)) => Some(JobId(n.to_string())),
        _ => None,
    };
    options.backoff = obj.get(key::BACKOFF).and_then(backoff_from_json);
    options.remove_on_complete = obj.get(key::REMOVE_ON_COMPLETE).and_then(keep_from_json);
    options.remove_on_fail = obj.get(key::REMOVE_ON_FAIL).and_then(keep_from_json);
    options.timeout = obj
        .get(key::OXQ)
        .and_then(|o| o.get(key::OXQ_TIMEOUT))
        .and_then(Value::as_f64)
        .map(clamp_ms)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    options.group = obj
        .get(key::OXQ)
        .and_then(|o| o.get(key::OXQ_GROUP))
        .and_then(Value::as_str)
        .map(str::to_owned);
    options.parent = parent::from_opts(&obj);
    options.deduplication = obj.get(key::DEDUPLICATION).and_then(dedup_from_json);
    options
}

/// The deduplication option as BullMQ's `de` (only the flags that are set).
fn dedup_to_json(dedup: &Deduplication) -> Value {
    let mut obj = Map::new();
    obj.insert("id".into(), json!(dedup.id));
    if let Some(ttl) = dedup.ttl {
        obj.insert("ttl".into(), json!(millis(ttl)));
    }
    for (name, set) in [
        ("extend", dedup.extend),
        ("replace", dedup.replace),
        ("keepLastIfActive", dedup.keep_last_if_active),
    ] {
        if set {
            obj.insert(name.into(), json!(true));
        }
    }
    Value::Object(obj)
}

/// BullMQ's `de`; `None` without an id (Node requires one). A number id is read as its text.
fn dedup_from_json(value: &Value) -> Option<Deduplication> {
    let obj = value.as_object()?;
    let id = match obj.get("id")? {
        Value::String(id) => id.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let flag = |name: &str| obj.get(name).and_then(Value::as_bool).unwrap_or(false);
    let mut dedup = Deduplication::new(id)
        .extend(flag("extend"))
        .replace(flag("replace"))
        .keep_last_if_active(flag("keepLastIfActive"));
    if let Some(ttl) = obj
        .get("ttl")
        .and_then(Value::as_f64)
        .map(clamp_ms)
        .filter(|ms| *ms > 0)
    {
        dedup = dedup.ttl(Duration::from_millis(ttl));
    }
    Some(dedup)
}

/// `KeepJobs` as BullMQ's `removeOnComplete` / `removeOnFail` value.
fn keep_to_json(keep: KeepJobs) -> Value {
    match keep {
        KeepJobs::All => Value::Bool(false),
        KeepJobs::None => Value::Bool(true),
        KeepJobs::Count(n) => json!(n),
        KeepJobs::Age { max_age, count } => {
            let millis = millis(max_age);
            let age = if millis.is_multiple_of(1000) {
                json!(millis / 1000)
            } else {
                json!(millis as f64 / 1000.0)
            };
            let mut obj = Map::new();
            obj.insert("age".into(), age);
            if let Some(count) = count {
                obj.insert("count".into(), json!(count));
            }
            Value::Object(obj)
        }
    }
}

fn keep_from_json(value: &Value) -> Option<KeepJobs> {
    match value {
        Value::Bool(true) => Some(KeepJobs::None),
        Value::Bool(false) => Some(KeepJobs::All),
        Value::Number(n) => Some(match n.as_f64()? {
            x if x <= 0.0 => KeepJobs::None,
            x => KeepJobs::Count(clamp_u32(x)),
        }),
        Value::Object(obj) => {
            let count = obj.get("count").and_then(Value::as_f64);
            match obj.get("age").and_then(Value::as_f64) {
                Some(age) if age > 0.0 => Some(KeepJobs::Age {
                    max_age: Duration::from_secs_f64(age.min(1e12)),
                    count: count.filter(|c| *c >= 0.0).map(clamp_u32),
                }),
                _ => match count {
                    Some(c) if c < 0.0 => Some(KeepJobs::All),
                    Some(0.0) => Some(KeepJobs::None),
                    Some(c) => Some(KeepJobs::Count(clamp_u32(c))),
                    None => Some(KeepJobs::All),
                },
            }
        }
        _ => None,
    }
}

fn backoff_to_json(backoff: &Backoff) -> Value {
    let (kind, delay, jitter) = match backoff {
        Backoff::Fixed { delay, jitter } => ("fixed", *delay, *jitter),
        Backoff::Exponential { delay, jitter } => ("exponential", *delay, *jitter),
        Backoff::Custom { name, delay } => (name.as_str(), *delay, 0.0),
    };
    let mut obj = Map::new();
    obj.insert("type".into(), json!(kind));
    obj.insert("delay".into(), json!(millis(delay)));
    if jitter > 0.0 {
        obj.insert("jitter".into(), json!(jitter));
    }
    Value::Object(obj)
}

fn backoff_from_json(value: &Value) -> Option<Backoff> {
    match value {
        // a bare number is BullMQ's shorthand for fixed
        Value::Number(n) => Some(Backoff::fixed(Duration::from_millis(
            n.as_f64().map(clamp_ms)?,
        ))),
        Value::Object(obj) => {
            let delay =
                Duration::from_millis(obj.get("delay").and_then(Value::as_f64).map_or(0, clamp_ms));
            let jitter = obj
                .get("jitter")
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
                .clamp(0.0, 1.0);
            match obj.get("type").and_then(Value::as_str)? {
                "fixed" => Some(Backoff::Fixed { delay, jitter }),
                "exponential" => Some(Backoff::Exponential { delay, jitter }),
                name => Some(Backoff::Custom {
                    name: name.to_owned(),
                    delay,
                }),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opts_use_bullmq_names_and_round_trip() {
        let options = JobOptions::new()
            .job_id("order-7")
            .delay(Duration::from_millis(1500))
            .priority(3)
            .lifo(true)
            .attempts(4)
            .backoff(Backoff::exponential(Duration::from_millis(200)).with_jitter(0.5))
            .timeout(Duration::from_secs(9))
            .remove_on_complete(KeepJobs::Age {
                max_age: Duration::from_secs(3600),
                count: Some(10),
            })
            .remove_on_fail(KeepJobs::Count(5));
        let text = encode_opts(&options);
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            value,
            json!({
                "attempts": 4, "delay": 1500, "priority": 3, "lifo": true, "jobId": "order-7",
                "backoff": {"type": "exponential", "delay": 200, "jitter": 0.5},
                "removeOnComplete": {"age": 3600, "count": 10}, "removeOnFail": 5,
                "oxq": {"timeout": 9000}
            })
        );
        assert_eq!(decode_opts("order-7", Some(&text)), options);
    }

    #[test]
    fn a_child_writes_opts_parent_and_its_flag() {
        let link = oxq_core::ParentLink::new(
            oxq_core::QueueRef::new("parents").expect("queue"),
            JobId("p1".into()),
        )
        .on_failure(oxq_core::ChildFailure::ContinueParent);
        let options = JobOptions::new().parent(link);
        let text = encode_opts(&options);
        let value: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(
            value["parent"],
            json!({"id": "p1", "queue": "bull:parents"})
        );
        assert_eq!(value["cpof"], json!(true));
        assert_eq!(decode_opts("c", Some(&text)), options);
    }

    #[test]
    fn node_opts_decode() {
        let text = r#"{"attempts":0,"backoff":5000,"removeOnComplete":true,"removeOnFail":{"count":0},"custom":1}"#;
        let options = decode_opts("1", Some(text));
        assert_eq!(options.attempts, 1);
        assert_eq!(
            options.backoff,
            Some(Backoff::fixed(Duration::from_secs(5)))
        );
        assert_eq!(options.remove_on_complete, Some(KeepJobs::None));
        assert_eq!(options.remove_on_fail, Some(KeepJobs::None));
        let custom = decode_opts("1", Some(r#"{"backoff":{"type":"linear","delay":10}}"#));
        assert_eq!(
            custom.backoff,
            Some(Backoff::Custom {
                name: "linear".into(),
                delay: Duration::from_millis(10)
            })
        );
        assert_eq!(decode_opts("1", Some("{not json")), JobOptions::new());
        assert_eq!(decode_opts("1", Some("[1]")), JobOptions::new());
    }

    #[test]
    fn group_and_timeout_share_the_oxq_key() {
        let options = JobOptions::new()
            .group("acme")
            .timeout(Duration::from_millis(1500));
        let value: Value = serde_json::from_str(&encode_opts(&options)).expect("json");
        assert_eq!(value["oxq"], json!({"group": "acme", "timeout": 1500}));
        assert_eq!(decode_opts("1", Some(&value.to_string())), options);
        let plain: Value = serde_json::from_str(&encode_opts(&JobOptions::new())).expect("json");
        assert!(plain.get("oxq").is_none(), "{plain}");
    }

    #[test]
    fn deduplication_is_bullmq_de() {
        let options = JobOptions::new()
            .delay(Duration::from_secs(5))
            .deduplication(Deduplication::debounce(
                "user-7",
                Duration::from_millis(5000),
            ));
        let value: Value = serde_json::from_str(&encode_opts(&options)).expect("json");
        assert_eq!(
            value["de"],
            json!({"id": "user-7", "ttl": 5000, "extend": true, "replace": true})
        );
        assert_eq!(decode_opts("1", Some(&encode_opts(&options))), options);
        let node = decode_opts(
            "1",
            Some(r#"{"de":{"id":"k","keepLastIfActive":true,"ttl":0}}"#),
        );
        assert_eq!(
            node.deduplication,
            Some(Deduplication::new("k").keep_last_if_active(true))
        );
        assert_eq!(
            decode_opts("1", Some(r#"{"de":{"ttl":5}}"#)).deduplication,
            None
        );
    }

    #[test]
    fn keep_jobs_map_to_bullmq_values() {
        assert_eq!(keep_to_json(KeepJobs::All), json!(false));
        assert_eq!(keep_to_json(KeepJobs::None), json!(true));
        assert_eq!(keep_to_json(KeepJobs::Count(3)), json!(3));
        let half = KeepJobs::Age {
            max_age: Duration::from_millis(500),
            count: None,
        };
        assert_eq!(keep_to_json(half), json!({"age": 0.5}));
        assert_eq!(keep_from_json(&json!({"age": 0.5})), Some(half));
    }
}
