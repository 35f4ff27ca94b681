//! `GET /metrics`: the queues' figures in the Prometheus text format (OpenMetrics 1.0), and
//! [`WorkerMetrics`], the counters a worker's events feed.
//!
//! At each scrape the store is read: `oxq_jobs{queue, state}` (jobs per state) and
//! `oxq_queue_paused{queue}` (1 when paused) are gauges of that moment, so every dashboard over
//! the same store reports the same numbers. The counters are this process's: attach
//! [`WorkerMetrics::listener`] to `WorkerOptions::on_event` and pass the same `WorkerMetrics`
//! to [`DashboardOptions::worker_metrics`](crate::DashboardOptions::worker_metrics) to get
//! `oxq_jobs_completed_total`, `oxq_jobs_failed_total` (failed for good),
//! `oxq_attempts_failed_total` (every failed attempt, retried or not) and
//! `oxq_jobs_stalled_total` (jobs started again after their worker was lost: where duplicate
//! side effects come from), each by `queue`.
//!
//! The crate is `prometheus-client`, the Prometheus project's own Rust client: maintained under
//! the `prometheus` GitHub organisation, typed metrics and label sets (no string-keyed global
//! registry as in the older `prometheus` crate), and it writes the OpenMetrics text that
//! Prometheus scrapes natively.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use oxq::{JobState, Queue, WorkerEvent};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::DashboardState;

/// The content type of the OpenMetrics text format.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueStateLabels {
    queue: String,
    state: String,
}

/// Counters fed by workers' [`WorkerEvent`]s; clones share the same counters.
#[derive(Debug, Clone, Default)]
pub struct WorkerMetrics {
    completed: Family<QueueLabel, Counter>,
    failed: Family<QueueLabel, Counter>,
    attempts_failed: Family<QueueLabel, Counter>,
    stalled: Family<QueueLabel, Counter>,
}

impl WorkerMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A listener for `WorkerOptions::on_event` of a worker on queue `queue`.
    pub fn listener(&self, queue: &str) -> impl Fn(&WorkerEvent) + Send + Sync + 'static {
        let metrics = self.clone();
        let label = QueueLabel {
            queue: queue.to_owned(),
        };
        move |event| metrics.record(&label, event)
    }

    fn record(&self, label: &QueueLabel, event: &WorkerEvent) {
        match event {
            WorkerEvent::Completed { .. } => {
                self.completed.get_or_create(label).inc();
            }
            WorkerEvent::Failed { retrying, .. } => {
                self.attempts_failed.get_or_create(label).inc();
                if !retrying {
                    self.failed.get_or_create(label).inc();
                }
            }
            WorkerEvent::Stalled { job_ids } => {
                self.stalled
                    .get_or_create(label)
                    .inc_by(u64::try_from(job_ids.len()).unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "oxq_jobs_completed",
            "Jobs this process's workers completed",
            self.completed.clone(),
        );
        registry.register(
            "oxq_jobs_failed",
            "Jobs this process's workers failed for good (no attempt left)",
            self.failed.clone(),
        );
        registry.register(
            "oxq_attempts_failed",
            "Attempts that failed in this process's workers, retried or not",
            self.attempts_failed.clone(),
        );
        registry.register(
            "oxq_jobs_stalled",
            "Jobs this process's workers recovered from a lost worker, to run again",
            self.stalled.clone(),
        );
    }
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(state): State<DashboardState>) -> Result<Response, ApiError> {
    let jobs = Family::<QueueStateLabels, Gauge>::default();
    let paused = Family::<QueueLabel, Gauge>::default();
    for queue_ref in state.queues().await? {
        let queue = Queue::<serde_json::Value>::from_ref(state.backend.clone(), queue_ref);
        let counts = queue.counts().await?;
        for job_state in JobState::ALL {
            let labels = QueueStateLabels {
                queue: queue.name().to_owned(),
                state: job_state.as_str().to_owned(),
            };
            jobs.get_or_create(&labels)
                .set(i64::try_from(counts.get(job_state)).unwrap_or(i64::MAX));
        }
        let is_paused = queue.is_paused().await?;
        let label = QueueLabel {
            queue: queue.name().to_owned(),
        };
        paused.get_or_create(&label).set(i64::from(is_paused));
    }
    let mut registry = Registry::default();
    registry.register("oxq_jobs", "Jobs in the queue, per state", jobs);
    registry.register("oxq_queue_paused", "1 when the queue is paused", paused);
    if let Some(worker_metrics) = &state.options.worker_metrics {
        worker_metrics.register(&mut registry);
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(|_| {
        ApiError::Store(oxq::Error::invalid(
            "the metrics could not be written as text",
        ))
    })?;
    Ok(([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response())
}
