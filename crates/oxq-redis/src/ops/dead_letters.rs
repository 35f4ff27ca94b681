//! The [`DeadLetters`] facet on Redis: the setting in the source queue's `meta` hash, and
//! `scripts/dead_letters_{list,replay,purge}.lua` on the dead letter queue. The copy itself is
//! made by `finish.lua` (`scripts/include/dead_letter.lua`) in the step that fails the job.
//!
//! Setting: `meta` fields `oxq:dlq` (the dead letter queue's base key `prefix:name:`) and
//! `oxq:dlq.name` (its name), written with one `HSET` (removed with one `HDEL`); Node BullMQ
//! ignores both. The finish script builds the dead letter queue's keys from that base, so both
//! queues must be on one node: a setting whose keys would fall in another Redis Cluster slot
//! than the source's is refused when the source's keys carry a hash tag (a queue without one
//! cannot run on a cluster at all). A hash tag in the shared prefix (`{jobs}`) puts every
//! queue of it in one slot; one in the queue names does not.
//!
//! Counting is `ZCARD` of the dead letter queue's `oxq:dead` index.

use async_trait::async_trait;
use oxq_core::backend::{
    DeadLetter, DeadLetters, DeadLettersPurged, ListDeadLetters, OfQueue, PurgeDeadLetters,
    ReplayDeadLetters, ReplayedDeadLetter, SetDeadLetterQueue,
};
use oxq_core::{Error, JobId, QueueRef, Result};
use redis::Value;

use crate::backend::RedisBackend;
use crate::error::{RedisStoreError, StoreResult};
use crate::keys::{Key, QueueKeys};
use crate::reply;
use crate::scripts::{Argv, ScriptCall};

/// The `meta` field holding the dead letter queue's base key.
const DLQ_BASE_FIELD: &str = "oxq:dlq";
/// The `meta` field holding the dead letter queue's name.
const DLQ_NAME_FIELD: &str = "oxq:dlq.name";

/// The hash tag of `key` (Redis Cluster's rule: the text between the first `{` and the next
/// `}` when not empty), if it has one.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let rest = &key[open + 1..];
    let close = rest.find('}')?;
    (close > 0).then(|| &rest[..close])
}

/// CRC16/XMODEM, Redis Cluster's key hash.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The cluster slot of `key`.
fn slot(key: &str) -> u16 {
    crc16(hash_tag(key).unwrap_or(key).as_bytes()) % 16384
}

/// Refuses a dead letter queue the finish script could not reach on a cluster (see the
/// module docs).
fn check_slots(source: &QueueRef, target: &QueueRef) -> Result<()> {
    let source_key = QueueKeys::new(source).key(Key::Meta);
    let target_key = QueueKeys::new(target).key(Key::Meta);
    if hash_tag(&source_key).is_some() && slot(&source_key) != slot(&target_key) {
        return Err(Error::InvalidOptions(format!(
            "dead letter queue {} would live in Redis Cluster slot {} but queue {} is in slot {}: \
             a job's move is one script, so both must share a slot (put the hash tag in the \
             prefix, e.g. {{jobs}}, not in the queue names)",
            target.name,
            slot(&target_key),
            source.name,
            slot(&source_key)
        )));
    }
    Ok(())
}

/// Refuses a target on another prefix, the queue itself, and one across slots.
fn check_target(source: &QueueRef, target: &QueueRef) -> Result<()> {
    if target.prefix != source.prefix {
        return Err(Error::InvalidOptions(format!(
            "dead letter queue {}:{} must share the prefix {} of queue {}",
            target.prefix, target.name, source.prefix, source.name
        )));
    }
    if target.name == source.name {
        return Err(Error::InvalidOptions(format!(
            "queue {} cannot be its own dead letter queue",
            source.name
        )));
    }
    check_slots(source, target)
}

