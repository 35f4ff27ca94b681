//! oxq: background jobs for Rust.
//!
//! A producer adds a job to a named queue and returns at once; workers, in this process or
//! others, run it with retries, backoff, delays, priorities, timeouts and crash recovery.
//! With no server the queue lives in one SQLite file (`sqlite://oxq.db`, the default).
//!
//! ```no_run
//! use oxq::prelude::*;
//!
//! # async fn demo() -> oxq::Result<()> {
//! let queue: Queue<String> = Queue::connect("sqlite://oxq.db", "greetings").await?;
//! queue.add("greet", "world".to_owned(), JobOptions::new().attempts(3)).await?;
//!
//! let worker = Worker::start(&queue, WorkerOptions::new().concurrency(10), |job| async move {
//!     Ok::<_, std::io::Error>(format!("hello {}", job.data()))
//! });
//! worker.run_until_signal().await?;
//! # Ok(()) }
//! ```
//!
//! This crate re-exports [`oxq_core`] and owns [`connect`]: the URL picks the store.
//! Stores are behind features: `sqlite` and `redis` (both default).

use std::sync::Arc;

pub use oxq_core::*;

/// The store used when no URL is given: a SQLite file in the working directory.
pub const DEFAULT_URL: &str = "sqlite://oxq.db";

/// Opens the store a URL names: `sqlite://path/to/file.db` (`sqlite://oxq.db` when `url` is
/// empty), or `redis://[user:password@]host[:port][/db]` / `rediss://…` (TLS). Unknown
/// schemes are rejected with the list of accepted ones.
pub async fn connect(url: &str) -> Result<Arc<dyn Backend>> {
    let url = if url.trim().is_empty() {
        DEFAULT_URL
    } else {
        url.trim()
    };
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let (path, options) = oxq_sqlite::parse_url(url)?;
            let backend = oxq_sqlite::SqliteBackend::open(path, options).await?;
            Ok(backend::Instrumented::wrap(backend))
        }
        #[cfg(feature = "redis")]
        "redis" | "rediss" | "redis+unix" | "redis+cluster" => {
            let backend = oxq_redis::connect(url, oxq_redis::RedisOptions::default()).await?;
            Ok(backend::Instrumented::wrap(backend))
        }
        _ => Err(Error::InvalidUrl {
            url: url.to_owned(),
            reason: format!(
                "unknown scheme {scheme:?}; this build accepts: {}",
                accepted_schemes().join(", ")
            ),
        }),
    }
}

fn accepted_schemes() -> Vec<&'static str> {
    let mut schemes = Vec::new();
    if cfg!(feature = "sqlite") {
        schemes.push("sqlite://");
    }
    if cfg!(feature = "redis") {
        schemes.extend(["redis://", "rediss://", "redis+unix://"]);
    }
    schemes
}

/// `Queue::connect(url, name)`: open a store and a queue on it in one call.
pub trait QueueConnect: Sized {
    fn connect(url: &str, name: &str) -> impl std::future::Future<Output = Result<Self>> + Send;
}

impl<T> QueueConnect for Queue<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    async fn connect(url: &str, name: &str) -> Result<Self> {
        Queue::new(connect(url).await?, name)
    }
}

/// The names most programs need: `use oxq::prelude::*;`.
pub mod prelude {
    pub use crate::QueueConnect;
    pub use oxq_core::{
        Backoff, Job, JobId, JobOptions, JobState, KeepJobs, Queue, QueueEvents, QueueRef,
        Unrecoverable, Worker, WorkerEvent, WorkerOptions,
    };
}

/// The README's Rust snippets, compiled as doctests so they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
