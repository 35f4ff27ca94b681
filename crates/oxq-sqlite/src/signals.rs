//! In-process wakeups: one [`Notify`] per queue, signalled after every commit that touched
//! the queue (jobs or events), so `queue_wait` and `events_read` waiters in this process
//! re-check at once. Waiters in other processes find the change by polling (see
//! [`crate::wait`]). It also counts the waiters parked on each queue (between a check and
//! the next), which tests read to know a waiter is blocked before they act.

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
    parked: Mutex<HashMap<QueueKey, usize>>,
}

/// A waiter parked on a queue; unparks when dropped (woken, timed out or cancelled).
#[derive(Debug)]
pub(crate) struct Parked<'a> {
    signals: &'a Signals,
    key: QueueKey,
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        let mut parked = self
            .signals
            .parked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = parked.get_mut(&self.key) {
            *count = count.saturating_sub(1);
        }
    }
}

impl Signals {
    /// The queue's notifier, created on first use (entries are a few bytes and never removed).
    pub(crate) fn get(&self, queue: &QueueRef) -> Arc<Notify> {
        let mut map = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(queue_key(queue)).or_default().clone()
    }

    /// Counts a waiter as parked on `queue` until the guard is dropped.
    pub(crate) fn park(&self, queue: &QueueRef) -> Parked<'_> {
        let key = queue_key(queue);
        let mut parked = self.parked.lock().unwrap_or_else(|p| p.into_inner());
        *parked.entry(key.clone()).or_default() += 1;
        Parked { signals: self, key }
    }

    /// How many waiters are parked on `queue` now.
    pub(crate) fn parked(&self, queue: &QueueRef) -> usize {
        let parked = self.parked.lock().unwrap_or_else(|p| p.into_inner());
        parked.get(&queue_key(queue)).copied().unwrap_or(0)
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
