//! oxq's conformance suite (`oxq-testkit`: client cases and store-contract cases) on the Redis
//! store: each case gets its own `redis-server` (or a unique hash-tagged prefix on
//! `REDIS_URL`).
//!
//! Run with: `cargo test -p oxq-redis --test conformance` (one case:
//! `... redis::order::fifo_order`, the store contract: `... redis::store::`, the job group
//! cases: `... groups_suite::`).

mod support;

use std::future::Future;
use std::pin::Pin;

use ::redis::aio::MultiplexedConnection;
use oxq_core::{JobId, QueueRef};
use oxq_testkit::{CaseResult, Corruption, Corruptor, Fixture, Harness, TestError, WaitProbe};
use support::RedisServer;

impl Fixture for RedisServer {
    fn keep(self: Box<Self>) -> Option<String> {
        // a killed server keeps nothing; say where it was
        Some(format!("(server stopped) {}", self.url))
    }
}

/// Counts the clients the server shows blocked in `BZPOPMIN` (`queue_wait`) or `XREAD BLOCK`
/// (`events_read`), from `CLIENT LIST`.
///
/// `CLIENT LIST` does not name the key a client blocks on, so this counts every blocked client
/// of the server: exact with the server each case starts; on a shared `REDIS_URL` server other
/// cases' waiters count too, and a case may go on before its own waiter blocks (it still checks
/// its result).
#[derive(Debug)]
struct BlockedClients {
    conn: MultiplexedConnection,
}

fn is_blocked(client: &str) -> bool {
    let field = |name: &str| {
        client
            .split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_default()
    };
    field("flags=").contains('b') && matches!(field("cmd="), "bzpopmin" | "xread")
}

impl WaitProbe for BlockedClients {
    fn blocked<'a>(
        &'a self,
        _queue: &'a QueueRef,
    ) -> Pin<Box<dyn Future<Output = CaseResult<usize>> + Send + 'a>> {
        Box::pin(async move {
            let clients: String = ::redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut self.conn.clone())
                .await?;
            Ok(clients.lines().filter(|c| is_blocked(c)).count())
        })
    }
}

/// Breaks a job with a raw `HSET` of one BullMQ field of its hash (`<prefix>:<queue>:<id>`).
#[derive(Debug)]
struct RawHset {
    conn: MultiplexedConnection,
}

impl Corruptor for RawHset {
    fn corrupt<'a>(
        &'a self,
        queue: &'a QueueRef,
        job: &'a JobId,
        corruption: Corruption,
    ) -> Pin<Box<dyn Future<Output = CaseResult<&'static str>> + Send + 'a>> {
        Box::pin(async move {
            let (field, value): (&'static str, &[u8]) = match corruption {
                Corruption::NameNotUtf8 => ("name", b"\xff\x00\xfe"),
                Corruption::DataNotUtf8 => ("data", b"\xff\x00\xfe"),
                Corruption::DataNotJson => ("data", b"{broken"),
                Corruption::TimestampNotNumber => ("timestamp", b"abc"),
                Corruption::OptionsNotJson => ("opts", b"{broken"),
            };
            let key = format!("{}:{}:{}", queue.prefix, queue.name, job);
            let added: i64 = ::redis::cmd("HSET")
                .arg(&key)
                .arg(field)
                .arg(value)
                .query_async(&mut self.conn.clone())
                .await?;
            if added != 0 {
                return Err(TestError::msg(format!(
                    "corrupting job {job}: {key} had no field {field}"
                )));
            }
            Ok(field)
        })
    }
}

async fn open(case: &'static str) -> CaseResult<Harness> {
    let server = RedisServer::start();
    let backend = oxq_redis::connect(&server.url, oxq_redis::RedisOptions::default()).await?;
    let conn = ::redis::Client::open(server.url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    Ok(Harness::new("redis", case, backend, server)?
        .with_prefix(&format!("{{c{}}}", &tag[..8]))?
        .with_probe(BlockedClients { conn: conn.clone() })
        .with_corruptor(RawHset { conn }))
}

oxq_testkit::conformance_suite!(redis, open);
oxq_testkit::groups_suite!(redis, open);
