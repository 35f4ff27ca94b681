//! Listening: a worker's in-process events ([`WorkerEvents`]) and the queue's event log.

use std::time::{Duration, Instant};

use oxq_core::{Event, JobId, QueueEvents, WorkerEvent, WorkerOptions};
use tokio::sync::mpsc;

use crate::error::{CaseResult, TestError};

/// Collects a worker's in-process events ([`WorkerOptions::on_event`]).
#[derive(Debug)]
pub struct WorkerEvents {
    rx: mpsc::UnboundedReceiver<WorkerEvent>,
    /// Every event received so far, in order.
    pub seen: Vec<WorkerEvent>,
}

/// Adds a listener to `options` that feeds the returned [`WorkerEvents`].
pub fn listen(options: WorkerOptions) -> (WorkerOptions, WorkerEvents) {
    let (tx, rx) = mpsc::unbounded_channel();
    let options = options.on_event(move |event| {
        let _ = tx.send(event.clone());
    });
    (
        options,
        WorkerEvents {
            rx,
            seen: Vec::new(),
        },
    )
}

/// Completed, or failed for good.
pub fn is_final(event: &WorkerEvent) -> bool {
    matches!(
        event,
        WorkerEvent::Completed { .. }
            | WorkerEvent::Failed {
                retrying: false,
                ..
            }
    )
}

impl WorkerEvents {
    /// Waits for the next event matching `pred` (others are kept in `seen` too).
    pub async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&WorkerEvent) -> bool,
    ) -> CaseResult<WorkerEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(event)) => {
                    self.seen.push(event.clone());
                    if pred(&event) {
                        return Ok(event);
                    }
                }
                Ok(None) => return Err(TestError::msg("the worker's listener was dropped")),
                Err(_) => {
                    return Err(TestError::msg(format!(
                        "timed out after {timeout:?} waiting for {what}; worker events so far: {:?}",
                        self.seen
                    )));
                }
            }
        }
    }

    /// Waits until `n` jobs finished (completed, or failed for good); returns those events.
    pub async fn finished(&mut self, n: usize, timeout: Duration) -> CaseResult<Vec<WorkerEvent>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut done = Vec::with_capacity(n);
        while done.len() < n {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let what = format!("{n} jobs to finish ({} did)", done.len());
            done.push(self.wait_for(&what, left, is_final).await?);
        }
        Ok(done)
    }
}

/// Reads queue events until one matches `until` (included); fails after `timeout`.
pub async fn events_until(
    events: &mut QueueEvents,
    timeout: Duration,
    until: impl Fn(&Event) -> bool,
) -> CaseResult<Vec<Event>> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.next_timeout(left).await? {
            Some(stored) => {
                let done = until(&stored.event);
                seen.push(stored.event);
                if done {
                    return Ok(seen);
                }
            }
            None if left.is_zero() => {
                return Err(TestError::msg(format!(
                    "timed out after {timeout:?} waiting for an event; saw {:?}",
                    names(&seen)
                )));
            }
            None => {}
        }
    }
}

/// The events' names, in order.
pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::name).collect()
}

/// The names of the events about job `id`, in order.
pub fn names_for(events: &[Event], id: &JobId) -> Vec<&'static str> {
    events
        .iter()
        .filter(|e| e.job_id() == Some(id))
        .map(Event::name)
        .collect()
}

/// True when `needle` appears in `hay` in order (not necessarily adjacent).
pub fn is_subsequence(needle: &[&str], hay: &[&str]) -> bool {
    let mut hay = hay.iter();
    needle.iter().all(|n| hay.any(|h| h == n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsequence_keeps_order() {
        assert!(is_subsequence(&["a", "c"], &["a", "b", "c"]));
        assert!(!is_subsequence(&["c", "a"], &["a", "b", "c"]));
        assert!(!is_subsequence(&["a", "a"], &["a", "b"]));
    }
}
