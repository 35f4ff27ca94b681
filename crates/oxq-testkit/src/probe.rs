//! [`WaitProbe`]: how a store shows the suite that a blocking call is parked, so a case about a
//! wake-up waits for that observable condition instead of sleeping "to let the waiter block".
//!
//! A store's opener hands one to [`Harness::with_probe`]; a case calls
//! [`Harness::until_blocked`] after starting a `queue_wait` or a blocking `events_read`, and
//! only then makes the change that must wake it. Without a probe the case is skipped (which
//! fails the test unless skips are allowed, see [`ALLOW_SKIP_ENV`](crate::ALLOW_SKIP_ENV)).
//!
//! ```no_run
//! # use oxq_testkit::{CaseResult, WaitProbe};
//! # use oxq_core::QueueRef;
//! # use futures::future::BoxFuture;
//! #[derive(Debug)]
//! struct Never;
//! impl WaitProbe for Never {
//!     fn blocked<'a>(&'a self, _queue: &'a QueueRef) -> BoxFuture<'a, CaseResult<usize>> {
//!         Box::pin(async { Ok(0) })
//!     }
//! }
//! ```
//!
//! What each store observes: Redis, the clients `CLIENT LIST` shows in a blocking command
//! (`BZPOPMIN`, `XREAD BLOCK`); SQLite, the waiters its process has parked on the queue.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use oxq_core::QueueRef;

use crate::support::{WAIT, wait_until};
use crate::{CaseResult, Harness, TestError};

/// Tells how many blocking calls (`queue_wait`, `events_read` with a block time) are parked on
/// a queue right now: blocked until a signal or their timeout, not running a check.
pub trait WaitProbe: Send + Sync + fmt::Debug + 'static {
    fn blocked<'a>(&'a self, queue: &'a QueueRef) -> BoxFuture<'a, CaseResult<usize>>;
}

impl Harness {
    /// The same harness, with the store's [`WaitProbe`].
    pub fn with_probe(mut self, probe: impl WaitProbe) -> Self {
        self.probe = Some(Arc::new(probe));
        self
    }

    /// Returns once at least `n` blocking calls are parked on the case's queue; fails after
    /// [`WAIT`]. Skips the case when the store's opener gave no probe.
    pub async fn until_blocked(&self, n: usize) -> CaseResult {
        let Some(probe) = self.probe.clone() else {
            return Err(TestError::skip(format!(
                "the {} store's opener gives no WaitProbe (Harness::with_probe)",
                self.store()
            )));
        };
        let queue = self.queue_ref().clone();
        wait_until(&format!("{n} blocked waiter(s) on {queue}"), WAIT, || {
            let (probe, queue) = (probe.clone(), queue.clone());
            async move { Ok(probe.blocked(&queue).await? >= n) }
        })
        .await
    }
}
