//! The SQLite store's [`DeadLetters`] facet: each call routed to the writer (set, replay,
//! purge) or a reader (get, list, count). The rules live in
//! [`ops::dead_letters`](crate::ops::dead_letters).

use async_trait::async_trait;
use oxq_core::backend::{
    DeadLetter, DeadLetters, DeadLettersPurged, ListDeadLetters, OfQueue, PurgeDeadLetters,
    ReplayDeadLetters, ReplayedDeadLetter, SetDeadLetterQueue,
};
use oxq_core::{QueueRef, Result};

use super::SqliteBackend;
use crate::ops::dead_letters;

#[async_trait]
impl DeadLetters for SqliteBackend {
    async fn dead_letter_queue_set(&self, req: SetDeadLetterQueue) -> Result<()> {
        self.write(move |ctx| dead_letters::set(ctx, req)).await
    }

    async fn dead_letter_queue_get(&self, req: OfQueue) -> Result<Option<QueueRef>> {
        self.read(move |conn| dead_letters::get(conn, &req)).await
    }

    async fn dead_letters_list(&self, req: ListDeadLetters) -> Result<Vec<DeadLetter>> {
        self.read(move |conn| dead_letters::list(conn, &req)).await
    }

    async fn dead_letters_count(&self, req: OfQueue) -> Result<u64> {
        self.read(move |conn| dead_letters::count(conn, &req.queue))
            .await
    }

    async fn dead_letters_replay(&self, req: ReplayDeadLetters) -> Result<Vec<ReplayedDeadLetter>> {
        self.write(move |ctx| dead_letters::replay(ctx, req)).await
    }

    async fn dead_letters_purge(&self, req: PurgeDeadLetters) -> Result<DeadLettersPurged> {
        self.write(move |ctx| dead_letters::purge(ctx, req)).await
    }
}
