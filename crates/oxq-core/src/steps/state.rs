//! [`StepsState`]: what one attempt knows of its job's steps. Shared (behind an `Arc`) by the
//! job the processor holds and the worker, which reads after the processor returns whether a
//! step asked to suspend the job and which stored steps the run never reached.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::entry::StepStatus;

/// The steps of one attempt. Loaded lazily (see [`crate::steps`]); a job that calls no step
/// never locks or fills it.
#[derive(Debug)]
pub(crate) struct StepsState {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The queue's `max_payload_bytes`: the largest entry a step may store.
    limit: usize,
    loaded: Option<Loaded>,
    /// Names called in this run, in order.
    used: Vec<String>,
    /// A sleep or wait asked to park the job until then (ms since the epoch).
    suspended_until: Option<u64>,
}

#[derive(Debug)]
struct Loaded {
    job_id: String,
    entries: HashMap<String, StepStatus>,
    signals: HashMap<String, String>,
}

impl StepsState {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                limit,
                loaded: None,
                used: Vec::new(),
                suspended_until: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // never held across a panic that matters: a poisoned lock still holds consistent data
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.lock().limit = limit;
    }

    pub(crate) fn limit(&self) -> usize {
        self.lock().limit
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.lock().loaded.is_some()
    }

    /// Keeps what the store read, unless a concurrent first call got there first.
    pub(crate) fn install(
        &self,
        job_id: String,
        entries: HashMap<String, StepStatus>,
        signals: HashMap<String, String>,
    ) {
        let mut inner = self.lock();
        if inner.loaded.is_none() {
            inner.loaded = Some(Loaded {
                job_id,
                entries,
                signals,
            });
        }
    }

    /// Records that this run calls `name`; false when it already did.
    pub(crate) fn claim(&self, name: &str) -> bool {
        let mut inner = self.lock();
        if inner.used.iter().any(|n| n == name) {
            return false;
        }
        inner.used.push(name.to_owned());
        true
    }

    pub(crate) fn entry(&self, name: &str) -> Option<StepStatus> {
        self.lock().loaded.as_ref()?.entries.get(name).cloned()
    }

    pub(crate) fn signal(&self, name: &str) -> Option<String> {
        self.lock().loaded.as_ref()?.signals.get(name).cloned()
    }

    pub(crate) fn record(&self, name: &str, status: StepStatus) {
        if let Some(loaded) = self.lock().loaded.as_mut() {
            loaded.entries.insert(name.to_owned(), status);
        }
    }

    pub(crate) fn suspend(&self, until: u64) {
        let mut inner = self.lock();
        inner.suspended_until = Some(inner.suspended_until.map_or(until, |u| u.max(until)));
    }

    /// Once the processor returned (`completed`: with a value): the time a step asked the job
    /// to sleep until, which wins over whatever the processor returned (the error that carried
    /// the request may have been lost on the way); a completed run without one warns about
    /// stored steps it never reached.
    pub(crate) fn after_run(&self, completed: bool) -> Option<u64> {
        let inner = self.lock();
        let loaded = inner.loaded.as_ref()?;
        if let Some(until) = inner.suspended_until {
            if completed {
                tracing::warn!(
                    job_id = %loaded.job_id,
                    "the processor completed after a step asked the job to sleep; the job \
                     sleeps (propagate the StepError with `?`)"
                );
            }
            return Some(until);
        }
        if completed {
            let unreached = unreached(loaded, &inner.used);
            if !unreached.is_empty() {
                tracing::warn!(
                    job_id = %loaded.job_id,
                    steps = ?unreached,
                    "the job completed without reaching stored steps (renamed or removed \
                     from the code while the job was in flight?)"
                );
            }
        }
        None
    }
}

/// The stored steps a run that called `used` never reached, by name.
fn unreached<'a>(loaded: &'a Loaded, used: &[String]) -> Vec<&'a str> {
    let mut names: Vec<&str> = loaded
        .entries
        .keys()
        .filter(|name| !used.iter().any(|u| u == *name))
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded_with(names: &[&str]) -> StepsState {
        let state = StepsState::new(1024);
        let entries = names
            .iter()
            .map(|n| ((*n).to_owned(), StepStatus::Sleeping { until: 1 }))
            .collect();
        state.install("7".into(), entries, HashMap::new());
        state
    }

    #[test]
    fn a_run_without_steps_changes_nothing() {
        let state = StepsState::new(1024);
        state.suspend(5);
        assert_eq!(state.after_run(true), None, "never loaded: no step ran");
    }

    #[test]
    fn a_suspension_wins_and_the_latest_time_counts() {
        let state = loaded_with(&[]);
        state.suspend(10);
        state.suspend(7);
        assert_eq!(state.after_run(false), Some(10));
        assert_eq!(state.after_run(true), Some(10));
    }

    #[test]
    fn stored_steps_a_run_never_called_are_named() {
        let state = loaded_with(&["charge", "email", "fetch"]);
        assert!(state.claim("fetch"));
        assert!(state.claim("charge"));
        assert!(!state.claim("charge"), "a name is claimed once per run");
        let inner = state.lock();
        let loaded = inner.loaded.as_ref().expect("loaded");
        assert_eq!(unreached(loaded, &inner.used), ["email"]);
    }
}
