//! Helpers for oxq's interop tests against the real Node BullMQ package (the version pinned in
//! `tests/interop/package.json`, installed by `npm ci` in this folder).
//!
//! Each test builds a [`Scene`]: its own `redis-server` on a free loopback port (or the server
//! in `REDIS_URL`), a queue under a prefix no other test uses, oxq's handle on it
//! (`oxq::connect`), and the Node scripts of `tests/interop/node/` pointed at the same queue.
//! Node scripts run as child processes and print JSON lines ([`node`]); waits have time
//! limits ([`wait_until`]); [`Scene::assert_counts_agree`] checks that Node's
//! `getJobCounts()` and oxq's `counts()` agree, state by state.
//!
//! Missing prerequisites fail the test with the fix in the message (never a silent skip):
//! `redis-server` (or `REDIS_URL`), `node`, and `node_modules/` with the pinned BullMQ.

pub mod error;
pub mod examples;
pub mod node;
pub mod scene;
pub mod server;
pub mod wait;

pub use error::{Error, Result};
pub use node::{NodeEnv, NodeProcess, event_is};
pub use scene::{Scene, compare_counts, unique_prefix};
pub use server::RedisServer;
pub use wait::wait_until;
