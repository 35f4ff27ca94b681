//! Request and answer types of the [`Backend`](super::Backend) calls, one file per facet.
//!
//! Every call takes one request struct and answers one domain type or one answer struct, so a
//! new field changes no signature. All structs are plain data with public fields. Times are
//! milliseconds since the epoch, supplied by the caller from its [`Clock`](crate::clock::Clock).

mod admin;
mod cancel;
mod dead_letters;
mod deduplication;
mod events;
mod flows;
mod groups;
mod jobs;
mod limits;
mod memo;
mod metrics;
mod schedulers;
mod steps;
mod worker;
mod workers;

pub use admin::*;
pub use cancel::*;
pub use dead_letters::*;
pub use deduplication::*;
pub use events::*;
pub use flows::*;
pub use groups::*;
pub use jobs::*;
pub use limits::*;
pub use memo::StoreMemo;
pub use metrics::*;
pub use schedulers::*;
pub use steps::*;
pub use worker::*;
pub use workers::*;

use crate::ids::QueueRef;

/// A call about one queue that needs nothing else (counts, pause state, the latest event).
#[derive(Debug, Clone)]
pub struct OfQueue {
    pub queue: QueueRef,
}
