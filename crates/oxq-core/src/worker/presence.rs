//! The worker's presence: on a store with the [`Workers`](crate::backend::Workers) facet, the
//! worker announces itself when it starts, renews the announcement every `stalled_interval`
//! (and whenever a [`ManualClock`](crate::clock::ManualClock) is moved) with a time to live of
//! three intervals, and leaves when its dispatcher ends. That is what
//! [`Queue::workers`](crate::Queue::workers), the dashboard and (on Redis) Bull Board list.
//! A failed call is logged at `DEBUG` and tried again on the next tick: being listed is never
//! worth disturbing the jobs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::backend::{AnnounceWorker, Backend, LeaveWorker};
use crate::clock::Clock;
use crate::ids::QueueRef;

/// How many renewal periods an announcement outlives.
const TTL_PERIODS: u32 = 3;

/// Who announces: the store, the queue, the worker's id and name, its clock and period.
pub(crate) struct Presence {
    pub backend: Arc<dyn Backend>,
    pub queue: QueueRef,
    pub worker_id: String,
    pub name: Option<String>,
    pub clock: Arc<dyn Clock>,
    pub period: Duration,
}

impl Presence {
    /// Announces until `stop` turns true, then leaves. Returns at once on a store without
    /// the facet.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let Some(workers) = self.backend.workers() else {
            return;
        };
        let mut ticker = tokio::time::interval(self.period.max(Duration::from_millis(10)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut moves = self.clock.moves();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = moved(&mut moves) => {}
                _ = stop.wait_for(|stopped| *stopped) => break,
            }
            let request = AnnounceWorker {
                queue: self.queue.clone(),
                worker_id: self.worker_id.clone(),
                name: self.name.clone(),
                now: self.clock.now_ms(),
                ttl: self.period * TTL_PERIODS,
            };
            if let Err(e) = workers.worker_announce(request).await {
                tracing::debug!(queue = %self.queue, error = %e, "could not announce the worker");
            }
        }
        let request = LeaveWorker {
            queue: self.queue.clone(),
            worker_id: self.worker_id.clone(),
        };
        if let Err(e) = workers.worker_leave(request).await {
            tracing::debug!(queue = %self.queue, error = %e, "could not withdraw the worker's announcement");
        }
    }
}

/// Resolves when the clock is moved by hand; never for a clock that only flows.
async fn moved(moves: &mut Option<watch::Receiver<u64>>) {
    let alive = match moves {
        Some(rx) => rx.changed().await.is_ok(),
        None => false,
    };
    if !alive {
        *moves = None;
        std::future::pending::<()>().await;
    }
}
