//! The [`DeadLetters`] facet: a queue's dead letter queue, the copies of jobs that failed for
//! good, and their replay.
//!
//! # Where the setting lives
//! Which queue receives a queue's dead jobs is a setting of the *source queue in the store*,
//! not of a worker or a `Queue` handle: every process that finishes jobs of the queue (an oxq
//! worker, a CLI, another service) must agree on it, and a producer that never heard of it must
//! not be able to turn it off. On Redis it is the source queue's `meta` hash field `oxq:dlq`
//! (the dead letter queue's base key `prefix:name:`); Node BullMQ reads the fields it knows and
//! ignores this one. On SQLite it is a row of `dead_letter_queues`.
//!
//! # What a dead job is
//! When an attempt ends failed for good (attempts exhausted, a failure the processor marked
//! final, or the deferred failure of a job that stalled more than `max_stalled_count` times),
//! the same step that fails it copies it to the dead letter queue as a new job there (an
//! automatic id of that queue): its name, its data exactly as stored, its options, every
//! attempt's error (the stacktrace) and its last reason, its timestamps and attempt counters,
//! and where it came from (the source queue and id). Its state there is `failed`: it is an
//! ordinary job Node's `getJob`/`getFailed` and Bull Board show with its reason and stack, and
//! no worker of the dead letter queue runs it unless someone retries it there. The source job
//! itself is failed as usual (kept or removed per its `removeOnFail`); the copy is taken first.
//! The source queue records `dead-lettered` naming the copy.
//!
//! The dead letter queue must share the source's prefix. On Redis the copy is written by the
//! finish script itself, so under Redis Cluster both queues must hash to one slot: with a hash
//! tag in the prefix (`{jobs}`) any two queues of it do; a hash tag in queue names does not,
//! and [`DeadLetters::dead_letter_queue_set`] refuses a pair whose keys would cross slots.
//!
//! # Replay and purge
//! A replay adds the dead job back to its source queue as a new job (a fresh automatic id):
//! same name, data byte for byte and options, attempts and stall counts at zero, waiting (or
//! prioritized) now, with a link to the dead entry; the dead entry stays (it records the
//! replay) until purged. The source queue records `added`, `waiting` and `replayed`. A purge
//! deletes dead entries (`removed` on the dead letter queue).

use async_trait::async_trait;

use crate::error::Result;
use crate::ids::QueueRef;

use super::requests::{
    DeadLetter, DeadLettersPurged, ListDeadLetters, OfQueue, PurgeDeadLetters, ReplayDeadLetters,
    ReplayedDeadLetter, SetDeadLetterQueue,
};

/// Dead letter queues of a store. See the module docs.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    /// Names (or, with `None`, removes) the dead letter queue of `queue`. Refuses a target on
    /// another prefix, the queue itself, and (Redis) a target in another cluster slot, with
    /// [`Error::InvalidOptions`](crate::Error::InvalidOptions).
    async fn dead_letter_queue_set(&self, req: SetDeadLetterQueue) -> Result<()>;

    /// The dead letter queue of `queue`, if one is set.
    async fn dead_letter_queue_get(&self, req: OfQueue) -> Result<Option<QueueRef>>;

    /// A page of the dead jobs `queue` holds (as a dead letter queue), oldest first.
    async fn dead_letters_list(&self, req: ListDeadLetters) -> Result<Vec<DeadLetter>>;

    /// How many dead jobs `queue` holds.
    async fn dead_letters_count(&self, req: OfQueue) -> Result<u64>;

    /// Adds dead jobs back to their source queues, one answer per id in order.
    async fn dead_letters_replay(&self, req: ReplayDeadLetters) -> Result<Vec<ReplayedDeadLetter>>;

    /// Deletes dead jobs (the ids given, or every one).
    async fn dead_letters_purge(&self, req: PurgeDeadLetters) -> Result<DeadLettersPurged>;
}
