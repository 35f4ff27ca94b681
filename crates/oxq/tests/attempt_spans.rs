//! Each attempt a worker makes is one `oxq.attempt` span (queue, job id, name, attempt number,
//! outcome, duration), the processor's own events inside it: what an OpenTelemetry layer
//! exports. A `tracing_subscriber` layer records every span it sees, on a SQLite file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use oxq::{Job, JobOptions, Queue, Worker, WorkerEvent, WorkerOptions};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span's fields as text, by field name.
type Fields = HashMap<String, String>;

/// An event's message and the job id of the attempt span it happened in.
type SeenEvent = (String, Option<String>);

/// Records every `oxq.attempt` span (in the order they close) and, for each event, the
/// attempt span it happened in.
#[derive(Clone, Default)]
struct Recorder {
    open: Arc<Mutex<HashMap<u64, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
    events: Arc<Mutex<Vec<SeenEvent>>>,
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() != "oxq.attempt" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        lock(&self.open).insert(id.into_u64(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = lock(&self.open).get_mut(&id.into_u64()) {
            values.record(&mut Collect(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let attempt = ctx.event_scope(event).and_then(|mut scope| {
            scope
                .find(|span| span.name() == "oxq.attempt")
                .and_then(|span| {
                    lock(&self.open)
                        .get(&span.id().into_u64())
                        .and_then(|f| f.get("job_id").cloned())
                })
        });
        let message = fields.remove("message").unwrap_or_default();
        lock(&self.events).push((message, attempt));
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = lock(&self.open).remove(&id.into_u64()) {
            lock(&self.closed).push(fields);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_is_a_span_with_its_outcome_and_duration() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(recorder.clone()))
        .expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("spans.db").display());
    let backend = oxq::connect(&url).await.expect("open the store");
    let queue: Queue<Value> = Queue::new(backend, "mail").expect("queue");
    queue
        .add(
            "send",
            json!({"ok": true}),
            JobOptions::new().job_id("good"),
        )
        .await
        .expect("add");
    queue
        .add(
            "send",
            json!({"ok": false}),
            JobOptions::new().job_id("flaky").attempts(2),
        )
        .await
        .expect("add");

    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let options = WorkerOptions::new().on_event(move |event| {
        let _ = events_tx.send(event.clone());
    });
    let worker = Worker::start(&queue, options, |job: Job<Value>| async move {
        tracing::info!("processing inside the attempt");
        if job.data()["ok"] == true {
            Ok(json!("sent"))
        } else {
            Err(std::io::Error::other("smtp down"))
        }
    });
    // good completes; flaky fails, is retried, and fails for good: three attempts
    let mut ended = 0;
    while ended < 2 {
        match events.recv().await.expect("worker events") {
            WorkerEvent::Completed { .. } => ended += 1,
            WorkerEvent::Failed {
                retrying: false, ..
            } => ended += 1,
            _ => {}
        }
    }
    worker.close().await.expect("close");

    let mut spans: Vec<(String, String, String, String, String)> = lock(&recorder.closed)
        .iter()
        .map(|f| {
            let get = |k: &str| f.get(k).cloned().unwrap_or_default();
            assert_eq!(get("queue"), "bull:mail", "{f:?}");
            assert_eq!(get("name"), "send", "{f:?}");
            assert!(get("duration_ms").parse::<u64>().is_ok(), "{f:?}");
            (
                get("job_id"),
                get("attempt"),
                get("outcome"),
                get("queue"),
                get("name"),
            )
        })
        .collect();
    spans.sort();
    let expected = |id: &str, attempt: &str, outcome: &str| {
        (
            id.to_owned(),
            attempt.to_owned(),
            outcome.to_owned(),
            "bull:mail".to_owned(),
            "send".to_owned(),
        )
    };
    assert_eq!(
        spans,
        vec![
            expected("flaky", "1", "retrying"),
            expected("flaky", "2", "failed"),
            expected("good", "1", "completed"),
        ]
    );
    // the processor's event is inside its attempt's span, for each attempt
    let mut inside: Vec<String> = lock(&recorder.events)
        .iter()
        .filter(|(message, _)| message == "processing inside the attempt")
        .map(|(_, job)| job.clone().unwrap_or_else(|| "outside".to_owned()))
        .collect();
    inside.sort();
    assert_eq!(inside, ["flaky", "flaky", "good"]);
}
