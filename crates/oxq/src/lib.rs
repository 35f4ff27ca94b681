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
//! let worker = Worker::try_start(&queue, WorkerOptions::new().concurrency(10), |job| async move {
//!     Ok::<_, std::io::Error>(format!("hello {}", job.data()))
//! })?;
//! worker.run_until_signal().await?;
//! # Ok(()) }
//! ```
//!
//! This crate re-exports [`oxq_core`] and owns [`connect`] / [`connect_with`]: the URL picks
//! the store (each store declares its schemes), and the store is wrapped in the one
//! instrumentation layer. Stores are behind features: `sqlite` and `redis` (both default).

mod connect;

pub use connect::{ConnectOptions, DEFAULT_URL, accepted_schemes, connect, connect_with};
pub use oxq_core::*;

/// The embedded store's own types (its options), for [`connect_with`].
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use oxq_sqlite::{SqliteOptions, Synchronous, URL_SCHEMES};
}

/// The Redis store's own types (its options: timeouts, TLS), for [`connect_with`].
#[cfg(feature = "redis")]
pub mod redis {
    pub use oxq_redis::{RedisOptions, URL_SCHEMES};
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
        Backoff, BoxError, ChildFailure, FlowJob, FlowProducer, Job, JobId, JobOptions, JobState,
        KeepJobs, Outcome, Queue, QueueEvents, QueueRef, Unrecoverable, Worker, WorkerEvent,
        WorkerOptions,
    };
}

/// The README's Rust snippets, compiled as doctests so they stay true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
