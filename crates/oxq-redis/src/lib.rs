//! oxq's Redis store: BullMQ 6's key layout and state machine, driven by oxq's own Lua scripts,
//! so Node BullMQ (6.7, and queues left by 5.x) and oxq share one queue.
//!
//! # What it owns
//! * [`RedisBackend`], the [`Backend`](oxq_core::Backend) on Redis, opened with [`connect`]
//!   (or [`open_url`], as an `Arc<dyn Backend>`, for a facade that picks the store by
//!   [`URL_SCHEMES`]).
//! * One Lua script per state transition (`scripts/*.lua`, each with a header naming its KEYS,
//!   ARGV, return codes and events), loaded once and called with `EVALSHA`.
//! * The translation between BullMQ's wire names (`atm`, `defa`, `opts.removeOnComplete`, ...)
//!   and oxq's types, in `wire/` (one file per concern: hash fields, `opts`, records, attempt
//!   ends, events, scores), and the queue's key names in one type (`keys::Key`).
//! * What a fetch learned about a job that its completion needs again (`memo::FetchNote`),
//!   carried by the fetched job as its `StoreMemo`.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> oxq_core::Result<()> {
//! use oxq_core::{JobOptions, Queue};
//! use oxq_redis::{RedisOptions, connect};
//! let backend = connect("redis://127.0.0.1:6379/0", RedisOptions::default()).await?;
//! let queue: Queue<serde_json::Value> = Queue::new(backend, "emails")?;
//! queue.add("welcome", serde_json::json!({"to": "a@b.c"}), JobOptions::new()).await?;
//! # Ok(()) }
//! ```
//!
//! # Connection
//! `redis://[user:password@]host[:port][/db]`, `rediss://` for TLS (rustls; the server's
//! certificate must chain to the public webpki roots, or to the CA given with
//! [`RedisOptions::tls_root_ca`] for a private one, and name the URL's host),
//! `redis+unix:///path` or `unix:///path` (a Unix socket); `valkey://`, `valkeys://` and
//! `valkey+unix://` are the same with Valkey's names ([`URL_SCHEMES`]). `user:password` logs in as a Redis ACL user (a password alone, as
//! `:password@`, as the `default` user); `/db` selects the database. A client certificate for
//! mutual TLS: [`RedisOptions::tls_client_cert`]. The key prefix is the queue's
//! (`QueueRef::prefix`, default `bull`, as in BullMQ); put a `{hash tag}` in it to keep a queue
//! in one Cluster slot. Refused credentials and failed TLS handshakes make [`connect`] fail at
//! once; an unreachable server is retried first. Options and their defaults: [`RedisOptions`].
//!
//! ```no_run
//! # async fn demo() -> oxq_core::Result<()> {
//! # let ca_pem = Vec::new();
//! use oxq_redis::{RedisOptions, connect};
//! let options = RedisOptions::default().tls_root_ca(ca_pem); // e.g. std::fs::read("ca.crt")
//! let backend = connect("rediss://app:secret@redis.internal:6380/3", options).await?;
//! # Ok(()) }
//! ```
//!
//! # Why redis-rs
//! It is the maintained, async-native Rust client: Tokio support, a managed connection that
//! reconnects with capped exponential backoff, per-command response timeouts, `EVALSHA` with
//! automatic reload on `NOSCRIPT`, RESP3, TLS through rustls, ACL users, and error
//! classification (`retry_method`) that lets this store map outages to the runtime's
//! "wait and resume" without reading message text. `fred` is capable too but larger and built
//! around its own pool and reconnect policy; `deadpool-redis`/`bb8` only add pooling on top of
//! redis-rs.
//!
//! # Caveats
//! * At-least-once: a job whose worker stops renewing its lock runs again after stalled
//!   recovery (BullMQ's protocol: suspected at one check, recovered at the next if its lock
//!   expired).
//! * A worker that finishes a job after its lock expired is still honoured if nobody took the
//!   job over (stricter than BullMQ, which refuses a missing lock).
//! * Deduplication (the [`DedupIds`](oxq_core::backend::DedupIds) facet) uses BullMQ 6's
//!   keys (`de:<id>`, `dn:<id>`, the job's `deid`), so Node and oxq deduplicate against each
//!   other. A window is written as an absolute expiry from the caller's clock (`PXAT`) and
//!   judged by it (`PEXPIRETIME`, Redis 7; on 6.2 Redis's own expiry alone decides), which is
//!   BullMQ's `PX` when the clocks agree. Unlike BullMQ, a debounce add that finds its owner
//!   already started still records `deduplicated`, and releasing an id also drops the job
//!   keep-last-if-active kept aside.
//! * Rate limits are not offered through oxq's API yet, but the queue-wide rate limit and
//!   concurrency Node sets in `meta` are honoured.
//! * Flows (the [`Flows`](oxq_core::backend::Flows) facet) use BullMQ 6's layout, so Node and
//!   oxq share trees both ways; a tree may span queues and prefixes, which its scripts reach by
//!   keys built at run time: a single Redis node, not a Cluster. A completion checks for
//!   children with one `EXISTS` per finish call, not per job.
//! * Job groups are oxq's own keys, which Node never takes jobs from. A held group job's
//!   `:lock` has no expiry and its holder's liveness is the heartbeat `<id>:oxq.hb`, renewed
//!   in its place, so a Node worker's stalled check never moves the job to `wait`: a group job
//!   whose oxq worker died stays in `active` until an oxq worker's stalled check recovers it
//!   into its group (a queue of group jobs needs an oxq worker running for that).
//! * Not yet: Redis Cluster URLs, the durable-add mode (`WAIT`/`WAITAOF`), Bull Board's
//!   worker list (`CLIENT SETNAME`).
//!
//! # Observability
//! `tracing` warnings for a non-`noeviction` eviction policy, malformed job data and failed
//! blocking calls. Spans around each call are the runtime's job (once, at the seam).

mod backend;
mod connection;
mod diagnostics;
mod error;
mod keys;
mod memo;
mod ops;
mod options;
mod reply;
mod scripts;
mod wire;

pub use backend::{RedisBackend, connect, open_url};
pub use diagnostics::{PINGS, RedisDiagnostics, diagnostics};
pub use error::RedisStoreError;
pub use options::RedisOptions;

/// Every URL scheme [`connect`] and [`open_url`] accept: `redis`, `valkey` (TCP), `rediss`,
/// `valkeys` (TLS), `redis+unix`, `valkey+unix` and `unix` (a Unix socket path). A facade that
/// picks a store by URL matches the scheme (lower-cased) against this list.
pub const URL_SCHEMES: &[&str] = &[
    "redis",
    "rediss",
    "valkey",
    "valkeys",
    "redis+unix",
    "valkey+unix",
    "unix",
];
