//! In-process wakeups: one [`Notify`] per queue, signalled after every commit that touched
//! the queue (jobs or events), so `queue_wait` and `events_read` waiters in this process
//! re-check at once. Waiters in other processes find the change by polling (see
//! [`crate::wait`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use oxq_core::QueueRef;
use tokio::sync::Notify;

/// A queue's identity as a map key.
pub(crate) type QueueKey = (String, String);

pub(crate) fn queue_key(queue: &QueueRef) -> QueueKey {
    (queue.prefix.clone(), queue.name.clone())
}

#[derive(Debug, Default)]
pub(crate) struct Signals {
    queues: Mutex<HashMap<QueueKey, Arc<Notify>>>,
}

impl Signals {
    /// The queue's notifier, created on first use (entries are a few bytes and never removed).
    pub(crate) fn get(&self, queue: &QueueRef) -> Arc<Notify> {
        let mut map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(queue_key(queue)).or_default().clone()
    }

    /// Wakes every current waiter on each queue in `keys`.
    pub(crate) fn notify<'a>(&self, keys: impl IntoIterator<Item = &'a QueueKey>) {
        let map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if let Some(notify) = map.get(key) {
                notify.notify_waiters();
            }
        }
    }
}
