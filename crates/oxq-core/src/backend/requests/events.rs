//! Requests of the event log calls.

use std::time::Duration;

use crate::events::EventId;
use crate::ids::QueueRef;

#[derive(Debug, Clone)]
pub struct ReadEvents {
    pub queue: QueueRef,
    pub after: Option<EventId>,
    pub block: Duration,
    pub max: usize,
}
