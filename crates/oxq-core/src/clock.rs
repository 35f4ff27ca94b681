//! The one clock the runtime reads: [`Clock`], the [`SystemClock`] it uses by default, and a
//! [`ManualClock`] that tests move by hand.
//!
//! Times are milliseconds since the Unix epoch, the unit every store and BullMQ use. [`Queue`]
//! and [`Worker`] read "now" from their clock for everything they hand a store: add times,
//! delays and backoff due times, retention ages, lock expiry, stall checks. Stores take `now`
//! from the caller and never read a clock of their own for the job's timeline, so a test that
//! moves a [`ManualClock`] moves every time-based rule at once, on every store.
//!
//! ```
//! use std::time::Duration;
//! use oxq_core::clock::{Clock, ManualClock};
//! let clock = ManualClock::new(1_000);
//! clock.advance(Duration::from_secs(2));
//! assert_eq!(clock.now_ms(), 3_000);
//! ```
//!
//! # Caveats
//! * Real time still paces the worker's own timers (lock renewal, the stalled-check period, the
//!   longest idle wait): a moved clock wakes an idle worker at once (it fetches again and runs
//!   its stalled check), but a running job's lock is renewed on real time. Moving a manual clock
//!   past a running job's lock expiry makes that job look stalled, as a frozen worker would.
//! * Redis expires lock keys on its own clock (`PX`), not the caller's; a test of lock expiry
//!   on Redis needs the real time to pass.
//!
//! [`Queue`]: crate::Queue
//! [`Worker`]: crate::Worker

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Where the runtime reads the time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// A receiver that changes each time the clock is moved by hand, so waiting tasks look
    /// again at once; `None` for a clock that only flows with real time.
    fn moves(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<u64>,
}

impl ManualClock {
    /// A clock showing `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self {
            now: watch::Sender::new(start_ms),
        }
    }

    /// A clock showing the system's time now, then standing still.
    pub fn starting_now() -> Self {
        Self::new(now_ms())
    }

    /// Moves the clock forward by `by` and wakes every task watching it.
    pub fn advance(&self, by: Duration) {
        self.now
            .send_modify(|now| *now = now.saturating_add(millis(by)));
    }

    /// Sets the clock to `at_ms` (it may go backwards) and wakes every task watching it.
    pub fn set(&self, at_ms: u64) {
        self.now.send_replace(at_ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        *self.now.borrow()
    }

    fn moves(&self) -> Option<watch::Receiver<u64>> {
        Some(self.now.subscribe())
    }
}

/// Milliseconds since the Unix epoch by the system clock (0 if it is before 1970). The
/// runtime reads a [`Clock`] instead; this is for stores' own bookkeeping (a wait's deadline).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `d` in whole milliseconds, saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `t` in milliseconds since the Unix epoch (0 before 1970, saturating far ahead).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(millis).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn moving_a_manual_clock_wakes_its_watchers() {
        let clock = ManualClock::new(10);
        let mut moves = clock.moves().expect("a manual clock reports its moves");
        clock.advance(Duration::from_millis(5));
        moves.changed().await.expect("the clock is alive");
        assert_eq!(*moves.borrow(), 15);
        clock.set(3);
        assert_eq!(clock.now_ms(), 3);
        assert!(SystemClock.moves().is_none());
        assert_eq!(epoch_ms(UNIX_EPOCH + Duration::from_millis(42)), 42);
    }
}
