//! Reading script and command replies (`redis::Value`) without trusting their shape: every
//! helper returns a [`RedisStoreError::Reply`] naming the caller instead of panicking.

use std::collections::HashMap;

use oxq_core::{JobRecord, JobState};
use redis::Value;

use crate::error::{RedisStoreError, StoreResult};
use crate::keys::Key;
use crate::wire;

/// The items of an array reply.
pub(crate) fn array(value: Value, context: &'static str) -> StoreResult<Vec<Value>> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(RedisStoreError::reply(
            context,
            format!("expected an array, got {other:?}"),
        )),
    }
}

/// A string reply (bulk, simple or an integer rendered as text).
pub(crate) fn string(value: &Value, context: &'static str) -> StoreResult<String> {
    match value {
        Value::BulkString(bytes) => Ok(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        Value::Int(n) => Ok(n.to_string()),
        Value::Double(d) => Ok(d.to_string()),
        Value::VerbatimString { text, .. } => Ok(text.clone()),
        other => Err(RedisStoreError::reply(
            context,
            format!("expected a string, got {other:?}"),
        )),
    }
}

/// An integer reply (or a string holding one).
pub(crate) fn int(value: &Value, context: &'static str) -> StoreResult<i64> {
    match value {
        Value::Int(n) => Ok(*n),
        Value::BulkString(_) | Value::SimpleString(_) => {
            let text = string(value, context)?;
            text.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f as i64)
                .ok_or_else(|| {
                    RedisStoreError::reply(context, format!("expected an integer, got {text:?}"))
                })
        }
        other => Err(RedisStoreError::reply(
            context,
            format!("expected an integer, got {other:?}"),
        )),
    }
}

/// A flat `[field, value, field, value, ...]` array (HGETALL, stream entries) as a map.
pub(crate) fn field_map(
    value: Value,
    context: &'static str,
) -> StoreResult<HashMap<String, String>> {
    if let Value::Map(pairs) = value {
        return pairs
            .iter()
            .map(|(k, v)| Ok((string(k, context)?, string(v, context)?)))
            .collect();
    }
    let items = array(value, context)?;
    if items.len() % 2 != 0 {
        return Err(RedisStoreError::reply(
            context,
            "odd number of field/value items",
        ));
    }
    items
        .chunks(2)
        .map(|pair| Ok((string(&pair[0], context)?, string(&pair[1], context)?)))
        .collect()
}

/// A record from a script's `state suffix, score, fields` triple (`get_job.lua`'s reply, also
/// used by `list_jobs.lua` and by `add.lua` for an existing id). A suffix that names no state
/// reads as waiting, with a warning; an empty hash is an error.
pub(crate) fn job_record(
    id: &str,
    suffix: &Value,
    score: &Value,
    fields: Value,
    context: &'static str,
) -> StoreResult<JobRecord> {
    let suffix = string(suffix, context)?;
    let state = Key::state_of_suffix(&suffix).unwrap_or_else(|| {
        tracing::warn!(
            job_id = id,
            "job hash is in no state key; reported as waiting"
        );
        JobState::Waiting
    });
    let score = string(score, context)?.parse::<f64>().ok();
    let fields = field_map(fields, context)?;
    if fields.is_empty() {
        return Err(RedisStoreError::reply(context, "empty job hash"));
    }
    Ok(wire::decode_record(id, state, score, fields))
}

/// The first field of a hash reply (as [`field_map`] takes it) whose value is not UTF-8, which
/// [`field_map`] reads lossily. Every BullMQ producer writes text, so such a value is corrupt.
pub(crate) fn non_utf8_field(value: &Value) -> Option<String> {
    let bad =
        |v: &Value| matches!(v, Value::BulkString(bytes) if std::str::from_utf8(bytes).is_err());
    let name = |k: &Value| string(k, "non_utf8_field").unwrap_or_default();
    match value {
        Value::Map(pairs) => pairs.iter().find(|(_, v)| bad(v)).map(|(k, _)| name(k)),
        Value::Array(items) => items
            .chunks(2)
            .find(|pair| pair.len() == 2 && bad(&pair[1]))
            .map(|pair| name(&pair[0])),
        _ => None,
    }
}

/// A fetched job's hash as an active job record; one that cannot be run as written (a value
/// that was not UTF-8, the field named in `not_utf8`, see [`non_utf8_field`], or
/// [`wire::unrunnable`]) carries the reason as its deferred failure.
pub(crate) fn fetched_job(
    id: &str,
    fields: HashMap<String, String>,
    not_utf8: Option<String>,
) -> JobRecord {
    let unrunnable = match not_utf8 {
        Some(field) => Some(format!("malformed job hash: `{field}` is not valid UTF-8")),
        None => wire::unrunnable(&fields),
    };
    let mut record = wire::decode_record(id, JobState::Active, None, fields);
    if record.deferred_failure.is_none() {
        // the worker fails it at once with this reason instead of running a guess
        record.deferred_failure = unrunnable;
    }
    record
}

/// A hint in ms since the epoch, where negative means none.
pub(crate) fn hint(value: &Value, context: &'static str) -> StoreResult<Option<u64>> {
    let n = int(value, context)?;
    Ok(u64::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        assert!(array(Value::Int(3), "t").is_err());
        assert!(int(&bulk("x"), "t").is_err());
        assert_eq!(int(&bulk("12"), "t").ok(), Some(12));
        assert!(field_map(Value::Array(vec![bulk("a")]), "t").is_err());
        let map = field_map(Value::Array(vec![bulk("a"), bulk("1")]), "t").expect("map");
        assert_eq!(map.get("a").map(String::as_str), Some("1"));
        assert_eq!(hint(&Value::Int(-1), "t").ok(), Some(None));
    }

    #[test]
    fn a_value_that_is_not_utf8_is_found_by_its_field() {
        let hash = Value::Array(vec![
            bulk("name"),
            bulk("n"),
            bulk("data"),
            Value::BulkString(vec![0xff, 0x00, 0xfe]),
        ]);
        assert_eq!(non_utf8_field(&hash).as_deref(), Some("data"));
        assert_eq!(
            non_utf8_field(&Value::Array(vec![bulk("a"), bulk("1")])),
            None
        );
    }
}
