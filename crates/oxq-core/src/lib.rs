//! oxq-core: the types every oxq crate shares, the [`Backend`] seam between the runtime and a
//! store, and the store-agnostic runtime: [`Queue`], [`Worker`] and [`QueueEvents`].
//!
//! This crate knows no store: it has no Redis or SQLite dependency. Stores live in their own
//! crates (`oxq-sqlite`, `oxq-redis`) and implement [`Backend`]; the `oxq` facade picks one
//! from a connection URL. Users normally depend on `oxq`, which re-exports everything here.

pub mod backend;
pub mod backoff;
pub mod clock;
pub mod deduplication;
pub mod error;
pub mod events;
pub mod flow;
pub mod ids;
pub mod job;
pub mod options;
pub mod queue;
pub mod queue_events;
pub mod record;
pub mod repeat;
pub mod settings;
pub mod steps;
pub mod worker;

pub use backend::{Backend, CANCELLED_REASON, CancelOutcome, Capabilities};
pub use backend::{METRICS_ONE_WEEK, MetricsKind, MetricsSeries};
pub use backend::{QueueLimits, RateLimit};
pub use backoff::Backoff;
pub use clock::{Clock, ManualClock, SystemClock};
pub use deduplication::Deduplication;
pub use error::{BoxError, Error, Result};
pub use events::{Event, EventId, StoredEvent};
pub use flow::{
    ChildFailure, ChildKey, FlowAdded, FlowJob, FlowProducer, FlowQuery, FlowTree, ParentLink,
};
pub use ids::{DEFAULT_PREFIX, JobId, LockToken, QueueRef};
pub use job::Job;
pub use options::{JobOptions, KeepJobs, MAX_PRIORITY};
pub use options::{MAX_GROUP_KEY_LEN, validate_group_key};
pub use queue::{JobTemplate, Queue, QueueOptions};
pub use queue_events::QueueEvents;
pub use record::{JobCounts, JobRecord, JobState};
pub use repeat::{Repeat, RepeatRule};
pub use steps::{JobSteps, Signal, StepError, StepOptions, StepStatus};
/// The token a processor gets from [`Job::cancellation`].
pub use tokio_util::sync::CancellationToken;
pub use worker::{
    AttemptTiming, IntoOutcome, Outcome, Unrecoverable, Worker, WorkerEvent, WorkerOptions,
};
