//! `GET /metrics`: the queues' figures in the Prometheus text format (OpenMetrics 1.0), and
//! [`WorkerMetrics`], the counters and histograms a worker's events feed.
//!
//! At each scrape the store is read: `oxq_jobs{queue, state}` (jobs per state) and
//! `oxq_queue_paused{queue}` (1 when paused) are gauges of that moment, so every dashboard over
//! the same store reports the same numbers.
//!
//! The rest is this process's: attach [`WorkerMetrics::listener`] to `WorkerOptions::on_event`
//! and pass the same `WorkerMetrics` to
//! [`DashboardOptions::worker_metrics`](crate::DashboardOptions::worker_metrics) (or
//! [`WorkerMetrics::register`] it in a `prometheus_client` registry of your own), by `queue`:
//!
//! | series | what |
//! |---|---|
//! | `oxq_jobs_completed_total` | jobs completed |
//! | `oxq_jobs_failed_total` | jobs failed for good |
//! | `oxq_attempts_failed_total` | failed attempts, retried or not |
//! | `oxq_job_processing_seconds` | histogram: an attempt's start to its processor's return, for every completed or failed attempt (5 ms .. 1 h buckets) |
//! | `oxq_job_waiting_seconds` | histogram: a job's add (or its `delay`'s end) to its first start (10 ms .. 1 day buckets) |
//! | `oxq_job_reruns_total{reason}` | jobs set to run again while an earlier run may have had effects: `stalled`, recovered by this process's stalled check after their lock expired unrenewed (their worker died or froze); `lock_lost`, an attempt running here whose lock was found gone (the job was taken back and starts again elsewhere, this run going on meanwhile), counted once per attempt |
//!
//! Re-runs are where duplicate side effects come from. The two reasons can count one event
//! twice when both ends are in this process (a worker here loses a job's lock and a check here
//! recovers it); across processes each side counts its own. A job's own count is in its detail
//! (`attempts_started`, `attempts_made`, `stalled_count`, see [`api`](crate::api)).
//!
//! # Where the timings come from
//! The histograms are observed by the process that runs the jobs, from the
//! [`AttemptTiming`](oxq::AttemptTiming) each completed or failed attempt's event carries
//! (the job's stored `processed_on`, the worker's clock at the processor's return, and the
//! job's add time and `delay`), in milliseconds like BullMQ's `processedOn`/`finishedOn`: an
//! attempt under a millisecond is observed as 0. A dashboard that runs no workers (`oxq
//! dashboard` alone) has none of these series: scrape the worker processes (mount the
//! dashboard's router, or register a `WorkerMetrics` in their own registry), as Prometheus
//! expects of the process doing the work. Deriving them at scrape time from finished jobs'
//! `processed_on`/`finished_on` instead would count each job once per scrape that reads it,
//! miss jobs removed on completion and every attempt but the last, and cost a store read per
//! job.
//!
//! Waiting is observed on a job's first start only: a retry waits out its backoff and a job
//! recovered after a stall waits from its recovery, and no store keeps those times. A flow's
//! parent waits from its add, its children's run included.
//!
//! # The crate
//! `prometheus-client`, the Prometheus project's own Rust client: maintained under the
//! `prometheus` GitHub organisation, typed metrics and label sets (no string-keyed global
//! registry as in the older `prometheus` crate, and no process-global recorder as with the
//! `metrics` facade, which would take the slot of the application's own), histograms with
//! buckets chosen per series, and it writes the OpenMetrics text that Prometheus scrapes
//! natively. The worker itself depends on no metrics crate: with no event listener it reads
//! no clock for the timings.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use oxq::{JobState, Queue, WorkerEvent};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::state::DashboardState;

/// The content type of the OpenMetrics text format.
const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the processing-time buckets: 5 ms to an hour.
pub const PROCESSING_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
/// Upper bounds (seconds) of the waiting-time buckets: 10 ms to a day (delayed jobs and
/// backlogs wait far longer than jobs run).
pub const WAITING_BUCKETS: [f64; 16] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0,
    86400.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueStateLabels {
    queue: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RerunLabels {
    queue: String,
    reason: &'static str,
}

type Histograms = Family<QueueLabel, Histogram, fn() -> Histogram>;

fn processing_histogram() -> Histogram {
    Histogram::new(PROCESSING_BUCKETS)
}

fn waiting_histogram() -> Histogram {
    Histogram::new(WAITING_BUCKETS)
}

/// Counters and histograms fed by workers' [`WorkerEvent`]s; clones share them.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    completed: Family<QueueLabel, Counter>,
    failed: Family<QueueLabel, Counter>,
    attempts_failed: Family<QueueLabel, Counter>,
    processing: Histograms,
    waiting: Histograms,
    reruns: Family<RerunLabels, Counter>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self {
            completed: Family::default(),
            failed: Family::default(),
            attempts_failed: Family::default(),
            processing: Family::new_with_constructor(processing_histogram),
            waiting: Family::new_with_constructor(waiting_histogram),
            reruns: Family::default(),
        }
    }
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
        if let Some(timing) = event.timing() {
            self.processing
                .get_or_create(label)
                .observe(timing.processing().as_secs_f64());
            if let Some(waited) = timing.waited() {
                self.waiting
                    .get_or_create(label)
                    .observe(waited.as_secs_f64());
            }
        }
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
                self.rerun(label, "stalled")
                    .inc_by(u64::try_from(job_ids.len()).unwrap_or(u64::MAX));
            }
            // (a worker reports each attempt's lost lock once)
            WorkerEvent::LockLost { .. } => {
                self.rerun(label, "lock_lost").inc();
            }
            _ => {}
        }
    }

    fn rerun(
        &self,
        label: &QueueLabel,
        reason: &'static str,
    ) -> impl std::ops::Deref<Target = Counter> + '_ {
        self.reruns.get_or_create(&RerunLabels {
            queue: label.queue.clone(),
            reason,
        })
    }

    /// Adds these series to `registry` (what `/metrics` does with the dashboard's), for a
    /// worker process that serves its own metrics.
    pub fn register(&self, registry: &mut Registry) {
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
            "oxq_job_processing_seconds",
            "Completed or failed attempts in this process's workers, by time from start to the processor's return",
            self.processing.clone(),
        );
        registry.register(
            "oxq_job_waiting_seconds",
            "Jobs this process's workers started the first time, by time from add (or delay end) to start",
            self.waiting.clone(),
        );
        registry.register(
            "oxq_job_reruns",
            "Jobs set to run again after a stall (stalled: recovered by this process's check) or a lost lock (lock_lost: an attempt running here)",
            self.reruns.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(metrics: &WorkerMetrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
        text
    }

    #[test]
    fn reruns_are_counted_by_reason() {
        let metrics = WorkerMetrics::new();
        let feed = metrics.listener("q");
        feed(&WorkerEvent::Stalled {
            job_ids: vec!["a".into(), "b".into()],
        });
        feed(&WorkerEvent::LockLost { job_id: "c".into() });
        feed(&WorkerEvent::Cancelled { job_id: "d".into() });
        let text = text(&metrics);
        assert!(
            text.contains(r#"oxq_job_reruns_total{queue="q",reason="stalled"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"oxq_job_reruns_total{queue="q",reason="lock_lost"} 1"#),
            "{text}"
        );
        assert!(!text.contains("processing_seconds_count"), "{text}");
    }
}
