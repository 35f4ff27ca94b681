//! BullMQ's wire format, known to this module only: job hash fields, the encoded `opts` JSON,
//! state key suffixes and event stream fields, translated to and from oxq's Rust types.
//!
//! Everything read from Redis is untrusted: a hash whose `opts` or `stacktrace` is not valid
//! JSON, or whose numbers do not parse, decodes with defaults and a `tracing::warn!` instead of
//! the store failing the whole read or fetch. A fetched job that cannot be run as written (no
//! `name`, `data` or `opts`, or `opts` not a JSON object: [`unrunnable`]) carries the reason as
//! its deferred failure, so the worker fails it at once with that reason.
//! (`data` is kept as text; the runtime reports undecodable data when it decodes the payload.)
//!
//! Encodings (BullMQ 6, `bullmq-v5-model.md` §2–§5):
//! * `opts`: `attempts`, `delay`, `priority`, `lifo`, `jobId`, `backoff {type, delay, jitter}`,
//!   `removeOnComplete` / `removeOnFail` as `true` (remove), `false` (keep), a count, or
//!   `{age (seconds), count}`; oxq's own `timeout` lives under `oxq.timeout` (ms), a key Node
//!   passes through untouched.
//! * delayed score `due · 4096 + tiebreak` (decode: `floor(score / 4096)`); prioritized score
//!   `priority · 2^32 + counter` (computed by the scripts).

use std::collections::HashMap;
use std::time::Duration;

use oxq_core::backend::{AttemptEnd, Retry};
use oxq_core::clock::millis;
use oxq_core::{Backoff, Event, JobId, JobOptions, JobRecord, JobState, KeepJobs, MAX_PRIORITY};
use serde_json::{Map, Value, json};

/// Job hash fields.
pub(crate) mod field {
    pub const NAME: &str = "name";
    pub const DATA: &str = "data";
    pub const OPTS: &str = "opts";
    pub const TIMESTAMP: &str = "timestamp";
    pub const DELAY: &str = "delay";
    pub const PROCESSED_ON: &str = "processedOn";
    pub const PROCESSED_BY: &str = "pb";
    pub const ATTEMPTS_STARTED: &str = "ats";
    pub const ATTEMPTS_MADE: &str = "atm";
    /// The pre-5.0 name of `atm`; Node reads it first.
    pub const ATTEMPTS_MADE_LEGACY: &str = "attemptsMade";
    pub const STALLED_COUNT: &str = "stc";
    pub const FINISHED_ON: &str = "finishedOn";
    pub const RETURN_VALUE: &str = "returnvalue";
    pub const FAILED_REASON: &str = "failedReason";
    pub const STACKTRACE: &str = "stacktrace";
    pub const PROGRESS: &str = "progress";
    pub const DEFERRED_FAILURE: &str = "defa";
    /// The key of a Node flow's parent job.
    pub const PARENT_KEY: &str = "parentKey";
    /// The deduplication id the job was added with.
    pub const DEDUP_ID: &str = "deid";
}

/// Keys of the `opts` JSON.
mod opt {
    pub const ATTEMPTS: &str = "attempts";
    pub const DELAY: &str = "delay";
    pub const PRIORITY: &str = "priority";
    pub const LIFO: &str = "lifo";
    pub const JOB_ID: &str = "jobId";
    pub const BACKOFF: &str = "backoff";
    pub const REMOVE_ON_COMPLETE: &str = "removeOnComplete";
    pub const REMOVE_ON_FAIL: &str = "removeOnFail";
    /// oxq's namespace inside `opts` (Node keeps unknown keys as they are).
    pub const OXQ: &str = "oxq";
    pub const OXQ_TIMEOUT: &str = "timeout";
}

/// The state key suffix a script reports for a job.
pub(crate) fn state_from_suffix(suffix: &str) -> Option<JobState> {
    Some(match suffix {
        "wait" | "paused" | "waiting" => JobState::Waiting,
        "prioritized" => JobState::Prioritized,
        "delayed" => JobState::Delayed,
        "active" => JobState::Active,
        "waiting-children" => JobState::WaitingChildren,
        "completed" => JobState::Completed,
        "failed" => JobState::Failed,
        _ => return None,
    })
}