async fn set(backend: &RedisBackend, req: SetDeadLetterQueue) -> StoreResult<()> {
    let meta = QueueKeys::new(&req.queue).key(Key::Meta);
    let mut conn = backend.conn();
    match &req.target {
        Some(target) => {
            let base = QueueKeys::new(target).base().to_owned();
            let _: Value = redis::cmd("HSET")
                .arg(&meta)
                .arg(DLQ_BASE_FIELD)
                .arg(base)
                .arg(DLQ_NAME_FIELD)
                .arg(&target.name)
                .query_async(&mut conn)
                .await?;
        }
        None => {
            let _: Value = redis::cmd("HDEL")
                .arg(&meta)
                .arg(DLQ_BASE_FIELD)
                .arg(DLQ_NAME_FIELD)
                .query_async(&mut conn)
                .await?;
        }
    }
    Ok(())
}

async fn get(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<Option<QueueRef>> {
    let name: Option<String> = redis::cmd("HGET")
        .arg(QueueKeys::new(queue).key(Key::Meta))
        .arg(DLQ_NAME_FIELD)
        .query_async(&mut backend.conn())
        .await?;
    Ok(name.map(|name| QueueRef {
        prefix: queue.prefix.clone(),
        name,
    }))
}

async fn count(backend: &RedisBackend, queue: &QueueRef) -> StoreResult<u64> {
    let n: u64 = redis::cmd("ZCARD")
        .arg(QueueKeys::new(queue).key(Key::OxqDead))
        .query_async(&mut backend.conn())
        .await?;
    Ok(n)
}

pub(crate) struct ListCall {
    pub offset: u64,
    pub limit: u64,
}

impl ScriptCall for ListCall {
    const NAME: &'static str = "dead_letters_list";
    const KEYS: &'static [Key] = &[
        Key::OxqDead,
        Key::Wait,
        Key::Paused,
        Key::Active,
        Key::Prioritized,
        Key::Delayed,
        Key::Completed,
        Key::Failed,
        Key::WaitingChildren,
    ];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.offset).arg(self.limit);
    }
}

async fn list(backend: &RedisBackend, req: ListDeadLetters) -> StoreResult<Vec<DeadLetter>> {
    let call = ListCall {
        offset: req.offset,
        limit: req.limit.min(i64::MAX as u64),
    };
    let items = reply::array(backend.run(&req.queue, &call).await?, "dead_letters_list")?;
    let mut out = Vec::with_capacity(items.len() / 4);
    let mut items = items.into_iter();
    while let (Some(id), Some(suffix), Some(score), Some(fields)) =
        (items.next(), items.next(), items.next(), items.next())
    {
        let id = reply::string(&id, "dead_letters_list")?;
        let map = reply::field_map(fields.clone(), "dead_letters_list")?;
        let record = reply::job_record(&id, &suffix, &score, fields, "dead_letters_list")?;
        let field = |name: &str| map.get(name).cloned();
        let number = |name: &str| field(name).and_then(|v| v.parse::<u64>().ok());
        let source = QueueRef {
            prefix: req.queue.prefix.clone(),
            name: field("oxq:srcQueue").unwrap_or_default(),
        };
        let replays = number("oxq:replays").unwrap_or(0);
        out.push(
            DeadLetter::new(
                record,
                source,
                JobId(field("oxq:srcId").unwrap_or_default()),
                number("oxq:deadAt").unwrap_or(0),
            )
            .replayed(
                u32::try_from(replays).unwrap_or(u32::MAX),
                field("oxq:replayedAs").map(JobId),
            ),
        );
    }
    Ok(out)
}

pub(crate) struct ReplayCall<'a> {
    pub now: u64,
    pub ids: &'a [JobId],
}

impl ScriptCall for ReplayCall<'_> {
    const NAME: &'static str = "dead_letters_replay";
    const KEYS: &'static [Key] = &[Key::OxqDead, Key::Meta];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now);
        for id in self.ids {
            inv.arg(id.as_str());
        }
    }
}

