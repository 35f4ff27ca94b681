//! `events_latest` / `events_read`: the `events` stream, read with `XREVRANGE` and
//! `XREAD [BLOCK]` (the blocking read on a dedicated connection; dropping the future loses
//! nothing, since the caller's cursor only moves with what it received).
//!
//! Entries oxq has no event for (`debounced`, custom events) are skipped; a batch made only of
//! those is read past within the same call, so a reader never spins on them.

use std::time::{Duration, Instant};

use oxq_core::backend::ReadEvents;
use oxq_core::{EventId, QueueRef, StoredEvent};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::StoreResult;
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::wire;

pub(crate) async fn latest(
    backend: &RedisBackend,
    queue: &QueueRef,
) -> StoreResult<Option<EventId>> {
    let key = QueueKeys::new(queue).key(Key::Events);
    let value: Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut backend.conn())
        .await?;
    let entries = reply::array(value, "events_latest")?;
    match entries.into_iter().next() {
        Some(entry) => {
            let parts = reply::array(entry, "events_latest")?;
            let id = parts
                .first()
                .map(|v| reply::string(v, "events_latest"))
                .transpose()?;
            Ok(id.map(EventId))
        }
        None => Ok(None),
    }
}

pub(crate) async fn read(backend: &RedisBackend, req: ReadEvents) -> StoreResult<Vec<StoredEvent>> {
    let key = QueueKeys::new(&req.queue).key(Key::Events);
    let count = req.max.max(1);
    let deadline = Instant::now() + req.block;
    let mut after = req.after.map_or_else(|| "0-0".to_owned(), |id| id.0);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT").arg(count);
        let value: Value = if remaining >= Duration::from_millis(1) {
            cmd.arg("BLOCK").arg(remaining.as_millis() as u64);
            cmd.arg("STREAMS").arg(&key).arg(&after);
            backend.blocking.query(&cmd, remaining, "XREAD").await?
        } else {
            cmd.arg("STREAMS").arg(&key).arg(&after);
            cmd.query_async(&mut backend.conn()).await?
        };
        let entries = stream_entries(value)?;
        let Some((last, _)) = entries.last() else {
            return Ok(Vec::new());
        };
        after = last.clone();
        let events: Vec<StoredEvent> = entries
            .into_iter()
            .filter_map(|(id, fields)| {
                let event = wire::decode_event(&fields)?;
                Some(StoredEvent {
                    timestamp: wire::stream_id_millis(&id),
                    id: EventId(id),
                    event,
                })
            })
            .collect();
        if !events.is_empty() {
            return Ok(events);
        }
    }
}

type Entry = (String, std::collections::HashMap<String, String>);

/// The entries of an `XREAD` reply on one stream (RESP2 arrays or a RESP3 map).
fn stream_entries(value: Value) -> StoreResult<Vec<Entry>> {
    let streams = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(pairs) => pairs.into_iter().map(|(_, v)| v).collect(),
        other => reply::array(other, "events_read")?
            .into_iter()
            .map(|stream| {
                let mut parts = reply::array(stream, "events_read")?.into_iter();
                parts.next();
                Ok(parts.next().unwrap_or(Value::Nil))
            })
            .collect::<StoreResult<Vec<_>>>()?,
    };
    let mut out = Vec::new();
    for entries in streams {
        for entry in reply::array(entries, "events_read")? {
            let mut parts = reply::array(entry, "events_read")?.into_iter();
            let (Some(id), Some(fields)) = (parts.next(), parts.next()) else {
                continue;
            };
            out.push((
                reply::string(&id, "events_read")?,
                reply::field_map(fields, "events_read")?,
            ));
        }
    }
    Ok(out)
}