/// The key suffix holding jobs of `state` (waiting jobs also sit in a legacy `paused` list).
pub(crate) fn state_suffix(state: JobState) -> &'static str {
    match state {
        JobState::Waiting => "wait",
        JobState::Prioritized => "prioritized",
        JobState::Delayed => "delayed",
        JobState::Active => "active",
        JobState::WaitingChildren => "waiting-children",
        JobState::Completed => "completed",
        JobState::Failed => "failed",
    }
}

/// Due time of a delayed score.
pub(crate) fn due_from_delayed_score(score: f64) -> u64 {
    if score.is_finite() && score > 0.0 {
        (score / 4096.0).floor() as u64
    } else {
        0
    }
}

// ---- options ----

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

/// Retention as the finish script's `(keep count, keep age ms)`: count −1 keeps all, 0 removes.
pub(crate) fn keep_args(keep: KeepJobs) -> (i64, u64) {
    match keep {
        KeepJobs::All => (-1, 0),
        KeepJobs::None => (0, 0),
        KeepJobs::Count(n) => (i64::from(n), 0),
        KeepJobs::Age { max_age, count } => (count.map_or(-1, i64::from), millis(max_age).max(1)),
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

/// The `opts` JSON BullMQ stores for a job.
pub(crate) fn encode_opts(options: &JobOptions) -> String {
    let mut obj = Map::new();
    obj.insert(opt::ATTEMPTS.into(), json!(options.attempts));
    if let Some(delay) = options.delay {
        obj.insert(opt::DELAY.into(), json!(millis(delay)));
    }
    if options.priority > 0 {
        obj.insert(opt::PRIORITY.into(), json!(options.priority));
    }
    if options.lifo {
        obj.insert(opt::LIFO.into(), json!(true));
    }
    if let Some(id) = &options.job_id {
        obj.insert(opt::JOB_ID.into(), json!(id.as_str()));
    }
    if let Some(backoff) = &options.backoff {
        obj.insert(opt::BACKOFF.into(), backoff_to_json(backoff));
    }
    if let Some(keep) = options.remove_on_complete {
        obj.insert(opt::REMOVE_ON_COMPLETE.into(), keep_to_json(keep));
    }
    if let Some(keep) = options.remove_on_fail {
        obj.insert(opt::REMOVE_ON_FAIL.into(), keep_to_json(keep));
    }
    if let Some(timeout) = options.timeout {
        obj.insert(
            opt::OXQ.into(),
            json!({ opt::OXQ_TIMEOUT: millis(timeout) }),
        );
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
    if let Some(attempts) = obj.get(opt::ATTEMPTS).and_then(Value::as_f64) {
        // Node stores 0 when no attempts were given; 0 and 1 both mean a single attempt
        options.attempts = clamp_u32(attempts).max(1);
    }
    if let Some(delay) = obj.get(opt::DELAY).and_then(Value::as_f64).map(clamp_ms) {
        options.delay = (delay > 0).then(|| Duration::from_millis(delay));
    }
    if let Some(priority) = obj.get(opt::PRIORITY).and_then(Value::as_f64) {
        options.priority = clamp_u32(priority).min(MAX_PRIORITY);
    }
    options.lifo = obj.get(opt::LIFO).and_then(Value::as_bool).unwrap_or(false);
    options.job_id = match obj.get(opt::JOB_ID) {
        Some(Value::String(id)) => Some(JobId(id.clone())),
        Some(Value::Number(n)) => Some(JobId(n.to_string())),
        _ => None,
    };
    options.backoff = obj.get(opt::BACKOFF).and_then(backoff_from_json);
    options.remove_on_complete = obj.get(opt::REMOVE_ON_COMPLETE).and_then(keep_from_json);
    options.remove_on_fail = obj.get(opt::REMOVE_ON_FAIL).and_then(keep_from_json);
    options.timeout = obj
        .get(opt::OXQ)
        .and_then(|o| o.get(opt::OXQ_TIMEOUT))
        .and_then(Value::as_f64)
        .map(clamp_ms)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    options
}

// ---- records ----

/// A job record from its hash fields. `state` comes from the key that holds the id; `score`
/// is its zset score when it has one.
pub(crate) fn decode_record(
    id: &str,
    state: JobState,
    score: Option<f64>,
    mut fields: HashMap<String, String>,
) -> JobRecord {
    let options = decode_opts(id, fields.get(field::OPTS).map(String::as_str));
    let name = fields.remove(field::NAME).unwrap_or_default();
    let data = fields
        .remove(field::DATA)
        .unwrap_or_else(|| "{}".to_owned());
    let number = |name: &str| -> Option<u64> {
        let text = fields.get(name)?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(n as u64),
            _ => {
                tracing::warn!(job_id = id, field = name, value = %text, "job field is not a number; ignored");
                None
            }
        }
    };
    let timestamp = number(field::TIMESTAMP).unwrap_or(0);
    let processed_on = number(field::PROCESSED_ON);
    let finished_on = number(field::FINISHED_ON);
    let attempts_made = number(field::ATTEMPTS_MADE_LEGACY)
        .or_else(|| number(field::ATTEMPTS_MADE))
        .unwrap_or(0);
    let attempts_started = number(field::ATTEMPTS_STARTED).unwrap_or(0);
    let stalled_count = number(field::STALLED_COUNT).unwrap_or(0);
    let delay = number(field::DELAY).unwrap_or(0);
    let stacktrace = match fields.get(field::STACKTRACE) {
        None => Vec::new(),
        Some(text) => match serde_json::from_str::<Vec<Value>>(text) {
            Ok(entries) => entries
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Err(_) => {
                tracing::warn!(job_id = id, "job stacktrace is not a JSON array; ignored");
                Vec::new()
            }
        },
    };

    let mut record = JobRecord::new(JobId(id.to_owned()), name, data, options, timestamp);
    record.state = state;
    record.processed_on = processed_on;
    record.finished_on = finished_on;
    record.attempts_made = saturate(attempts_made);
    record.attempts_started = saturate(attempts_started);
    record.stalled_count = saturate(stalled_count);
    if let Some(progress) = fields.remove(field::PROGRESS) {
        record.progress = progress;
    }
    record.return_value = fields.remove(field::RETURN_VALUE);
    record.failed_reason = fields.remove(field::FAILED_REASON);
    record.stacktrace = stacktrace;
    record.deferred_failure = fields.remove(field::DEFERRED_FAILURE);
    record.processed_by = fields.remove(field::PROCESSED_BY);
    if state == JobState::Delayed {
        record.due_at = Some(match score {
            Some(score) => due_from_delayed_score(score),
            None => timestamp.saturating_add(delay),
        });
    }
    record
}

/// Why a job hash cannot be run, if it cannot: a hash without `name`, `data` or `opts` (every
/// BullMQ producer writes all three, so it is foreign, partial or a leftover), or whose `opts`
/// are not a JSON object (its attempts, backoff and retention are unknown). Reading such a
/// record still works, with defaults; running it would act on guesses.
pub(crate) fn unrunnable(fields: &HashMap<String, String>) -> Option<String> {
    for name in [field::NAME, field::DATA, field::OPTS] {
        if !fields.contains_key(name) {
            return Some(format!("malformed job hash: no `{name}` field"));
        }
    }
    let opts = fields
        .get(field::OPTS)
        .map(String::as_str)
        .unwrap_or_default();
    match serde_json::from_str::<Value>(opts) {
        Ok(Value::Object(_)) => None,
        Ok(other) => Some(format!(
            "malformed job hash: `opts` is not a JSON object (found {})",
            json_kind(&other)
        )),
        Err(e) => Some(format!(
            "malformed job hash: `opts` is not a JSON object ({e})"
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- finish outcomes ----

/// One finish item as the finish script reads it: kind, value, delay ms, keep count, keep age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FinishArgs {
    pub kind: &'static str,
    pub value: String,
    pub delay_ms: u64,
    pub keep_count: i64,
    pub keep_age_ms: u64,
}

/// Encodes how an attempt ended, at `now`; `None` for ends this store does not know.
///
/// Kinds: `completed`; `retry` (failed, waiting again now); `delay` (failed, delayed by its
/// backoff, an attempt used); `failed` (for good); `postpone` (the processor asked to run
/// again at `until`: delayed for `until - now` ms, or 0 when `until` has passed, no attempt
/// used; BullMQ's `moveToDelayed` with skip-attempt).
pub(crate) fn finish_args(end: &AttemptEnd, now: u64) -> Option<FinishArgs> {
    Some(match end {
        AttemptEnd::Completed { return_value, keep } => {
            let (keep_count, keep_age_ms) = keep_args(*keep);
            FinishArgs {
                kind: "completed",
                value: return_value.clone(),
                delay_ms: 0,
                keep_count,
                keep_age_ms,
            }
        }
        AttemptEnd::Failed { reason, retry } => {
            let (kind, delay_ms, keep) = match retry {
                Retry::Now => ("retry", 0, KeepJobs::All),
                Retry::After(d) if d.is_zero() => ("retry", 0, KeepJobs::All),
                Retry::After(d) => ("delay", millis(*d), KeepJobs::All),
                Retry::Never { keep } => ("failed", 0, *keep),
            };
            let (keep_count, keep_age_ms) = keep_args(keep);
            FinishArgs {
                kind,
                value: reason.clone(),
                delay_ms,
                keep_count,
                keep_age_ms,
            }
        }
        AttemptEnd::Delayed { until } => FinishArgs {
            kind: "postpone",
            value: String::new(),
            delay_ms: until.saturating_sub(now),
            keep_count: -1,
            keep_age_ms: 0,
        },
        _ => return None,
    })
}

// ---- events ----

/// An event from a stream entry's fields; `None` for events oxq has no variant for
/// (`waiting-children`, `deduplicated`, custom events, ...).
pub(crate) fn decode_event(fields: &HashMap<String, String>) -> Option<Event> {
    let get = |name: &str| fields.get(name).cloned();
    let job_id = || get("jobId").map(JobId);
    let prev = || get("prev").and_then(|p| state_from_suffix(&p));
    let number = |name: &str| {
        get(name)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|n| n.max(0.0) as u64)
    };
    Some(match fields.get("event")?.as_str() {
        "added" => Event::Added {
            job_id: job_id()?,
            name: get("name").unwrap_or_default(),
        },
        "waiting" => Event::Waiting {
            job_id: job_id()?,
            prev: prev(),
        },
        "delayed" => Event::Delayed {
            job_id: job_id()?,
            due_at: number("delay").unwrap_or(0),
        },
        "active" => Event::Active {
            job_id: job_id()?,
            prev: prev().unwrap_or(JobState::Waiting),
        },
        "progress" => Event::Progress {
            job_id: job_id()?,
            data: get("data").unwrap_or_else(|| "0".to_owned()),
        },
        "completed" => Event::Completed {
            job_id: job_id()?,
            return_value: get("returnvalue").unwrap_or_else(|| "null".to_owned()),
        },
        "failed" => Event::Failed {
            job_id: job_id()?,
            failed_reason: get("failedReason").unwrap_or_default(),
        },
        "retries-exhausted" => Event::RetriesExhausted {
            job_id: job_id()?,
            attempts_made: saturate(number("attemptsMade").unwrap_or(0)),
        },
        "stalled" => Event::Stalled { job_id: job_id()? },
        "duplicated" => Event::Duplicated { job_id: job_id()? },
        "removed" => Event::Removed {
            job_id: job_id()?,
            prev: prev(),
        },
        "drained" => Event::Drained,
        "paused" => Event::Paused,
        "resumed" => Event::Resumed,
        "cleaned" => Event::Cleaned {
            count: number("count").unwrap_or(0),
        },
        _ => return None,
    })
}

/// The millisecond part of a stream id (`<ms>-<seq>`).
pub(crate) fn stream_id_millis(id: &str) -> u64 {
    id.split('-')
        .next()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
}

fn saturate(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn clamp_u32(x: f64) -> u32 {
    if x.is_finite() {
        x.clamp(0.0, f64::from(u32::MAX)) as u32
    } else {
        0
    }
}

fn clamp_ms(x: f64) -> u64 {
    if x.is_finite() {
        x.clamp(0.0, 1e15) as u64
    } else {
        0
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
        assert_eq!(keep_args(KeepJobs::All), (-1, 0));
        assert_eq!(keep_args(KeepJobs::None), (0, 0));
        assert_eq!(keep_args(half), (-1, 500));
    }

    #[test]
    fn malformed_hash_still_decodes() {
        let fields: HashMap<String, String> = [
            ("name", "n"),
            ("data", "{broken"),
            ("opts", "nope"),
            ("timestamp", "abc"),
            ("stacktrace", "{}"),
            ("atm", "2"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        assert_eq!(
            unrunnable(&fields).as_deref(),
            Some(
                "malformed job hash: `opts` is not a JSON object (expected ident at line 1 column 2)"
            )
        );
        let record = decode_record("9", JobState::Waiting, None, fields);
        assert_eq!(record.data, "{broken");
        assert_eq!(record.options, JobOptions::new());
        assert_eq!(record.timestamp, 0);
        assert_eq!(record.attempts_made, 2);
        assert!(record.stacktrace.is_empty());
    }

    #[test]
    fn hashes_missing_what_every_producer_writes_are_unrunnable() {
        let hash = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let full = [("name", "n"), ("data", "{}"), ("opts", "{}")];
        assert_eq!(unrunnable(&hash(&full)), None);
        for missing in ["name", "data", "opts"] {
            let partial: Vec<_> = full
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert_eq!(
                unrunnable(&hash(&partial)),
                Some(format!("malformed job hash: no `{missing}` field"))
            );
        }
        assert_eq!(
            unrunnable(&hash(&[("name", "n"), ("data", "{}"), ("opts", "[1]")])).as_deref(),
            Some("malformed job hash: `opts` is not a JSON object (found an array)")
        );
    }

    #[test]
    fn attempt_ends_encode_for_the_finish_script() {
        let postpone = finish_args(&AttemptEnd::Delayed { until: 10_500 }, 10_000).expect("known");
        assert_eq!((postpone.kind, postpone.delay_ms), ("postpone", 500));
        let overdue = finish_args(&AttemptEnd::Delayed { until: 9_000 }, 10_000).expect("known");
        assert_eq!(overdue.delay_ms, 0, "a time already passed is due now");
        let backoff = AttemptEnd::Failed {
            reason: "boom".into(),
            retry: Retry::After(Duration::from_millis(250)),
        };
        let backoff = finish_args(&backoff, 10_000).expect("known");
        assert_eq!((backoff.kind, backoff.delay_ms), ("delay", 250));
        assert_eq!(backoff.value, "boom");
        let done = AttemptEnd::Completed {
            return_value: "1".into(),
            keep: KeepJobs::Count(3),
        };
        let done = finish_args(&done, 0).expect("known");
        assert_eq!(
            (done.kind, done.keep_count, done.keep_age_ms),
            ("completed", 3, 0)
        );
    }

    #[test]
    fn delayed_score_decodes_to_due_time() {
        assert_eq!(
            due_from_delayed_score(1_722_222_222_222.0 * 4096.0 + 17.0),
            1_722_222_222_222
        );
    }

    proptest::proptest! {
        #[test]
        fn delayed_scores_keep_the_due_millisecond(due in 0u64..2_000_000_000_000, tie in 0u64..4096) {
            let score = (due * 4096 + tie) as f64;
            proptest::prop_assert_eq!(due_from_delayed_score(score), due);
        }
    }
}