async fn replay(
    backend: &RedisBackend,
    req: ReplayDeadLetters,
) -> StoreResult<Vec<ReplayedDeadLetter>> {
    if req.ids.is_empty() {
        return Ok(Vec::new());
    }
    let call = ReplayCall {
        now: req.now,
        ids: &req.ids,
    };
    let items = reply::array(backend.run(&req.queue, &call).await?, "dead_letters_replay")?;
    if items.len() != req.ids.len() {
        return Err(RedisStoreError::reply(
            "dead_letters_replay",
            "one answer per id expected",
        ));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::Array(parts) => match parts.as_slice() {
                [source, id] => Ok(ReplayedDeadLetter::Replayed {
                    source: QueueRef {
                        prefix: req.queue.prefix.clone(),
                        name: reply::string(source, "dead_letters_replay")?,
                    },
                    job_id: JobId(reply::string(id, "dead_letters_replay")?),
                }),
                _ => Err(RedisStoreError::reply(
                    "dead_letters_replay",
                    "expected { source, id }",
                )),
            },
            other => match reply::int(&other, "dead_letters_replay")? {
                -1 => Ok(ReplayedDeadLetter::NotFound),
                code => Err(RedisStoreError::reply(
                    "dead_letters_replay",
                    format!("unexpected code {code}"),
                )),
            },
        })
        .collect()
}

pub(crate) struct PurgeCall<'a> {
    pub now: u64,
    pub ids: Option<&'a [JobId]>,
}

impl ScriptCall for PurgeCall<'_> {
    const NAME: &'static str = "dead_letters_purge";
    const KEYS: &'static [Key] = &[Key::OxqDead, Key::Failed, Key::Meta, Key::Events];

    fn args<A: Argv>(&self, inv: &mut A) {
        inv.arg(self.now);
        match self.ids {
            None => {
                inv.arg("1");
            }
            Some(ids) => {
                inv.arg("0");
                for id in ids {
                    inv.arg(id.as_str());
                }
            }
        }
    }
}

async fn purge(backend: &RedisBackend, req: PurgeDeadLetters) -> StoreResult<DeadLettersPurged> {
    let call = PurgeCall {
        now: req.now,
        ids: req.ids.as_deref(),
    };
    let count = reply::int(&backend.run(&req.queue, &call).await?, "dead_letters_purge")?;
    Ok(DeadLettersPurged {
        count: u64::try_from(count).unwrap_or(0),
    })
}

#[async_trait]
impl DeadLetters for RedisBackend {
    async fn dead_letter_queue_set(&self, req: SetDeadLetterQueue) -> Result<()> {
        if let Some(target) = &req.target {
            check_target(&req.queue, target)?;
        }
        self.named(set(self, req).await)
    }

    async fn dead_letter_queue_get(&self, req: OfQueue) -> Result<Option<QueueRef>> {
        self.named(get(self, &req.queue).await)
    }

    async fn dead_letters_list(&self, req: ListDeadLetters) -> Result<Vec<DeadLetter>> {
        self.named(list(self, req).await)
    }

    async fn dead_letters_count(&self, req: OfQueue) -> Result<u64> {
        self.named(count(self, &req.queue).await)
    }

    async fn dead_letters_replay(&self, req: ReplayDeadLetters) -> Result<Vec<ReplayedDeadLetter>> {
        self.named(replay(self, req).await)
    }

    async fn dead_letters_purge(&self, req: PurgeDeadLetters) -> Result<DeadLettersPurged> {
        self.named(purge(self, req).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_redis_cluster() {
        // values from CLUSTER KEYSLOT
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("a{}b"), crc16(b"a{}b") % 16384);
        assert_eq!(hash_tag("{jobs}:a:meta"), Some("jobs"));
        assert_eq!(hash_tag("bull:{a}:meta"), Some("a"));
        assert_eq!(hash_tag("bull:a:meta"), None);
    }

    #[test]
    fn a_dead_letter_queue_across_slots_is_refused() {
        let q = |prefix: &str, name: &str| QueueRef::with_prefix(prefix, name).expect("queue");
        assert!(check_slots(&q("{jobs}", "a"), &q("{jobs}", "dead")).is_ok());
        assert!(check_slots(&q("bull", "a"), &q("bull", "dead")).is_ok());
        assert!(check_slots(&q("bull", "{a}"), &q("bull", "{b}")).is_err());
        assert!(check_slots(&q("bull", "{a}"), &q("bull", "dead")).is_err());
        assert!(check_slots(&q("bull", "{a}"), &q("bull", "{a}-dead")).is_ok());
    }
}
