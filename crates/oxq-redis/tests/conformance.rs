//! oxq's conformance suite (`oxq-testkit`) on the Redis store: each case gets its own
//! `redis-server` (or a unique hash-tagged prefix on `REDIS_URL`).
//!
//! Run with: `cargo test -p oxq-redis --test conformance` (one case:
//! `... redis::order::fifo_order`).

mod support;

use oxq_testkit::{CaseResult, Fixture, Harness};
use support::RedisServer;

impl Fixture for RedisServer {
    fn keep(self: Box<Self>) -> Option<String> {
        // a killed server keeps nothing; say where it was
        Some(format!("(server stopped) {}", self.url))
    }
}

async fn open(case: &'static str) -> CaseResult<Harness> {
    let server = RedisServer::start();
    let backend = oxq_redis::connect(&server.url, oxq_redis::RedisOptions::default()).await?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    Harness::new("redis", case, backend, server)?.with_prefix(&format!("{{c{}}}", &tag[..8]))
}

oxq_testkit::conformance_suite!(redis, open);
