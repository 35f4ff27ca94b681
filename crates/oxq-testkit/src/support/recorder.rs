//! [`Recorder`]: what processors saw, one entry per attempt, in start order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oxq_core::clock::now_ms;
use oxq_core::worker::BoxError;
use oxq_core::{Job, JobId};
use serde_json::Value;
use tokio::sync::watch;

use super::lock;
use crate::error::{CaseResult, TestError};

/// One attempt as its processor saw it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub job_id: JobId,
    pub name: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The processor's wall clock when it started (ms since the epoch).
    pub started_at: u64,
    /// The job's `processed_on` as the store handed it over.
    pub processed_on: Option<u64>,
    /// When the job was added.
    pub timestamp: u64,
    pub stalled_count: u32,
}

/// Records every attempt processors start, in start order.
#[derive(Debug)]
pub struct Recorder {
    attempts: Mutex<Vec<Attempt>>,
    len: watch::Sender<usize>,
}

impl Recorder {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            attempts: Mutex::new(Vec::new()),
            len: watch::Sender::new(0),
        })
    }

    /// Records the start of an attempt of `job`.
    pub fn record<T>(&self, job: &Job<T>) {
        let attempt = Attempt {
            job_id: job.id().clone(),
            name: job.name().to_owned(),
            attempt: job.attempts_made() + 1,
            started_at: now_ms(),
            processed_on: job.processed_on(),
            timestamp: job.timestamp(),
            stalled_count: job.stalled_count(),
        };
        let len = {
            let mut attempts = lock(&self.attempts);
            attempts.push(attempt);
            attempts.len()
        };
        // Two attempts may record at once and publish out of order: keep the largest length,
        // so a waiter never sees the count go back.
        self.len
            .send_modify(|published| *published = (*published).max(len));
    }

    /// A processor that records each attempt, except of jobs named `skip` (e.g. the
    /// [`CANARY`](super::CANARY)), and returns `null`.
    pub fn processor_skipping<T>(
        self: &Arc<Self>,
        skip: &'static str,
    ) -> impl Fn(Job<T>) -> futures::future::Ready<Result<Value, BoxError>> + Send + Sync + 'static
    {
        let recorder = self.clone();
        move |job| {
            if job.name() != skip {
                recorder.record(&job);
            }
            futures::future::ready(Ok(Value::Null))
        }
    }

    /// A processor that records each attempt and returns `null`.
    pub fn processor<T>(
        self: &Arc<Self>,
    ) -> impl Fn(Job<T>) -> futures::future::Ready<Result<Value, BoxError>> + Send + Sync + 'static
    {
        let recorder = self.clone();
        move |job| {
            recorder.record(&job);
            futures::future::ready(Ok(Value::Null))
        }
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.attempts).clone()
    }

    /// Job ids in the order their attempts started.
    pub fn ids(&self) -> Vec<JobId> {
        lock(&self.attempts)
            .iter()
            .map(|a| a.job_id.clone())
            .collect()
    }

    /// Names in the order their attempts started.
    pub fn names(&self) -> Vec<String> {
        lock(&self.attempts)
            .iter()
            .map(|a| a.name.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.attempts).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The attempts of one job, in order.
    pub fn attempts_of(&self, id: &JobId) -> Vec<Attempt> {
        lock(&self.attempts)
            .iter()
            .filter(|a| &a.job_id == id)
            .cloned()
            .collect()
    }

    /// How many attempts each job had.
    pub fn runs_per_job(&self) -> HashMap<JobId, usize> {
        let mut runs = HashMap::new();
        for attempt in lock(&self.attempts).iter() {
            *runs.entry(attempt.job_id.clone()).or_insert(0) += 1;
        }
        runs
    }

    /// Waits until at least `n` attempts started; returns them all.
    pub async fn wait_len(&self, n: usize, timeout: Duration) -> CaseResult<Vec<Attempt>> {
        let mut rx = self.len.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|len| *len >= n)).await;
        if !matches!(reached, Ok(Ok(_))) {
            return Err(TestError::msg(format!(
                "timed out after {timeout:?} waiting for {n} attempts to start; {} did: {:?}",
                self.len(),
                self.names()
            )));
        }
        Ok(self.attempts())
    }
}
