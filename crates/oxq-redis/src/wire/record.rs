//! A job hash as a [`JobRecord`], and [`unrunnable`]: whether a fetched hash can be run as
//! written. A child's parent comes from its `parentKey` / `parent` fields ([`super::parent`]).
//!
//! Everything read from Redis is untrusted: a hash whose `opts` or `stacktrace` is not valid
//! JSON, or whose numbers do not parse, decodes with defaults and a `tracing::warn!` instead of
//! the store failing the whole read or fetch. A fetched job that cannot be run as written (no
//! `name`, `data` or `opts`, `opts` not a JSON object, a `timestamp` that is not a number, or
//! a value that is not UTF-8, see `reply::non_utf8_field`) carries the reason as its deferred
//! failure (see `reply::fetched_job`), so the worker fails it at once with that reason. `data`
//! is kept as text; the runtime reports undecodable data when it decodes the payload.

use std::collections::HashMap;

use oxq_core::{JobId, JobRecord, JobState};
use serde_json::Value;

use super::fields;
use super::numbers::saturate;
use super::opts::decode_opts;
use super::parent;
use super::scores::due_from_delayed_score;

/// A job record from its hash fields. `state` comes from the key that holds the id; `score`
/// is its zset score when it has one.
pub(crate) fn decode_record(
    id: &str,
    state: JobState,
    score: Option<f64>,
    mut hash: HashMap<String, String>,
) -> JobRecord {
    let mut options = decode_opts(id, hash.get(fields::OPTS).map(String::as_str));
    // the hash fields are what the scripts act on: a child Node detached has none
    options.parent = hash
        .get(fields::PARENT_KEY)
        .and_then(|key| parent::from_hash(key, hash.get(fields::PARENT).map(String::as_str)));
    let name = hash.remove(fields::NAME).unwrap_or_default();
    let data = hash.remove(fields::DATA).unwrap_or_else(|| "{}".to_owned());
    let number = |name: &str| -> Option<u64> {
        let text = hash.get(name)?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(n as u64),
            _ => {
                tracing::warn!(job_id = id, field = name, value = %text, "job field is not a number; ignored");
                None
            }
        }
    };
    let timestamp = number(fields::TIMESTAMP).unwrap_or(0);
    let processed_on = number(fields::PROCESSED_ON);
    let finished_on = number(fields::FINISHED_ON);
    let attempts_made = number(fields::ATTEMPTS_MADE_LEGACY)
        .or_else(|| number(fields::ATTEMPTS_MADE))
        .unwrap_or(0);
    let attempts_started = number(fields::ATTEMPTS_STARTED).unwrap_or(0);
    let stalled_count = number(fields::STALLED_COUNT).unwrap_or(0);
    let delay = number(fields::DELAY).unwrap_or(0);
    let stacktrace = match hash.get(fields::STACKTRACE) {
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
    if let Some(progress) = hash.remove(fields::PROGRESS) {
        record.progress = progress;
    }
    record.return_value = hash.remove(fields::RETURN_VALUE);
    record.failed_reason = hash.remove(fields::FAILED_REASON);
    record.stacktrace = stacktrace;
    record.deferred_failure = hash.remove(fields::DEFERRED_FAILURE);
    record.processed_by = hash.remove(fields::PROCESSED_BY);
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
/// are not a JSON object (its attempts, backoff and retention are unknown), or whose
/// `timestamp` is not a number. Reading such a record still works, with defaults; running it
/// would act on guesses.
pub(crate) fn unrunnable(hash: &HashMap<String, String>) -> Option<String> {
    for name in [fields::NAME, fields::DATA, fields::OPTS] {
        if !hash.contains_key(name) {
            return Some(format!("malformed job hash: no `{name}` field"));
        }
    }
    let opts = hash
        .get(fields::OPTS)
        .map(String::as_str)
        .unwrap_or_default();
    match serde_json::from_str::<Value>(opts) {
        Ok(Value::Object(_)) => {}
        Ok(other) => {
            return Some(format!(
                "malformed job hash: `opts` is not a JSON object (found {})",
                json_kind(&other)
            ));
        }
        Err(e) => {
            return Some(format!(
                "malformed job hash: `opts` is not a JSON object ({e})"
            ));
        }
    }
    match hash.get(fields::TIMESTAMP) {
        Some(text) if !text.parse::<f64>().is_ok_and(|n| n.is_finite() && n >= 0.0) => Some(
            format!("malformed job hash: `timestamp` is not a number (found {text:?})"),
        ),
        _ => None,
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

#[cfg(test)]
mod tests {
    use oxq_core::JobOptions;

    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn malformed_hash_still_decodes() {
        let fields = hash(&[
            ("name", "n"),
            ("data", "{broken"),
            ("opts", "nope"),
            ("timestamp", "abc"),
            ("stacktrace", "{}"),
            ("atm", "2"),
        ]);
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
        assert_eq!(
            unrunnable(&hash(&[
                ("name", "n"),
                ("data", "{}"),
                ("opts", "{}"),
                ("timestamp", "abc")
            ]))
            .as_deref(),
            Some("malformed job hash: `timestamp` is not a number (found \"abc\")")
        );
    }

    #[test]
    fn a_child_reads_its_parent_from_the_hash_fields() {
        let opts = r#"{"attempts":0,"parent":{"id":"p","queue":"bull:up"},"fpof":true}"#;
        let child = hash(&[
            ("opts", opts),
            ("parentKey", "bull:up:p"),
            ("parent", r#"{"id":"p","queueKey":"bull:up","fpof":true}"#),
        ]);
        let link = decode_record("c", JobState::Waiting, None, child)
            .options
            .parent
            .expect("a parent");
        assert_eq!(link.key().to_string(), "bull:up:p");
        assert_eq!(link.on_failure, oxq_core::ChildFailure::FailParent);
        // detached by Node (`removeChildDependency`): opts.parent stays, the fields are gone
        let detached = decode_record("c", JobState::Waiting, None, hash(&[("opts", opts)]));
        assert_eq!(detached.options.parent, None);
    }

    #[test]
    fn a_delayed_record_is_due_per_its_score_or_its_fields() {
        let fields = hash(&[("timestamp", "1000"), ("delay", "500")]);
        let by_fields = decode_record("1", JobState::Delayed, None, fields.clone());
        assert_eq!(by_fields.due_at, Some(1500));
        let by_score = decode_record("1", JobState::Delayed, Some(2000.0 * 4096.0), fields);
        assert_eq!(by_score.due_at, Some(2000));
    }
}
